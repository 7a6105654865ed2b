// Scores a run folder written by `sculpt train gan` (its checkpoint, with the
// EMA of G applied) on MNIST: FD, KID, precision/recall, the class histogram
// of 1,000 samples, class accuracy (conditional models), FD by truncation ψ
// (style generators), beside 1,000 real training digits; writes the metrics
// JSON and sample grids to assets/.
//   tsx scripts/eval-run.ts --run runs/gan-cdcgan --name cdcgan-mnist
import '@tensorflow/tfjs-layers'; // registers tfjs-core's gradients (the Node build ships none)
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { initBackend } from '@sculpt/backend';
import { type JsonValue, loadCheckpoint } from '@sculpt/core';
import { loadMnist } from '@sculpt/datasets';
import * as tf from '@tensorflow/tfjs-core';
import { GanTrainer } from '../src/index.js';
import { evaluateGan, writeGanAssets } from './mnist-eval.js';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}

/** The last logged training step of the run (its diagnostics). */
async function lastStep(runDir: string): Promise<JsonValue> {
  const lines = (await readFile(join(runDir, 'log.jsonl'), 'utf8')).trim().split('\n');
  const steps = lines
    .map((l) => JSON.parse(l))
    .filter((r) => typeof r.step === 'number' && 'loss' in r);
  return steps[steps.length - 1] ?? null;
}

const runDir = arg('run', '');
const name = arg('name', 'run');
await initBackend('wasm');
const native = await import('@sculpt/native').catch(() => undefined);
if (native?.nativeStatus().available === true) native.registerNativeKernels();
const { tensors, json } = await loadCheckpoint(join(runDir, 'checkpoint'));
const { run, model: modelJson } = json as { run: { [k: string]: JsonValue }; model: JsonValue };
const { model, trainer } = GanTrainer.fromCheckpoint('eval-run', { tensors, json: modelJson });
tf.dispose(Object.values(tensors));
trainer.applyEma();
const { train, heldOut } = await loadMnist();
const t0 = Date.now();
const evaluation = await evaluateGan(model, train, heldOut);
const report = {
  preset: run.preset,
  config: model.getConfig(),
  steps: trainer.stepCount,
  batchSize: run.batchSize,
  options: trainer.options,
  trainSeconds: run.trainSeconds,
  backend: run.backend,
  lastLoggedStep: await lastStep(runDir),
  ...evaluation,
  evalSeconds: (Date.now() - t0) / 1000,
};
console.log(JSON.stringify(report));
await writeGanAssets(model, new URL('../assets/', import.meta.url).pathname, name, report);
trainer.dispose();
model.dispose();
