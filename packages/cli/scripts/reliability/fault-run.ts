// Runs the fault harness over every registered family (or --family NAME) and
// prints a JSON summary: SIGKILL at random moments then --resume (bit-identical
// to an uninterrupted run?), SIGINT (exit 130, then identical?), and a
// read-only folder and a full disk on a small tmpfs (exit 2, one line, the
// previous checkpoint untouched; skipped where mounting is not allowed).
//   tsx scripts/reliability/fault-run.ts [--trials 20] [--steps 40] [--seed 1] [--family vae] [--seconds S per family's kills]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import '@tensorflow/tfjs-backend-cpu';
import { initBackend } from '@sculpt/backend';
import { Rng } from '@sculpt/core';
import { FAMILIES } from '../../src/families/index.js';
import {
  canMount,
  diskTrial,
  interruptTrial,
  type KillTrial,
  killTrial,
  randomMoment,
  savedTensors,
  sculpt,
  trainArgs,
} from './fault.js';

function flag(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i < 0 ? undefined : process.argv[i + 1];
}

await initBackend('cpu');
const trials = Number(flag('trials') ?? 20);
const steps = Number(flag('steps') ?? 40);
const rng = new Rng(Number(flag('seed') ?? 1));
const only = flag('family');
const budgetMs = Number(flag('seconds') ?? Number.POSITIVE_INFINITY) * 1000;
const root = mkdtempSync(join(tmpdir(), 'sculpt-fault-'));
const mount = join(root, 'mnt');
const mountable = canMount(mount);
const started = performance.now();
const families = [];
try {
  for (const family of FAMILIES.filter((f) => !only || f.name === only)) {
    // Each family's runs in folders of their own (a family's reference must not find another's checkpoint).
    const [ref, killed, interrupted] = ['reference', 'killed', 'interrupted'].map(
      (d) => `${family.name}-${d}`,
    );
    const reference = await sculpt(trainArgs(family, ref, { steps: steps }), { cwd: root });
    if (reference.status !== 0)
      throw new Error(`${family.name}: reference run failed: ${reference.stderr}`);
    const want = await savedTensors(join(root, ref));
    if (!want) throw new Error(`${family.name}: reference run saved no checkpoint`);
    const kills: KillTrial[] = [];
    const killsStarted = performance.now();
    for (let i = 0; i < trials && performance.now() - killsStarted < budgetMs; i++)
      kills.push(await killTrial(family, root, killed, steps, randomMoment(rng, steps), want));
    const sigint = await interruptTrial(family, root, interrupted, steps, want);
    const disk = mountable
      ? [
          await diskTrial(family, mount, join(root, ref), steps, 'read-only'),
          await diskTrial(family, mount, join(root, ref), steps, 'full'),
        ]
      : 'skipped: mounting a tmpfs is not allowed here';
    families.push({
      family: family.name,
      referenceMs: Math.round(reference.ms),
      kills: {
        trials: kills.length,
        asked: trials,
        // A --seconds budget ends the kill trials early; the slowest family (its runs take longest) runs fewest.
        stoppedByBudget: kills.length < trials,
        identical: kills.filter((k) => k.identical).length,
        checkpointAfterKill: Object.fromEntries(
          ['none', 'loaded', 'corrupt'].map((s) => [
            s,
            kills.filter((k) => k.checkpointAfterKill === s).length,
          ]),
        ),
        midSave: kills.filter((k) => k.midSave).length,
        onlyOld: kills.filter((k) => k.onlyOld).length,
        failures: kills.filter((k) => !k.identical),
      },
      sigint,
      disk,
    });
  }
} finally {
  rmSync(root, { recursive: true, force: true });
}
console.log(
  JSON.stringify(
    {
      trialsPerFamily: trials,
      steps,
      seconds: Math.round((performance.now() - started) / 1000),
      families,
    },
    null,
    1,
  ),
);
