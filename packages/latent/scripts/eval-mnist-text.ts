// Scores the model saved by train:mnist-text beside its yardsticks, at the
// same n on the same held-out digits: real training digits (real-vs-real),
// the latent model at several guidance scales, and the pixel-space MNIST model
// shipped in @sculpt/diffusion at its recommended scale, asked for the same
// digits. Each row: class accuracy against the digit asked for, FD and KID.
// Prints JSON lines; writes assets/mnist-text-eval.json and
// assets/mnist-text-grid.png (one row per digit, ten held-out captions each,
// at the last guidance scale).
//
//   pnpm --filter @sculpt/latent eval:mnist-text [-- --n 1000 --guidance 1,2,4 --pixel-guidance 2]
import { readFile, writeFile } from 'node:fs/promises';
import { initBackend } from '@sculpt/backend';
import { imageGrid, writePng } from '@sculpt/core';
import { imageSetTensors, loadMnist, parseCaption } from '@sculpt/datasets';
import { DiffusionModel } from '@sculpt/diffusion';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-layers';
import { LatentDiffusionModel } from '../src/index.js';
import { arg, inBatches, mnistCaptions, scoreDigits, useNativeKernels } from './scores.js';

const n = Number(arg('n', '1000'));
const scales = arg('guidance', '1,2,4').split(',').map(Number);
const pixelScale = Number(arg('pixel-guidance', '2'));
const root = new URL('..', import.meta.url).pathname;
const log = (o: Record<string, unknown>) => console.log(JSON.stringify(o));

const backend = await initBackend('wasm');
const nativeOn = await useNativeKernels();
const { train, heldOut } = await loadMnist();
// The training script's held-out prompts.
const prompts = mnistCaptions(train, heldOut).held.slice(0, n);
const wanted = Int32Array.from(prompts, (p) => parseCaption(p).digit);
log({ event: 'start', backend: nativeOn ? 'wasm+native' : backend.name, n, scales, pixelScale });

const round = (x: number) => +x.toFixed(4);
const rows: Record<string, unknown>[] = [];
async function score(name: string, samples: tf.Tensor4D, extra: Record<string, unknown> = {}) {
  const s = await scoreDigits({ samples, wanted, heldOut, range: '-1,1' });
  tf.dispose(samples);
  const row = {
    name,
    ...extra,
    accuracy: round(s.accuracy.accuracy),
    fd: round(s.fd),
    kid: round(s.kid),
    histogram: s.histogram,
  };
  rows.push(row);
  log(row);
}

// Real-vs-real: the first training digits of each asked class, one per prompt.
const taken = new Map<number, number>();
const indices = Array.from(wanted, (digit) => {
  let i = taken.get(digit) ?? 0;
  while (train.labels[i] !== digit) i++;
  taken.set(digit, i + 1);
  return i;
});
const real = imageSetTensors(train, { range: '-1,1', indices });
real.labels.dispose();
await score('real-vs-real', real.images);

const model = await LatentDiffusionModel.load(`${root}out/mnist-text`);
for (const w of scales) {
  const t0 = performance.now();
  const samples = await inBatches(n, (s, size) =>
    model.sample({
      prompts: prompts.slice(s, s + size),
      guidanceScale: w,
      sampler: 'dpmpp-2m',
      steps: 20,
      seed: s,
    }),
  );
  await score('latent', samples, { guidance: w, seconds: round((performance.now() - t0) / 1000) });
}
// The README's grid: for each digit, the first ten held-out captions that name it.
const gridPrompts = Array.from({ length: 10 }, (_, d) =>
  prompts.filter((_p, i) => wanted[i] === d).slice(0, 10),
).flat();
const grid = await model.sample({
  prompts: gridPrompts,
  guidanceScale: scales[scales.length - 1],
  sampler: 'dpmpp-2m',
  steps: 20,
  seed: 7,
});
await writePng(`${root}assets/mnist-text-grid.png`, imageGrid(grid, { columns: 10 }), {
  range: [-1, 1],
});
tf.dispose(grid);
log({ event: 'grid', prompts: gridPrompts.filter((_p, i) => i % 10 === 0) });
model.dispose();

const pixel = DiffusionModel.fromBytes(
  await readFile(new URL('../../diffusion/assets/mnist-model.safetensors', import.meta.url)),
);
const t0 = performance.now();
const pixelSamples = await inBatches(n, (s, size) =>
  pixel.sample({
    labels: Array.from(wanted.subarray(s, s + size)),
    guidanceScale: pixelScale,
    steps: 20,
    sampler: 'dpmpp-2m',
    seed: s,
  }),
);
await score('pixel (@sculpt/diffusion mnist)', pixelSamples, {
  guidance: pixelScale,
  seconds: round((performance.now() - t0) / 1000),
});
pixel.dispose();

const results = { n, sampler: 'dpmpp-2m', steps: 20, rows };
await writeFile(`${root}assets/mnist-text-eval.json`, `${JSON.stringify(results, null, 2)}\n`);
