// Retrains the metrics classifier on the MNIST train split, reproducibly
// (seeded init, shuffle and augmentation; single-threaded wasm), evaluates it
// on the held-out split and writes assets/mnist-classifier.safetensors.
//
// Usage: npx tsx --tsconfig tsconfig.scripts.json scripts/train-classifier.ts [--epochs 12] [--seed 0] [--out assets/mnist-classifier.safetensors]
//
// Convolutions are trained through an im2col formulation (pad + 9 slices +
// one matMul), whose gradients are slices, pads and matMuls: every one of them
// has a wasm kernel, so this does not depend on the Conv2DBackprop* kernels.
// The matMul gradient is written with explicit transposes, which are 10–27×
// faster on wasm than matMul's transposeA/transposeB flags (10–27× at the shapes measured).
import { writeFile } from 'node:fs/promises';
import * as tf from '@tensorflow/tfjs-core';
import './register-gradients.js';
import '@tensorflow/tfjs-backend-wasm';
import { encodeSafetensors, Rng } from '@sculpt/core';
import { type ImageSet, loadMnist } from '@sculpt/datasets';
import {
  CLASSIFIER_PARAM_SHAPES,
  type ClassifierParams,
  type Conv3x3,
  classifierForward,
} from '../src/classifier/model.js';

const args = new Map<string, string>();
for (let i = 2; i < process.argv.length; i += 2)
  args.set(process.argv[i].replace(/^--/, ''), process.argv[i + 1]);
const epochs = Number(args.get('epochs') ?? 12);
const seed = Number(args.get('seed') ?? 0);
const batchSize = Number(args.get('batch') ?? 64);
const out = args.get('out') ?? 'assets/mnist-classifier.safetensors';
const baseLr = 2e-3;

const matMulFast = tf.customGrad(((a: tf.Tensor, b: tf.Tensor, save: tf.GradSaveFunc) => {
  save([a, b]);
  return {
    value: tf.matMul(a as tf.Tensor2D, b as tf.Tensor2D),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => [
      tf.matMul(dy as tf.Tensor2D, tf.transpose(saved[1]) as tf.Tensor2D),
      tf.matMul(tf.transpose(saved[0]) as tf.Tensor2D, dy as tf.Tensor2D),
    ],
  };
}) as unknown as Parameters<typeof tf.customGrad>[0]) as unknown as (
  a: tf.Tensor2D,
  b: tf.Tensor2D,
) => tf.Tensor2D;

const im2colConv: Conv3x3 = (x, w) => {
  const [b, h, wd, c] = x.shape;
  const padded = tf.pad(x, [
    [0, 0],
    [1, 1],
    [1, 1],
    [0, 0],
  ]);
  const cols: tf.Tensor4D[] = [];
  for (let dy = 0; dy < 3; dy++)
    for (let dx = 0; dx < 3; dx++) cols.push(tf.slice(padded, [0, dy, dx, 0], [b, h, wd, c]));
  const patches = tf.reshape(tf.concat(cols, 3), [b * h * wd, 9 * c]) as tf.Tensor2D; // [(B·H·W), 9·Cin], (dy, dx, c) order
  const y = matMulFast(patches, tf.reshape(w, [9 * c, w.shape[3]]) as tf.Tensor2D);
  return tf.reshape(y, [b, h, wd, w.shape[3]]) as tf.Tensor4D;
};

function initParams(rng: Rng): Record<string, tf.Variable> {
  const params: Record<string, tf.Variable> = {};
  for (const [name, shape] of Object.entries(CLASSIFIER_PARAM_SHAPES)) {
    const size = shape.reduce((a, b) => a * b, 1);
    const fanIn = shape.length === 4 ? shape[0] * shape[1] * shape[2] : shape[0];
    const data = name.endsWith('.bias')
      ? new Float32Array(size)
      : rng.normalArray(size, 0, Math.sqrt(2 / fanIn)); // He init
    params[name] = tf.variable(tf.tensor(data, shape as number[]), true, name);
  }
  return params;
}

