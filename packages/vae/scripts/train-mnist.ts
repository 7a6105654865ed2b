// Trains a VAE on dynamically binarized MNIST for a wall-clock budget, then
// reports held-out −ELBO and the IWAE bound (nats) and writes a sample grid
// and an interpolation strip.
//   tsx scripts/train-mnist.ts [preset=mnist-mlp] [seconds=150] [k=50] [steps] [saveDir]
// k = 0 skips the evaluation (run scripts/eval-mnist.ts on `saveDir` instead).
// Assets are written as assets/{samples,interpolation}.png for mnist-mlp and
// assets/<preset>-{samples,interpolation}.png for the other presets.
// With `steps`, it trains exactly that many steps under warm-up + cosine decay
// (deterministic, the recipe the README reports) and `seconds` is ignored; on
// wasm the matMuls go to @sculpt/native's addon when it is built.
import { initBackend } from '@sculpt/backend';
import { imageGrid, Rng, warmupCosineLr, writePng } from '@sculpt/core';
import { loadMnist } from '@sculpt/datasets';
import * as tf from '@tensorflow/tfjs-core';
import {
  evaluateBounds,
  interpolate,
  samplePrior,
  VaeModel,
  type VaePreset,
  VaeTrainer,
} from '../src/index.js';

const preset = (process.argv[2] ?? 'mnist-mlp') as VaePreset;
const seconds = Number(process.argv[3] ?? 150);
const k = Number(process.argv[4] ?? 50);
const steps = process.argv[5] === undefined ? undefined : Number(process.argv[5]);
const saveDir = process.argv[6];
const assetPrefix = preset === 'mnist-mlp' ? '' : `${preset}-`;
const root = new URL('../', import.meta.url).pathname;
await initBackend('wasm');
const native = await import('@sculpt/native').catch(() => undefined);
const nativeOn = native?.nativeStatus().available === true;
if (nativeOn) native?.registerNativeKernels();
const { train, heldOut } = await loadMnist();
const px = 28 * 28;
const model = VaeModel.create(preset, { seed: 0 });
const trainer = new VaeTrainer(model, {
  binarize: 'dynamic',
  klWarmupSteps: 500,
  learningRate:
    steps === undefined
      ? 1e-3
      : warmupCosineLr({ peak: 1e-3, warmupSteps: 200, totalSteps: steps, minLr: 1e-4 }),
});
const bs = 100;
const t0 = Date.now();
const rng = new Rng(1);
let last = 0;
const more = () =>
  steps === undefined ? (Date.now() - t0) / 1000 < seconds : trainer.stepCount < steps;
while (more()) {
  const idx = rng.integers(bs, 0, train.count);
  const buf = new Float32Array(bs * px);
  for (let i = 0; i < bs; i++)
    buf.set(train.images.subarray(idx[i] * px, (idx[i] + 1) * px), i * px);
  const x = tf.tensor4d(buf, [bs, 28, 28, 1]);
  const r = await trainer.step(x);
  x.dispose();
  last = r.terms.negElbo ?? r.loss;
  if (trainer.stepCount % 200 === 0)
    console.log(`step ${trainer.stepCount} train −ELBO ${last.toFixed(2)}`);
}
const trainSeconds = (Date.now() - t0) / 1000;
if (saveDir) await model.save(saveDir);
console.log(JSON.stringify({ preset, steps: trainer.stepCount, batch: bs, trainSeconds }));
if (k === 0) process.exit(0);
// held-out digits binarized once with a fixed seed
const hx = tf.tidy(() => {
  const x = tf.tensor4d(heldOut.images, [heldOut.count, 28, 28, 1]);
  return tf.cast(tf.less(new Rng(123).uniform(x.shape), x), 'float32') as tf.Tensor4D;
});
const t1 = Date.now();
const report = await evaluateBounds(model, hx, new Rng(7), { k, batchSize: 100 });
const evalSeconds = (Date.now() - t1) / 1000;
console.log(
  JSON.stringify({
    preset,
    steps: trainer.stepCount,
    batch: bs,
    trainSeconds,
    evalSeconds,
    backend: nativeOn ? 'wasm+native' : tf.getBackend(),
    ...report,
  }),
);
const samples = samplePrior(model, 64, new Rng(3));
await writePng(
  `${root}assets/${assetPrefix}samples.png`,
  imageGrid(samples, { columns: 8, padding: 2, padValue: 0 }),
  { range: [0, 1] },
);
const q0 = model.encodeParams(tf.slice(hx, [0, 0, 0, 0], [1, -1, -1, -1]));
const q1 = model.encodeParams(tf.slice(hx, [700, 0, 0, 0], [1, -1, -1, -1]));
const path = interpolate(q0.mean, q1.mean, 10, 'slerp');
const strip = model.decode(path);
await writePng(
  `${root}assets/${assetPrefix}interpolation.png`,
  imageGrid(strip, { columns: 10, padding: 2, padValue: 0 }),
  { range: [0, 1] },
);
