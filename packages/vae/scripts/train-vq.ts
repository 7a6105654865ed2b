// Trains the mnist-vq VQ-VAE on the 9,000 MNIST training digits (grey levels in
// [0, 1]) for a fixed number of steps, then reports on the 1,000 held-out
// digits: reconstructions classified by @sculpt/metrics' classifier against the
// true labels, codes used and perplexity over the held-out code grids, and
// codebook usage per training epoch. Writes assets/mnist-vq-reconstructions.png.
//   tsx scripts/train-vq.ts [steps=1500] [batch=128] [saveDir]
import { initBackend } from '@sculpt/backend';
import { imageGrid, Rng, warmupCosineLr, writePng } from '@sculpt/core';
import { imageSetTensors, loadMnist } from '@sculpt/datasets';
import { classAccuracy, classifyImages, loadMnistClassifier } from '@sculpt/metrics';
import * as tf from '@tensorflow/tfjs-core';
import { codebookUsage, VqVaeModel, VqVaeTrainer } from '../src/index.js';

const steps = Number(process.argv[2] ?? 1500);
const bs = Number(process.argv[3] ?? 128);
const saveDir = process.argv[4];
const root = new URL('../', import.meta.url).pathname;
await initBackend('wasm');
const native = await import('@sculpt/native').catch(() => undefined);
const nativeOn = native?.nativeStatus().available === true;
if (nativeOn) native?.registerNativeKernels();
const { train, heldOut } = await loadMnist();
const px = 28 * 28;
const model = VqVaeModel.create('mnist-vq', { seed: 0 });
const trainer = new VqVaeTrainer(model, {
  learningRate: warmupCosineLr({ peak: 2e-3, warmupSteps: 100, totalSteps: steps, minLr: 1e-4 }),
});
const stepsPerEpoch = Math.ceil(train.count / bs);
const epochs: { epoch: number; step: number; perplexity: number; fractionUsed: number }[] = [];
const t0 = Date.now();
let restarts = 0;
await trainer.fit({
  steps,
  data: (_step, rng) => {
    const idx = rng.integers(bs, 0, train.count);
    const buf = new Float32Array(bs * px);
    for (let i = 0; i < bs; i++)
      buf.set(train.images.subarray(idx[i] * px, (idx[i] + 1) * px), i * px);
    return tf.tensor4d(buf, [bs, 28, 28, 1]);
  },
  onStep: async (r) => {
    restarts += r.restarted;
    if (r.step % stepsPerEpoch === 0 || r.step === steps) {
      const u = await trainer.takeUsage();
      epochs.push({
        epoch: epochs.length + 1,
        step: r.step,
        perplexity: u.perplexity,
        fractionUsed: u.fractionUsed,
      });
      console.log(
        `step ${r.step} recon ${r.terms.recon.toFixed(2)} commit ${r.terms.commitment.toFixed(3)} epoch perplexity ${u.perplexity.toFixed(1)} used ${(100 * u.fractionUsed).toFixed(1)}%`,
      );
    }
  },
});
const trainSeconds = (Date.now() - t0) / 1000;
if (saveDir) await model.save(saveDir);

const real = imageSetTensors(heldOut, { range: '0,1' });
const codes = model.encodeCodes(real.images);
const recon = model.decodeCodes(codes);
const classifier = await loadMnistClassifier();
const { predictions } = await classifyImages(classifier, recon);
const { predictions: onReal } = await classifyImages(classifier, real.images);
const labels = heldOut.labels;
const counts = new Array(model.config.numCodes).fill(0);
for (const c of await codes.data()) counts[c]++;
const heldUsage = codebookUsage(counts);
const mse = tf.tidy(() => tf.mean(tf.square(tf.sub(recon, real.images))).dataSync()[0]);
console.log(
  JSON.stringify({
    preset: 'mnist-vq',
    steps,
    batch: bs,
    trainSeconds,
    backend: nativeOn ? 'wasm+native' : tf.getBackend(),
    reconClassAccuracy: classAccuracy(predictions, labels).accuracy,
    realClassAccuracy: classAccuracy(onReal, labels).accuracy,
    reconMse: mse,
    heldOutCodesUsed: heldUsage.codesUsed,
    heldOutFractionUsed: heldUsage.fractionUsed,
    heldOutPerplexity: heldUsage.perplexity,
    lastEpoch: epochs.at(-1),
    restarts,
  }),
);
const xs = tf.slice(real.images, [0, 0, 0, 0], [16, -1, -1, -1]);
const ys = tf.slice(recon, [0, 0, 0, 0], [16, -1, -1, -1]);
await writePng(
  `${root}assets/mnist-vq-reconstructions.png`,
  imageGrid(tf.concat([xs, ys], 0) as tf.Tensor4D, { columns: 16, padding: 2 }),
  { range: [0, 1] },
);
