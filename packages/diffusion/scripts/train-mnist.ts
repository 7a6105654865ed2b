// Trains the `mnist` preset (class-conditional) on the MNIST train split for a
// fixed number of steps under warm-up + cosine decay (the recipe below, chosen
// by measurement: see the README), with @sculpt/native's kernels serving wasm
// when the addon is built. Then samples a grid and scores guided samples
// against the held-out digits with @sculpt/metrics.
//
//   pnpm --filter @sculpt/diffusion train:mnist [-- --steps 6000 --minutes 20 --dropout 0.15 --pilot]
//
// The cosine decay is planned for `--steps`; where the wall-clock budget
// (`--minutes`, default 19) would run out first, it follows the clock instead,
// so the learning rate has decayed when the budget ends. `--no-eval` writes
// only the model (assets/) and out/mnist-run.json, for `eval:mnist --write-assets`.
// `--pilot` writes nothing under assets/: it trains into out/pilot-<name>/ and
// prints a quick score (20 per digit at w = 1 and 2) to compare recipes.
//
// Writes: out/mnist-train/ (weights + trainer state, resumable), out/mnist-model/
// (EMA weights), assets/mnist-grid.png (one row per digit),
// assets/mnist-model.safetensors (the EMA model as one blob, for the docs demo),
// assets/mnist-results.json.

import { mkdir, writeFile } from 'node:fs/promises';
import { initBackend } from '@sculpt/backend';
import { imageGrid, Rng, warmupCosineLr, writePng } from '@sculpt/core';
import * as tf from '@tensorflow/tfjs-core';
import { DiffusionModel, DiffusionTrainer, type Prediction } from '../src/index.js';
import {
  argValue,
  evaluate,
  hasFlag,
  loadMnist,
  loadMnistClassifier,
  mnistBatches,
  useNativeKernels,
} from './mnist-common.js';

/** The recipe: each value is the default of the flag named beside it. */
const RECIPE = {
  /** `--steps`: optimizer steps (fits 20 minutes on 2 shared cores with native kernels). */
  steps: 5000,
  /** `--batch` */
  batch: 64,
  /** `--widths`: U-Net channel widths per level (the preset's are 32,64). */
  widths: '32,64',
  /** `--lr`: peak AdamW learning rate, after `warmupSteps` of linear warm-up. */
  peakLr: 2e-3,
  warmupSteps: 200,
  /** Cosine decay ends here at the last step. */
  minLr: 1e-4,
  /** `--ema`: EMA decay of the weights that are shipped. */
  emaDecay: 0.998,
  /** `--prediction`: the network's target. */
  prediction: 'v' as Prediction,
  /** `--min-snr`: γ of the min-SNR loss weighting (0 = unweighted). */
  minSnrGamma: 5,
  /** `--dropout`: label dropout for classifier-free guidance. */
  conditionDropout: 0.1,
  /** `--guidance`: the scale of the grid and results JSON (the sweep's recommendation). */
  guidance: 2,
} as const;

const num = (flag: string, fallback: number) => Number(argValue(flag, String(fallback)));
const steps = num('steps', RECIPE.steps);
const batchSize = num('batch', RECIPE.batch);
const widths = argValue('widths', RECIPE.widths).split(',').map(Number);
const peakLr = num('lr', RECIPE.peakLr);
const emaDecay = num('ema', RECIPE.emaDecay);
const prediction = argValue('prediction', RECIPE.prediction) as Prediction;
const minSnrGamma = num('min-snr', RECIPE.minSnrGamma);
const conditionDropout = num('dropout', RECIPE.conditionDropout);
const guidanceScale = num('guidance', RECIPE.guidance);
const minutes = num('minutes', 19);
const pilot = hasFlag('pilot');
const root = new URL('..', import.meta.url).pathname;
const runName = pilot ? `pilot-${argValue('name', 'run')}` : 'mnist';
const trainDir = `${root}out/${runName}-train`;
const modelDir = `${root}out/${runName}-model`;

