// Fuzzes checkpoint loading: ≥ 10,000 mutated inputs per format against
// decodeSafetensors, checkpointFromBytes and every registered family's
// restore, then prints a JSON summary (inputs, outcomes, worst time and heap
// per input, findings). Findings are appended to the corpus with --save.
//   tsx scripts/reliability/fuzz-checkpoints.ts [--inputs 10000] [--seed 1] [--seconds S per target] [--save]
//   tsx scripts/reliability/fuzz-checkpoints.ts --write-corpus   (rebuilds the historic entries)
import { writeFileSync } from 'node:fs';
import '@tensorflow/tfjs-backend-cpu';
import { initBackend } from '@sculpt/backend';
import { FAMILIES } from '../../src/families/index.js';
import { CORPUS_FILE, type CorpusEntry, historicEntries, pack, readCorpus } from './corpus.js';
import {
  checkpointTarget,
  type Finding,
  type FuzzTarget,
  familyTarget,
  fuzzTarget,
  safetensorsTarget,
} from './fuzz.js';

function flag(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i < 0 ? fallback : Number(process.argv[i + 1]);
}

await initBackend('cpu');
const inputs = flag('inputs', 10_000);
const seed = flag('seed', 1);
const targets: FuzzTarget[] = [await safetensorsTarget(), await checkpointTarget()];
if (process.argv.includes('--write-corpus')) {
  const entries = historicEntries(targets[0].base, targets[1].base);
  const later = readCorpus().filter((e) => !entries.some((h) => h.note === e.note));
  writeFileSync(CORPUS_FILE, `${JSON.stringify([...entries, ...later], null, 1)}\n`);
  process.exit(0);
}
for (const family of FAMILIES) targets.push(await familyTarget(family));

const started = performance.now();
const summaries = [];
const findings: Finding[] = [];
for (const [i, target] of targets.entries()) {
  const run = await fuzzTarget(target, {
    inputs,
    seed: seed * 1000 + i,
    seconds: flag('seconds', Number.POSITIVE_INFINITY),
  });
  summaries.push(run.summary);
  findings.push(...run.findings);
  target.dispose();
}
if (process.argv.includes('--save') && findings.length) {
  const kept: CorpusEntry[] = findings.slice(0, 20).map((f) => ({
    target: f.target,
    note: `${f.kind}: ${f.error}`,
    bytes: pack(Buffer.from(f.bytes, 'base64')),
  }));
  writeFileSync(CORPUS_FILE, `${JSON.stringify([...readCorpus(), ...kept], null, 1)}\n`);
}
const seconds = Math.round((performance.now() - started) / 100) / 10;
const peakRssMB = Math.round(process.resourceUsage().maxRSS / 1024);
console.log(
  JSON.stringify(
    {
      inputsPerTarget: inputs,
      seed,
      seconds,
      peakRssMB,
      targets: summaries,
      findings: findings.map(({ bytes, ...f }) => f),
    },
    null,
    1,
  ),
);
