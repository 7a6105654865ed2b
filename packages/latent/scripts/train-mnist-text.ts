// Trains the `mnist-text` preset in two stages with fixed step counts (so the
// result does not depend on machine load) and measures it against its prompts.
//
//   pnpm --filter @sculpt/latent train:mnist-text [-- --ae-steps 1500 --unet-steps 6000 --batch 64 --ema 0.998]
//
// Both stages warm up and decay by cosine to 1e-4 over their fixed steps; the
// U-Net's EMA weights are the ones saved (the recipe of @sculpt/diffusion's
// MNIST model). @sculpt/native serves wasm's matMuls and convolutions when its
// addon is built.
//
// Stage 1: the KL autoencoder; then the latent scale factor is measured on the
// encoded training set. Stage 2: the text-conditioned latent U-Net (captions
// from @sculpt/datasets, 10% dropped to the empty prompt). Then, with 20
// DPM++ 2M steps and CFG: classifier accuracy against the digit each held-out
// caption names, the thick/thin and slanted/upright pair tests, FD/KID against
// the held-out digits, and sampling images/s at batch 64 beside the pixel
// diffusion model shipped in @sculpt/diffusion. Prints JSON lines; writes
// out/mnist-text (the model) and assets/mnist-text-results.json.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { initBackend } from '@sculpt/backend';
import { warmupCosineLr } from '@sculpt/core';
import { digitCaption, imageSetTensors, loadMnist, parseCaption } from '@sculpt/datasets';
import { DiffusionModel } from '@sculpt/diffusion';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-layers';
import {
  attributeAgreement,
  attributePromptPairs,
  LatentDiffusionModel,
  type PromptAttribute,
} from '../src/index.js';
import { arg, inBatches, mnistCaptions, scoreDigits, useNativeKernels } from './scores.js';

const num = (name: string, fallback: number) => Number(arg(name, String(fallback)));
const aeSteps = num('ae-steps', 1500);
const unetSteps = num('unet-steps', 6000);
const batchSize = num('batch', 64);
const guidanceScale = num('guidance', 4);
const numEval = num('eval', 1000);
const pairs = num('pairs', 100);
const speedRounds = num('speed-rounds', 2);
const emaDecay = num('ema', 0.998);
const peak = num('lr', 2e-3);
const root = new URL('..', import.meta.url).pathname;
const log = (o: Record<string, unknown>) => console.log(JSON.stringify(o));

const backend = await initBackend('wasm');
const nativeOn = await useNativeKernels();
const { train, heldOut } = await loadMnist();
const images = imageSetTensors(train, { range: '-1,1' });
const { captions, bins, held } = mnistCaptions(train, heldOut);
log({
  event: 'start',
  backend: nativeOn ? 'wasm+native' : backend.name,
  aeSteps,
  unetSteps,
  batchSize,
  bins,
  example: captions.slice(0, 3),
});

const model = LatentDiffusionModel.create('mnist-text', { seed: 0 });
const progress = (stage: string, total: number) => ({
  onStep: (r: { step: number; loss: number }) => {
    if (r.step % 250 === 0 || r.step === total) log({ stage, step: r.step, loss: r.loss });
  },
});
let t0 = performance.now();
await model.trainAutoencoder({
  images: images.images,
  steps: aeSteps,
  batchSize,
  learningRate: warmupCosineLr({
    peak,
    warmupSteps: Math.min(50, Math.floor(aeSteps / 5)),
    totalSteps: aeSteps,
    minLr: 1e-4,
  }),
  callbacks: progress('autoencoder', aeSteps),
});
const aeSeconds = (performance.now() - t0) / 1000;
const scaleFactor = await model.measureScale(images.images);
log({ stage: 'autoencoder', seconds: aeSeconds, scaleFactor });
t0 = performance.now();
await model.trainDenoiser({
  images: images.images,
  captions,
  steps: unetSteps,
  batchSize,
  learningRate: warmupCosineLr({
    peak,
    warmupSteps: Math.min(200, Math.floor(unetSteps / 5)),
    totalSteps: unetSteps,
    minLr: 1e-4,
  }),
  ema: { decay: emaDecay },
  callbacks: progress('unet', unetSteps),
});
const unetSeconds = (performance.now() - t0) / 1000;
log({ stage: 'unet', seconds: unetSeconds });
await model.save(`${root}out/mnist-text`);