const backend = await initBackend('wasm');
const nativeOn = await useNativeKernels();
const backendName = nativeOn ? 'wasm+native' : backend.name;
const { train, heldOut } = await loadMnist();
// Warm-up + cosine decay over the planned steps, or over the wall-clock
// budget where that runs out first (a shared machine): the decay always ends.
const cosine = warmupCosineLr({
  peak: peakLr,
  warmupSteps: RECIPE.warmupSteps,
  totalSteps: steps,
  minLr: RECIPE.minLr,
});
const budgetMs = minutes * 60000;
let start = performance.now();
const learningRate = (step: number) => {
  const byTime = Math.round(((performance.now() - start) / budgetMs) * steps);
  return cosine(Math.max(step, step < RECIPE.warmupSteps ? step : byTime));
};
const model = DiffusionModel.create({ preset: 'mnist', prediction, unet: { widths } }, { seed: 0 });
const trainer = new DiffusionTrainer(model, {
  learningRate,
  ema: { decay: emaDecay },
  lossWeighting: minSnrGamma > 0 ? 'min-snr' : 'none',
  ...(minSnrGamma > 0 ? { minSnrGamma } : {}),
  conditionDropout,
  seed: 0,
});
const recipe = {
  steps,
  batchSize,
  widths,
  peakLr,
  emaDecay,
  prediction,
  minSnrGamma,
  conditionDropout,
};
const params = Object.values(model.params).reduce((n, v) => n + v.size, 0);
console.log(JSON.stringify({ event: 'start', backend: backendName, params, ...recipe, minutes }));

const data = mnistBatches(train, batchSize);
const rng = new Rng(1234);
start = performance.now();
let losses: number[] = [];
while ((performance.now() - start) / 60000 < minutes && trainer.stepCount < steps) {
  const batch = data(trainer.stepCount, rng);
  const r = await trainer.step(batch);
  tf.dispose(batch.images);
  losses.push(r.loss);
  if (r.step % 250 === 0) {
    const loss = losses.reduce((a, b) => a + b, 0) / losses.length;
    const elapsedS = Math.round((performance.now() - start) / 1000);
    const lr = +learningRate(r.step).toExponential(2);
    console.log(JSON.stringify({ step: r.step, loss: +loss.toFixed(4), lr, elapsedS }));
    losses = [];
  }
}
const trainSeconds = (performance.now() - start) / 1000;
const msPerStep = Math.round((trainSeconds * 1000) / trainer.stepCount);
await trainer.save(trainDir);
trainer.applyEma();
await model.save(modelDir);
const trained = {
  event: 'trained',
  steps: trainer.stepCount,
  plannedSteps: steps,
  trainSeconds: Math.round(trainSeconds),
  msPerStep,
};
console.log(JSON.stringify(trained));

const classifier = await loadMnistClassifier();
if (pilot) {
  for (const w of [1, 2]) {
    const r = await evaluate(model, heldOut, classifier, {
      perClass: 20,
      guidanceScale: w,
      sampler: 'dpmpp-2m',
      steps: 20,
      seed: 100,
    });
    const { perClass: _, ...score } = r;
    console.log(
      JSON.stringify({
        ...recipe,
        ...trained,
        event: 'pilot',
        name: runName,
        guidanceScale: w,
        ...score,
      }),
    );
  }
} else if (!hasFlag('no-eval')) {
  await writeAssets();
} else {
  await mkdir(`${root}assets`, { recursive: true });
  await writeFile(`${root}assets/mnist-model.safetensors`, new Uint8Array(await model.toBytes()));
  const { event: _, ...counts } = trained;
  const run = {
    preset: 'mnist',
    backend: backendName,
    ...recipe,
    ...counts,
    trainMinutes: +(trainSeconds / 60).toFixed(1),
  };
  await writeFile(`${root}out/mnist-run.json`, `${JSON.stringify(run, null, 2)}\n`);
}
classifier.dispose();
trainer.dispose();
model.dispose();

async function writeAssets(): Promise<void> {
  await mkdir(`${root}assets`, { recursive: true });
  await writeFile(`${root}assets/mnist-model.safetensors`, new Uint8Array(await model.toBytes()));
  // One row per digit, 10 columns.
  const gridLabels = Array.from({ length: 100 }, (_, i) => Math.floor(i / 10));
  const grid = await model.sample({
    labels: gridLabels,
    guidanceScale,
    sampler: 'dpmpp-2m',
    steps: 20,
    seed: 7,
  });
  const image = imageGrid(grid, { columns: 10, padding: 2, padValue: -1 });
  await writePng(`${root}assets/mnist-grid.png`, image, { range: [-1, 1] });
  tf.dispose([grid, image]);
  const result = await evaluate(model, heldOut, classifier, {
    perClass: 50,
    guidanceScale,
    sampler: 'dpmpp-2m',
    steps: 20,
    seed: 100,
  });
  const summary = {
    preset: 'mnist',
    backend: backendName,
    ...recipe,
    steps: trainer.stepCount,
    trainMinutes: +(trainSeconds / 60).toFixed(1),
    msPerStep,
    sampler: 'dpmpp-2m',
    samplerSteps: 20,
    guidanceScale,
    ...result,
    note: 'wall time on a shared 2-core machine (other jobs running): noisy',
  };
  await writeFile(`${root}assets/mnist-results.json`, `${JSON.stringify(summary, null, 2)}\n`);
  console.log(JSON.stringify(summary));
}
