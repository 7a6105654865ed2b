// The discrete twin on MNIST, with fixed step counts: a mnist-vq VQ-VAE from
// @sculpt/vae (or one saved by its train:vq script), then a class-conditioned
// GPT prior over its 7×7 code grids, then 1,000 samples (100 per digit, asked
// for by the prompts "a zero" … "a nine") decoded by the VQ-VAE and scored
// with @sculpt/metrics' classifier: FD/KID against the 1,000 held-out digits,
// the class histogram of the samples, and how often the class read is the
// class asked for. Prints JSON lines; writes assets/vq-prior-samples.png and
// assets/vq-prior-results.json.
//
//   pnpm --filter @sculpt/latent train:vq-prior [-- --vq-steps 1500 --prior-steps 3000 --samples 1000 --vq DIR]
import { mkdir, writeFile } from 'node:fs/promises';
import { initBackend } from '@sculpt/backend';
import { imageGrid, writePng } from '@sculpt/core';
import { DIGIT_WORDS, imageSetTensors, loadMnist } from '@sculpt/datasets';
import { VqVaeModel, VqVaeTrainer } from '@sculpt/vae';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-layers';
import { CodePrior, codePriorConfig, vqPrior } from '../src/index.js';
import { arg, scoreDigits, useNativeKernels } from './scores.js';

const vqSteps = Number(arg('vq-steps', '1500'));
const priorSteps = Number(arg('prior-steps', '3000'));
const numSamples = Number(arg('samples', '1000'));
const vqDir = arg('vq', '');
const preset = arg('preset', 'mnist') as 'tiny' | 'mnist';
const root = new URL('..', import.meta.url).pathname;
const log = (o: Record<string, unknown>) => console.log(JSON.stringify(o));

const backend = await initBackend('wasm');
const nativeOn = await useNativeKernels();
const { train, heldOut } = await loadMnist();
const x = imageSetTensors(train, { range: '0,1' });
let t0 = performance.now();
const vqvae = vqDir ? await VqVaeModel.load(vqDir) : VqVaeModel.create('mnist-vq', { seed: 0 });
if (!vqDir) {
  const vqTrainer = new VqVaeTrainer(vqvae, { learningRate: 2e-3 });
  await vqTrainer.fit({
    steps: vqSteps,
    data: (_step, rng) => tf.gather(x.images, rng.integers(128, 0, train.count)) as tf.Tensor4D,
    onStep: (r) => {
      if (r.step % 250 === 0 || r.step === vqSteps)
        log({ stage: 'vq-vae', step: r.step, loss: r.loss });
    },
  });
  vqTrainer.dispose();
}
const vqSeconds = (performance.now() - t0) / 1000;

t0 = performance.now();
const codes = tf.concat(
  Array.from({ length: Math.ceil(train.count / 500) }, (_, i) =>
    vqvae.encodeCodes(tf.slice(x.images, i * 500, Math.min(500, train.count - i * 500))),
  ),
) as tf.Tensor3D;
const prior = CodePrior.create(codePriorConfig({ vqvae, numClasses: 10, preset }), { seed: 0 });
await prior.train({
  codes,
  labels: train.labels,
  steps: priorSteps,
  batchSize: 64,
  learningRate: 1e-3,
  callbacks: {
    onStep: (r) => {
      if (r.step % 250 === 0 || r.step === priorSteps)
        log({ stage: 'prior', step: r.step, loss: r.loss });
    },
  },
});
const priorSeconds = (performance.now() - t0) / 1000;

t0 = performance.now();
const wanted = Array.from({ length: numSamples }, (_, i) => i % 10);
const pipeline = vqPrior({ vqvae, prior });
const parts: tf.Tensor4D[] = [];
for (let s = 0; s < numSamples; s += 100) {
  const prompts = wanted.slice(s, s + 100).map((d) => `a ${DIGIT_WORDS[d]}`);
  parts.push(await pipeline.sample({ numSamples: prompts.length, prompts, seed: s }));
}
const samples = tf.concat(parts) as tf.Tensor4D;
tf.dispose(parts);
const sampleSeconds = (performance.now() - t0) / 1000;

const scores = await scoreDigits({ samples, wanted, heldOut, range: '0,1' });
await mkdir(`${root}assets`, { recursive: true });
await writePng(
  `${root}assets/vq-prior-samples.png`,
  imageGrid(tf.slice(samples, 0, 100) as tf.Tensor4D, { columns: 10 }),
);
const results = {
  eval: 'vq-prior',
  backend: nativeOn ? 'wasm+native' : backend.name,
  preset,
  vqSteps: vqDir ? `loaded ${vqDir}` : vqSteps,
  priorSteps,
  samples: numSamples,
  fd: scores.fd,
  kid: scores.kid,
  kidStd: scores.kidStd,
  classHistogram: scores.histogram,
  accuracyToPrompt: scores.accuracy.accuracy,
  vqSeconds,
  priorSeconds,
  sampleSeconds,
};
log(results);
await writeFile(`${root}assets/vq-prior-results.json`, `${JSON.stringify(results, null, 2)}\n`);
tf.dispose([x.images, x.labels, codes, samples]);
prior.dispose();
vqvae.dispose();
