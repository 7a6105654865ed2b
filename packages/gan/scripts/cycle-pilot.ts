// Trains cyclegan-digits on MNIST's unpaired domains with chosen loss weights
// and prints the two figures every `--eval-every` steps on `--n`
// held-out digits: A→B mean |pixel error| against the true transform and the
// classifier's accuracy on B→A translations.
//   tsx scripts/cycle-pilot.ts --steps 800 --identity 0 [--cycle 10] [--batch 8]
//     [--eval-every 200] [--n 300] [--save DIR] [--res 2] [--patch 0] [--gwidth 16] [--dwidth 16]
import '@tensorflow/tfjs-layers'; // registers tfjs-core's gradients (the Node build ships none)
import { initBackend } from '@sculpt/backend';
import type { Rng } from '@sculpt/core';
import {
  type ImageSet,
  loadMnist,
  styleTransform,
  subsetImages,
  unpairedDigitDomains,
} from '@sculpt/datasets';
import { classAccuracy, classifyImages, loadMnistClassifier } from '@sculpt/metrics';
import * as tf from '@tensorflow/tfjs-core';
import { CycleGanModel, CycleGanTrainer, translateImages } from '../src/index.js';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}

const steps = Number(arg('steps', '800'));
const batchSize = Number(arg('batch', '8'));
const evalEvery = Number(arg('eval-every', '200'));
const n = Number(arg('n', '300'));
const options = {
  cycleWeight: Number(arg('cycle', '10')),
  identityWeight: Number(arg('identity', '0')),
  seed: 1,
};

/** `batchSize` random images of `set` in [−1, 1]. */
function draw(set: ImageSet, rng: Rng): tf.Tensor4D {
  const px = set.height * set.width;
  const idx = rng.integers(batchSize, 0, set.count);
  const buf = new Float32Array(batchSize * px);
  for (let i = 0; i < batchSize; i++) {
    const src = set.images.subarray(idx[i] * px, (idx[i] + 1) * px);
    for (let j = 0; j < px; j++) buf[i * px + j] = 2 * src[j] - 1;
  }
  return tf.tensor4d(buf, [batchSize, set.height, set.width, 1]);
}

await initBackend('wasm');
const native = await import('@sculpt/native').catch(() => undefined);
if (native?.nativeStatus().available === true) native.registerNativeKernels();
const { train, heldOut } = await loadMnist();
const { domainA, domainB } = unpairedDigitDomains(train);
const stride = Math.floor(heldOut.count / n);
const held = subsetImages(
  heldOut,
  Array.from({ length: n }, (_, i) => i * stride),
);
const trueB = styleTransform(held);
const classifier = await loadMnistClassifier();
const overrides = {
  residualBlocks: Number(arg('res', '2')),
  discriminatorPatchLayers: Number(arg('patch', '0')),
  generatorWidth: Number(arg('gwidth', '16')),
  discriminatorWidth: Number(arg('dwidth', '16')),
};
const model = CycleGanModel.create({ preset: 'cyclegan-digits', ...overrides }, { seed: 0 });
const trainer = new CycleGanTrainer(model, options);

async function accuracy(images: Float32Array): Promise<number> {
  const x = tf.tensor4d(images, [n, 28, 28, 1]);
  const { predictions } = await classifyImages(classifier, x);
  x.dispose();
  return classAccuracy(predictions, held.labels).accuracy;
}

async function evaluate() {
  const toB = await translateImages(model, held.images, n, 'AtoB');
  const toA = await translateImages(model, trueB.images, n, 'BtoA');
  let err = 0;
  for (let i = 0; i < toB.length; i++) err += Math.abs(toB[i] - trueB.images[i]);
  return {
    aToBPixelError: err / toB.length,
    bToAAccuracy: await accuracy(toA),
    aToBAccuracy: await accuracy(toB),
  };
}

const t0 = Date.now();
for (let done = 0; done < steps; done += evalEvery) {
  const last = await trainer.fit({
    data: (_s, rng) => ({ a: draw(domainA, rng), b: draw(domainB, rng) }),
    steps: Math.min(evalEvery, steps - done),
  });
  const seconds = (Date.now() - t0) / 1000;
  console.log(
    JSON.stringify({
      step: trainer.stepCount,
      seconds,
      options,
      overrides,
      last,
      ...(await evaluate()),
    }),
  );
}
const save = arg('save', '');
if (save) await trainer.save(save);
classifier.dispose();
trainer.dispose();
model.dispose();
