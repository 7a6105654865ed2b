// Soaks every registered family (or --family NAME): --steps train steps and
// --calls sample/generate calls with live tensors and RSS every 100, then the
// error paths (every bad-input case --repeats times), and prints JSON.
//   tsx scripts/reliability/soak-run.ts [--steps 1000] [--calls 1000] [--every 100] [--repeats 100] [--family vae,gan] [--backend auto|wasm|cpu]
// (with --family, the error paths are that family's rows; without, every row.)
import * as tf from '@tensorflow/tfjs-core';
import { parseBackend, startBackend } from '../../src/backend.js';
import { FAMILIES } from '../../src/families/index.js';
import { familyBadInputs, PACKAGE_BAD_INPUTS, packageModels, soakRows } from './bad-inputs.js';
import { AUDIT_BAD_INPUTS } from './bad-inputs-audit.js';
import { smokeModel, soakFamily } from './soak.js';

function flag(name: string, fallback: number | string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i < 0 ? String(fallback) : process.argv[i + 1];
}

const backend = await startBackend(parseBackend(flag('backend', 'auto')));
const only = flag('family', '');
const chosen = FAMILIES.filter((f) => !only || only.split(',').includes(f.name));
const reports = [];
for (const family of chosen) {
  const every = Number(flag('every', 100));
  const r = await soakFamily(family, {
    trainSteps: Number(flag('steps', 1000)),
    calls: Number(flag('calls', 1000)),
    every,
  });
  reports.push({ ...r, flat: r.tensorSlope.train === 0 && r.tensorSlope.sample === 0 });
}

// Error paths: every bad-input row (the packages' and each family's) --repeats times.
const families = new Map();
for (const f of FAMILIES) families.set(f.name, await smokeModel(f, 10));
const ctx = { ...packageModels(), families, inputs: [] };
const rows = only
  ? chosen.flatMap(familyBadInputs)
  : [...PACKAGE_BAD_INPUTS, ...AUDIT_BAD_INPUTS, ...FAMILIES.flatMap(familyBadInputs)];
const errorPaths = await soakRows(rows, ctx, Number(flag('repeats', 100)));
for (const m of [ctx.diffusion, ctx.vae, ctx.gan, ctx.gpt, ctx.vq, ctx.cycle, ...families.values()])
  m.dispose();
console.log(
  JSON.stringify(
    {
      backend: backend.name,
      families: reports,
      errorPaths,
      liveTensorsAtEnd: tf.memory().numTensors,
    },
    null,
    1,
  ),
);
