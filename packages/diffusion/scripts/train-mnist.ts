// Trains the `mnist` preset (class-conditional) on the MNIST train split within
// a wall-clock budget, then samples a grid and scores guided samples against
// the held-out digits with @sculpt/metrics.
//
//   pnpm --filter @sculpt/diffusion train:mnist [-- --minutes 18 --batch 64 --guidance 3 --resume]
//
// Writes: out/mnist-train/ (weights + trainer state, resumable), out/mnist-model/
// (EMA weights), assets/mnist-grid.png (one row per digit),
// assets/mnist-model.safetensors (the EMA model as one blob, for the docs demo),
// assets/mnist-results.json.

import { mkdir, writeFile } from 'node:fs/promises';
import { initBackend } from '@sculpt/backend';
import { imageGrid, writePng } from '@sculpt/core';
import * as tf from '@tensorflow/tfjs-core';
import { DiffusionModel, DiffusionTrainer } from '../src/index.js';
import {
  argValue,
  evaluate,
  hasFlag,
  loadMnist,
  loadMnistClassifier,
  mnistBatches,
} from './mnist-common.js';

const minutes = Number(argValue('minutes', '19'));
const batchSize = Number(argValue('batch', '64'));
const guidanceScale = Number(argValue('guidance', '3'));
const perClass = Number(argValue('eval-per-class', '50'));
const maxSteps = Number(argValue('max-steps', '100000'));
const root = new URL('..', import.meta.url).pathname;
const trainDir = `${root}out/mnist-train`;
const modelDir = `${root}out/mnist-model`;

const backend = await initBackend('wasm');
const { train, heldOut } = await loadMnist();
const peak = 2e-3;
const learningRate = (s: number) => peak * Math.min(1, (s + 1) / 200);
const { model, trainer } = hasFlag('resume')
  ? await DiffusionTrainer.resume(trainDir, { learningRate })
  : (() => {
      const m = DiffusionModel.create({ preset: 'mnist', prediction: 'v' }, { seed: 0 });
      return {
        model: m,
        trainer: new DiffusionTrainer(m, { learningRate, ema: { decay: 0.995 }, seed: 0 }),
      };
    })();
const params = Object.values(model.params).reduce((n, v) => n + v.size, 0);
console.log(
  JSON.stringify({
    event: 'start',
    backend: backend.name,
    simd: backend.simd,
    params,
    batchSize,
    minutes,
    fromStep: trainer.stepCount,
  }),
);

const data = mnistBatches(train, batchSize);
const rng = new (await import('@sculpt/core')).Rng(1234 + trainer.stepCount);
const firstStep = trainer.stepCount;
const start = performance.now();
let lastSave = start;
let losses: number[] = [];
while ((performance.now() - start) / 60000 < minutes && trainer.stepCount < maxSteps) {
  const batch = data(trainer.stepCount, rng);
  const r = await trainer.step(batch);
  tf.dispose(batch.images);
  losses.push(r.loss);
  if (r.step % 50 === 0) {
    const ms = (performance.now() - start) / losses.length;
    console.log(
      JSON.stringify({
        step: r.step,
        loss: +(losses.reduce((a, b) => a + b, 0) / losses.length).toFixed(4),
        gradNorm: +r.gradNorm.toFixed(3),
        elapsedS: Math.round((performance.now() - start) / 1000),
      }),
    );
    losses = [];
    void ms;
  }
  if (performance.now() - lastSave > 5 * 60000) {
    await trainer.save(trainDir);
    lastSave = performance.now();
  }
}
const trainSeconds = (performance.now() - start) / 1000;
await trainer.save(trainDir);
trainer.applyEma();
await model.save(modelDir);
await mkdir(`${root}assets`, { recursive: true });
await writeFile(`${root}assets/mnist-model.safetensors`, new Uint8Array(await model.toBytes()));
console.log(
  JSON.stringify({
    event: 'trained',
    steps: trainer.stepCount,
    trainSeconds: Math.round(trainSeconds),
    msPerStep: Math.round((trainSeconds * 1000) / (trainer.stepCount - firstStep)),
  }),
);

// One row per digit, 10 columns.
const gridLabels = Array.from({ length: 100 }, (_, i) => Math.floor(i / 10));
const grid = await model.sample({
  labels: gridLabels,
  guidanceScale,
  sampler: 'dpmpp-2m',
  steps: 20,
  seed: 7,
});
const image = imageGrid(grid, { columns: 10, padding: 2, padValue: -1 });
await writePng(`${root}assets/mnist-grid.png`, image, { range: [-1, 1] });
tf.dispose([grid, image]);

const classifier = await loadMnistClassifier();
const result = await evaluate(model, heldOut, classifier, {
  perClass,
  guidanceScale,
  sampler: 'dpmpp-2m',
  steps: 20,
  seed: 100,
});
const summary = {
  preset: 'mnist',
  backend: backend.name,
  batchSize,
  steps: trainer.stepCount,
  stepsThisRun: trainer.stepCount - firstStep,
  trainMinutes: +(trainSeconds / 60).toFixed(1),
  msPerStep: Math.round((trainSeconds * 1000) / (trainer.stepCount - firstStep)),
  sampler: 'dpmpp-2m',
  samplerSteps: 20,
  guidanceScale,
  ...result,
  note: 'wall time on a shared 2-core machine (other jobs running): noisy',
};
await writeFile(`${root}assets/mnist-results.json`, `${JSON.stringify(summary, null, 2)}\n`);
console.log(JSON.stringify(summary));
classifier.dispose();
trainer.dispose();
model.dispose();
