// Trains a GAN preset on MNIST (9,000 training digits) for a fixed number of
// steps, then scores 1,000 EMA-generator samples against the 1,000 held-out
// digits and writes a sample grid and the metrics JSON to assets/.
//   tsx scripts/train-mnist.ts --preset cdcgan-mnist --steps 2000 [--loss hinge]
//     [--r1 γ] [--r1-every 16] [--lr-d 2e-4] [--lr-g 2e-4] [--beta1 0.5]
//     [--beta2 0.999] [--batch 64] [--ema 0.999] [--name cdcgan] [--save DIR]
//     [--minutes M] [--until HH:MM]  (caps on training time, the second a UTC
//     clock time: it stops early and reports the steps it got)
// Style presets also report FD at truncation ψ ∈ {0.5, 0.7, 1.0}.
// On wasm the convs and matMuls go to @sculpt/native's addon when it is built.
import '@tensorflow/tfjs-layers'; // registers tfjs-core's gradients (the Node build ships none)
import { initBackend } from '@sculpt/backend';
import type { Rng } from '@sculpt/core';
import { type ImageSet, loadMnist } from '@sculpt/datasets';
import * as tf from '@tensorflow/tfjs-core';
import {
  type GanBatch,
  type GanLoss,
  GanModel,
  type GanPresetName,
  GanTrainer,
} from '../src/index.js';
import { evaluateGan, writeGanAssets } from './mnist-eval.js';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}

const preset = arg('preset', 'cdcgan-mnist') as GanPresetName;
const steps = Number(arg('steps', '2000'));
const batchSize = Number(arg('batch', '64'));
const name = arg('name', preset);
const minutes = Number(arg('minutes', 'Infinity'));
const until = arg('until', '');
const options = {
  loss: arg('loss', 'non-saturating') as GanLoss,
  r1Gamma: Number(arg('r1', '0')),
  r1Every: Number(arg('r1-every', '16')),
  discriminatorLearningRate: Number(arg('lr-d', '2e-4')),
  generatorLearningRate: Number(arg('lr-g', '2e-4')),
  beta1: Number(arg('beta1', '0.5')),
  beta2: Number(arg('beta2', '0.999')),
  ema: { decay: Number(arg('ema', '0.999')) },
  seed: 1,
};
const root = new URL('../', import.meta.url).pathname;

/** (step, rng) → `batchSize` random training digits in [−1, 1] (+ labels). */
function batches(train: ImageSet, conditional: boolean) {
  const px = train.height * train.width;
  return (_step: number, rng: Rng): GanBatch => {
    const idx = rng.integers(batchSize, 0, train.count);
    const buf = new Float32Array(batchSize * px);
    for (let i = 0; i < batchSize; i++) {
      const src = train.images.subarray(idx[i] * px, (idx[i] + 1) * px);
      for (let j = 0; j < px; j++) buf[i * px + j] = 2 * src[j] - 1;
    }
    const images = tf.tensor4d(buf, [batchSize, 28, 28, 1]);
    return conditional ? { images, labels: Array.from(idx, (i) => train.labels[i]) } : { images };
  };
}

/** Today's `HH:MM` UTC in epoch milliseconds. */
function utcToday(hhmm: string): number {
  const [h, m] = hhmm.split(':').map(Number);
  const d = new Date();
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate(), h, m);
}

await initBackend('wasm');
const native = await import('@sculpt/native').catch(() => undefined);
const nativeOn = native?.nativeStatus().available === true;
if (nativeOn) native?.registerNativeKernels();
const { train, heldOut } = await loadMnist();
const model = GanModel.create(preset, { seed: 0 });
const trainer = new GanTrainer(model, options);
const t0 = Date.now();
const stopAt = Math.min(t0 + minutes * 60_000, until ? utcToday(until) : Number.POSITIVE_INFINITY);
const stop = new AbortController();
await trainer
  .fit({
    data: batches(train, model.numClasses > 0),
    steps,
    signal: stop.signal,
    callbacks: {
      onStep: (r) => {
        if (r.step % 100 === 0)
          console.log(
            `step ${r.step} D ${r.discriminatorLoss.toFixed(3)} G ${r.generatorLoss.toFixed(3)} D(real) ${r.dReal.toFixed(2)} D(fake) ${r.dFake.toFixed(2)} acc ${r.dAccuracy.toFixed(2)} ${((Date.now() - t0) / 1000).toFixed(0)}s`,
          );
        if (Date.now() > stopAt) stop.abort();
      },
    },
  })
  .catch((e) => {
    if (!stop.signal.aborted) throw e;
  });
const trainSeconds = (Date.now() - t0) / 1000;
trainer.applyEma();
const save = arg('save', '');
if (save) await model.save(save);

const evaluation = await evaluateGan(model, train, heldOut);
const report = {
  preset,
  steps: trainer.stepCount,
  batchSize,
  options,
  trainSeconds,
  backend: nativeOn ? 'wasm+native' : tf.getBackend(),
  ...evaluation,
};
console.log(JSON.stringify(report));
await writeGanAssets(model, `${root}assets/`, name, report);
trainer.dispose();
model.dispose();