/** Samples prompts in batches of 100 with the run's knobs. */
function sampleAll(prompts: string[], seed: number): Promise<tf.Tensor4D> {
  return inBatches(prompts.length, (s, size) =>
    model.sample({
      prompts: prompts.slice(s, s + size),
      guidanceScale,
      sampler: 'dpmpp-2m',
      steps: 20,
      seed: seed + s,
    }),
  );
}

t0 = performance.now();
const prompts = held.slice(0, numEval);
const samples = await sampleAll(prompts, 0);
const wanted = Int32Array.from(prompts, (p) => parseCaption(p).digit);
const scores = await scoreDigits({ samples, wanted, heldOut, range: '-1,1' });
const acc = scores.accuracy;
const { fd } = scores;
const kid = { kid: scores.kid, std: scores.kidStd };
await mkdir(`${root}assets`, { recursive: true });
log({
  eval: 'prompts',
  n: prompts.length,
  accuracy: acc.accuracy,
  perClass: acc.perClass,
  fd,
  kid: kid.kid,
  kidStd: kid.std,
  seconds: (performance.now() - t0) / 1000,
});

/** Same-seed prompt pairs differing in one word: how often the asked one measures larger. */
async function pairTest(attribute: PromptAttribute) {
  const { high, low } = attributePromptPairs({ attribute, numPairs: pairs });
  const [xa, xb] = [await sampleAll(high, 5000), await sampleAll(low, 5000)];
  const toUnit = (x: tf.Tensor4D) => tf.tidy(() => tf.div(tf.add(x, 1), 2) as tf.Tensor4D);
  const [ua, ub] = [toUnit(xa), toUnit(xb)];
  const agreement = await attributeAgreement({ attribute, high: ua, low: ub });
  tf.dispose([xa, xb, ua, ub]);
  return { pairs, agreement, example: [high[7], low[7]] };
}
log({ eval: 'thick-vs-thin', ...(await pairTest('thickness')) });
log({ eval: 'slanted-vs-upright', ...(await pairTest('slant')) });

// Sampling speed at batch 64, 20 DPM++ 2M steps, CFG — latent vs the shipped pixel model, alternating.
const pixel = DiffusionModel.fromBytes(
  await readFile(new URL('../../diffusion/assets/mnist-model.safetensors', import.meta.url)),
);
const labels = Array.from({ length: 64 }, (_, i) => i % 10);
const speeds: Record<string, number[]> = { latent: [], pixel: [] };
for (let round = 0; round < speedRounds; round++) {
  let t = performance.now();
  tf.dispose(
    await model.sample({
      prompts: labels.map((d) => digitCaption({ digit: d })),
      guidanceScale,
      steps: 20,
      seed: round,
    }),
  );
  speeds.latent.push(64 / ((performance.now() - t) / 1000));
  t = performance.now();
  tf.dispose(
    await pixel.sample({ labels, guidanceScale, steps: 20, sampler: 'dpmpp-2m', seed: round }),
  );
  speeds.pixel.push(64 / ((performance.now() - t) / 1000));
}
log({ eval: 'images-per-second', batch: 64, ...speeds });
const results = {
  backend: nativeOn ? 'wasm+native' : backend.name,
  emaDecay,
  peakLr: peak,
  aeSteps,
  unetSteps,
  batchSize,
  guidanceScale,
  aeSeconds,
  unetSeconds,
  scaleFactor,
  accuracy: acc.accuracy,
  fd,
  kid: kid.kid,
  speeds,
};
await writeFile(`${root}assets/mnist-text-results.json`, `${JSON.stringify(results, null, 2)}\n`);
tf.dispose([samples, images.images, images.labels]);
pixel.dispose();
model.dispose();