/** Random translations by up to ±2 pixels (zero fill): the only augmentation. */
function augmentedBatch(set: ImageSet, indices: Int32Array, rng: Rng): Float32Array {
  const out = new Float32Array(indices.length * 784);
  const shifts = rng.integers(2 * indices.length, -2, 3);
  for (let n = 0; n < indices.length; n++) {
    const src = set.images.subarray(indices[n] * 784, indices[n] * 784 + 784);
    const sy = shifts[2 * n];
    const sx = shifts[2 * n + 1];
    for (let y = 0; y < 28; y++) {
      const yy = y - sy;
      if (yy < 0 || yy >= 28) continue;
      for (let x = 0; x < 28; x++) {
        const xx = x - sx;
        if (xx >= 0 && xx < 28) out[n * 784 + y * 28 + x] = src[yy * 28 + xx];
      }
    }
  }
  return out;
}

async function accuracy(params: ClassifierParams, set: ImageSet): Promise<number> {
  let correct = 0;
  for (let start = 0; start < set.count; start += 500) {
    const n = Math.min(500, set.count - start);
    const pred = tf.tidy(() => {
      const x = tf.tensor4d(set.images.subarray(start * 784, (start + n) * 784), [n, 28, 28, 1]);
      return tf.argMax(classifierForward(params, x).logits, 1);
    });
    const p = await pred.data();
    pred.dispose();
    for (let i = 0; i < n; i++) if (p[i] === set.labels[start + i]) correct++;
  }
  return correct / set.count;
}

await tf.setBackend('wasm');
const { train, heldOut } = await loadMnist();
const rng = new Rng(seed);
const [initRng, dataRng] = rng.split(2);
const params = initParams(initRng);
const optimizer = tf.train.adam(baseLr);
const stepsPerEpoch = Math.floor(train.count / batchSize);
const totalSteps = epochs * stepsPerEpoch;
const started = performance.now();
let step = 0;
for (let epoch = 0; epoch < epochs; epoch++) {
  const order = dataRng.permutation(train.count);
  let lossSum = 0;
  for (let s = 0; s < stepsPerEpoch; s++) {
    const indices = order.slice(s * batchSize, (s + 1) * batchSize);
    const pixels = augmentedBatch(train, indices, dataRng);
    const labels = Int32Array.from(indices, (i) => train.labels[i]);
    // Cosine decay to 5% of the base rate.
    (optimizer as unknown as { learningRate: number }).learningRate =
      baseLr * (0.05 + 0.95 * 0.5 * (1 + Math.cos((Math.PI * step) / totalSteps)));
    const loss = optimizer.minimize(() => {
      const x = tf.tensor4d(pixels, [batchSize, 28, 28, 1]);
      const y = tf.oneHot(tf.tensor1d(labels, 'int32'), 10);
      const { logits } = classifierForward(params, x, im2colConv);
      return tf.losses.softmaxCrossEntropy(tf.cast(y, 'float32'), logits) as tf.Scalar;
    }, true) as tf.Scalar;
    lossSum += (await loss.data())[0];
    loss.dispose();
    step++;
  }
  const acc = await accuracy(params, heldOut);
  console.log(
    JSON.stringify({
      epoch: epoch + 1,
      loss: lossSum / stepsPerEpoch,
      heldOutAccuracy: acc,
      seconds: (performance.now() - started) / 1000,
    }),
  );
}
const trainAcc = await accuracy(params, train);
const heldAcc = await accuracy(params, heldOut);
const bytes = await encodeSafetensors(params, {
  model: 'sculpt-mnist-classifier',
  heldOutAccuracy: String(heldAcc),
  trainAccuracy: String(trainAcc),
  seed: String(seed),
  epochs: String(epochs),
  batchSize: String(batchSize),
  backend: tf.getBackend(),
});
await writeFile(out, bytes);
console.log(
  JSON.stringify({
    out,
    bytes: bytes.length,
    heldOutAccuracy: heldAcc,
    trainAccuracy: trainAcc,
    seconds: (performance.now() - started) / 1000,
  }),
);
