// Speed of the `mnist` preset on the active Node backend (wasm by default):
// ms per train step at batch 64 and images/s of 20-step DPM++ 2M sampling at
// batch 64, unguided and with classifier-free guidance. Prints one JSON object.
//
//   pnpm --filter @sculpt/diffusion bench            # full: 10 timed train steps, 2 sampling runs
//   pnpm --filter @sculpt/diffusion bench -- --quick # CI: tiny preset, batch 8, 2 steps
//
// Numbers are wall time; on a shared machine they are noisy (load is printed).

import { loadavg } from 'node:os';
import { initBackend } from '@sculpt/backend';
import { Rng } from '@sculpt/core';
import * as tf from '@tensorflow/tfjs-core';
import { DiffusionModel, DiffusionTrainer } from '../src/index.js';

const quick = process.argv.includes('--quick');
const preset = quick ? 'tiny' : 'mnist';
const batchSize = quick ? 8 : 64;
const trainSteps = quick ? 2 : 10;
const sampleSteps = quick ? 4 : 20;
const backend = await initBackend(
  (process.env.SCULPT_BACKEND as 'wasm' | 'cpu' | undefined) ?? 'wasm',
);

const model = DiffusionModel.create(preset, { seed: 0 });
const trainer = new DiffusionTrainer(model, { seed: 0 });
const [h, w, c] = model.imageShape;
const rng = new Rng(1);
const batch = () => ({
  images: tf.clipByValue(rng.normal([batchSize, h, w, c]), -1, 1) as tf.Tensor4D,
  labels: rng.integers(batchSize, 0, model.numClasses),
});

async function timeTrain(steps: number): Promise<number> {
  const start = performance.now();
  for (let i = 0; i < steps; i++) {
    const b = batch();
    await trainer.step(b);
    b.images.dispose();
  }
  return (performance.now() - start) / steps;
}

async function timeSample(guidanceScale: number): Promise<number> {
  const labels = Array.from({ length: batchSize }, (_, i) => i % model.numClasses);
  const start = performance.now();
  const x = await model.sample({
    labels,
    guidanceScale,
    sampler: 'dpmpp-2m',
    steps: sampleSteps,
    seed: 0,
  });
  await x.data();
  x.dispose();
  return (batchSize * 1000) / (performance.now() - start);
}

await timeTrain(1); // warm-up: kernel setup, optimizer slots
const msPerTrainStep = await timeTrain(trainSteps);
await timeSample(1); // warm-up
const imagesPerSecond = await timeSample(1);
const imagesPerSecondGuided = await timeSample(3);
console.log(
  JSON.stringify({
    bench: '@sculpt/diffusion',
    mode: quick ? 'quick' : 'full',
    preset,
    backend: backend.name,
    simd: backend.simd ?? null,
    params: Object.values(model.params).reduce((n, v) => n + v.size, 0),
    batchSize,
    trainSteps,
    msPerTrainStep: Math.round(msPerTrainStep),
    sampler: 'dpmpp-2m',
    sampleSteps,
    imagesPerSecond: +imagesPerSecond.toFixed(2),
    imagesPerSecondGuided: +imagesPerSecondGuided.toFixed(2),
    loadAverage1m: +loadavg()[0].toFixed(2),
    numTensors: tf.memory().numTensors,
  }),
);
trainer.dispose();
model.dispose();
