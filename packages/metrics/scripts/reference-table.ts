// Measures FD / KID / precision / recall of real-vs-real and real-vs-degraded
// MNIST on the shipped classifier's features, for the table in README.md.
// Usage: npx tsx --tsconfig tsconfig.scripts.json scripts/reference-table.ts
// Prints one JSON line per row, then the markdown table.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import { Rng } from '@sculpt/core';
import { imageSetTensors, loadMnist, subsetImages } from '@sculpt/datasets';
import {
  classAccuracy,
  classifierFeatures,
  classifyImages,
  type FeatureMatrix,
  frechetDistance,
  kernelInceptionDistance,
  loadMnistClassifier,
  precisionRecall,
} from '../src/index.js';

await tf.setBackend('wasm');
const { train, heldOut } = await loadMnist();
const classifier = await loadMnistClassifier();
const rng = new Rng(2024);
// Reference: the 1,000 held-out digits. Candidates: 1,000 train digits (seeded), and degraded held-out copies.
const trainSample = subsetImages(train, rng.permutation(train.count).subarray(0, 1000));

type Degrade = (x: tf.Tensor4D) => tf.Tensor4D;
const blur =
  (sigma: number): Degrade =>
  (x) => {
    const radius = Math.ceil(2 * sigma);
    const taps = Array.from({ length: 2 * radius + 1 }, (_, i) =>
      Math.exp(-((i - radius) ** 2) / (2 * sigma * sigma)),
    );
    const sum = taps.reduce((s, v) => s + v, 0);
    const k = tf.tensor1d(taps.map((t) => t / sum));
    const out = tf.tidy(() => {
      const h = tf.conv2d(x, tf.reshape(k, [1, 2 * radius + 1, 1, 1]) as tf.Tensor4D, 1, 'same');
      return tf.conv2d(h, tf.reshape(k, [2 * radius + 1, 1, 1, 1]) as tf.Tensor4D, 1, 'same');
    });
    k.dispose();
    return out;
  };
const noise =
  (std: number): Degrade =>
  (x) => {
    const n = rng.normal(x.shape, { std });
    const out = tf.tidy(() => tf.clipByValue(tf.add(x, n), 0, 1) as tf.Tensor4D);
    n.dispose();
    return out;
  };

const realTensors = imageSetTensors(heldOut);
const real = await classifierFeatures(classifier, realTensors.images);
const heldLabels = Int32Array.from(heldOut.labels);

async function row(name: string, images: tf.Tensor4D, labels: Int32Array) {
  const feats: FeatureMatrix = await classifierFeatures(classifier, images);
  const { predictions } = await classifyImages(classifier, images);
  const { fd } = frechetDistance(real, feats);
  const { kid, std } = kernelInceptionDistance(real, feats, {
    numSubsets: 10,
    subsetSize: 500,
    rng: new Rng(7),
  });
  const { precision, recall } = precisionRecall(real, feats, { k: 3 });
  const { accuracy } = classAccuracy(predictions, labels);
  const r = { name, fd, kid, kidStd: std, precision, recall, accuracy };
  console.log(JSON.stringify(r));
  return r;
}

const rows = [];
const trainT = imageSetTensors(trainSample);
rows.push(
  await row(
    'real (1,000 train digits) vs held-out',
    trainT.images,
    Int32Array.from(trainSample.labels),
  ),
);
for (const [name, f] of [
  ['Gaussian blur σ=0.5 px', blur(0.5)],
  ['Gaussian blur σ=1 px', blur(1)],
  ['Gaussian blur σ=2 px', blur(2)],
  ['Gaussian noise σ=0.1', noise(0.1)],
  ['Gaussian noise σ=0.3', noise(0.3)],
  ['Gaussian noise σ=0.6', noise(0.6)],
] as const) {
  const degraded = f(realTensors.images);
  rows.push(await row(`held-out, ${name}`, degraded, heldLabels));
  degraded.dispose();
}
tf.dispose([realTensors.images, realTensors.labels, trainT.images, trainT.labels]);
classifier.dispose();

console.log(
  '\n| candidate (vs 1,000 held-out digits) | FD | KID (± std over subsets) | precision | recall | class accuracy |',
);
console.log('|---|---:|---:|---:|---:|---:|');
for (const r of rows) {
  console.log(
    `| ${r.name} | ${r.fd.toFixed(2)} | ${r.kid.toFixed(2)} ± ${r.kidStd.toFixed(2)} | ${r.precision.toFixed(3)} | ${r.recall.toFixed(3)} | ${(100 * r.accuracy).toFixed(1)}% |`,
  );
}
