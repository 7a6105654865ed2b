// Evaluates a VAE saved by scripts/train-mnist.ts on the 1,000 held-out MNIST
// digits: −ELBO, −IWAE_k, active units, and prior samples scored by
// @sculpt/metrics' classifier (FD and KID against the held-out digits, the
// class histogram of the samples). Prints one JSON line; writes
// assets/<name>-samples.png and assets/<name>-reconstructions.png.
//   tsx scripts/eval-mnist.ts <modelDir> [k=5000] [name=mnist-conv] [samples=1000] [budgetSeconds]
// With a budget, a k = 50 pass is timed first and k is lowered (to the largest
// of 5000, 2000, 1000, 500, 200 that fits) when k would not fit: the JSON says
// which k was used.
import { initBackend } from '@sculpt/backend';
import { imageGrid, Rng, writePng } from '@sculpt/core';
import { imageSetTensors, loadMnist } from '@sculpt/datasets';
import {
  classifierFeatures,
  classifyImages,
  frechetDistance,
  kernelInceptionDistance,
  loadMnistClassifier,
} from '@sculpt/metrics';
import * as tf from '@tensorflow/tfjs-core';
import { evaluateBounds, reconstruct, samplePrior, VaeModel } from '../src/index.js';

const dir = process.argv[2];
const k = Number(process.argv[3] ?? 5000);
const name = process.argv[4] ?? 'mnist-conv';
const numSamples = Number(process.argv[5] ?? 1000);
const budget = process.argv[6] === undefined ? Infinity : Number(process.argv[6]);
const root = new URL('../', import.meta.url).pathname;
await initBackend('wasm');
const native = await import('@sculpt/native').catch(() => undefined);
const nativeOn = native?.nativeStatus().available === true;
if (nativeOn) native?.registerNativeKernels();
const model = await VaeModel.load(dir);
const { heldOut } = await loadMnist();
// held-out digits binarized once with a fixed seed (as scripts/train-mnist.ts)
const real = imageSetTensors(heldOut, { range: '0,1' });
const hx = tf.tidy(
  () =>
    tf.cast(
      tf.less(new Rng(123).uniform(real.images.shape), real.images),
      'float32',
    ) as tf.Tensor4D,
);
const tp = Date.now();
const probe = await evaluateBounds(model, hx, new Rng(7), { k: 50, batchSize: 100 });
const perSample = (Date.now() - tp) / 1000 / 50;
const kUsed = [k, 5000, 2000, 1000, 500, 200].find((c) => c <= k && c * perSample <= budget) ?? 50;
const t0 = Date.now();
const bounds =
  kUsed === 50 ? probe : await evaluateBounds(model, hx, new Rng(7), { k: kUsed, batchSize: 100 });
const boundSeconds = (Date.now() - t0) / 1000;

// prior samples (T = 1), the decoder mean as the image
const t1 = Date.now();
const parts: tf.Tensor4D[] = [];
for (let s = 0; s < numSamples; s += 100) parts.push(samplePrior(model, 100, new Rng(1000 + s)));
const samples = tf.concat(parts, 0) as tf.Tensor4D;
tf.dispose(parts);
const classifier = await loadMnistClassifier();
const { predictions } = await classifyImages(classifier, samples);
const histogram = new Array(10).fill(0);
for (const p of predictions) histogram[p] += 1 / predictions.length;
const fakeF = await classifierFeatures(classifier, samples);
const realF = await classifierFeatures(classifier, real.images);
const { fd } = frechetDistance(fakeF, realF);
const kid = kernelInceptionDistance(fakeF, realF, { rng: new Rng(0) });
const sampleSeconds = (Date.now() - t1) / 1000;
console.log(
  JSON.stringify({
    name,
    backend: nativeOn ? 'wasm+native' : tf.getBackend(),
    ...bounds,
    kRequested: k,
    negIwae50: probe.negIwae,
    boundSeconds,
    numSamples,
    fd,
    kid: kid.kid,
    kidStd: kid.std,
    classHistogram: histogram.map((h) => Number(h.toFixed(4))),
    minClassShare: Math.min(...histogram),
    sampleSeconds,
  }),
);
const grid = tf.slice(samples, [0, 0, 0, 0], [64, -1, -1, -1]);
await writePng(`${root}assets/${name}-samples.png`, imageGrid(grid, { columns: 8, padding: 2 }), {
  range: [0, 1],
});
// top row: held-out digits (binarized); bottom row: their reconstructions
const xs = tf.slice(hx, [0, 0, 0, 0], [16, -1, -1, -1]);
const recon = reconstruct(model, xs);
await writePng(
  `${root}assets/${name}-reconstructions.png`,
  imageGrid(tf.concat([xs, recon], 0) as tf.Tensor4D, { columns: 16, padding: 2 }),
  { range: [0, 1] },
);
tf.dispose([samples, grid, xs, recon, hx, real.images, real.labels]);
model.dispose();
