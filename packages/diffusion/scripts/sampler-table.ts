// Samples the trained MNIST model with every registered sampler at 10, 20 and
// 50 steps and prints FD (classifier features vs held-out digits) and class
// accuracy against NFE, as JSON lines and a Markdown table.
//
//   pnpm --filter @sculpt/diffusion eval:samplers [-- --per-class 5 --guidance 2 --rescale 0 --steps 10,20,50 --samplers euler,dpmpp-2m]
//
// Reads out/mnist-model (written by train:mnist) or --model <dir>; writes
// assets/sampler-table.{json,md}.

import { readFile, writeFile } from 'node:fs/promises';
import { initBackend } from '@sculpt/backend';
import { listSamplers } from '@sculpt/samplers';
import { DiffusionModel } from '../src/index.js';
import {
  argValue,
  evaluate,
  loadMnist,
  loadMnistClassifier,
  useNativeKernels,
} from './mnist-common.js';

const root = new URL('..', import.meta.url).pathname;
const perClass = Number(argValue('per-class', '5'));
// Default guidance: what eval:mnist recommended for the shipped model (assets/mnist-results.json).
const shipped = JSON.parse(await readFile(`${root}assets/mnist-results.json`, 'utf8')) as {
  guidanceScale?: number;
  guidanceRescale?: number;
};
const guidanceScale = Number(argValue('guidance', String(shipped.guidanceScale ?? 3)));
const guidanceRescale = Number(argValue('rescale', String(shipped.guidanceRescale ?? 0)));
const stepList = argValue('steps', '10,20,50').split(',').map(Number);
const only = argValue('samplers', '');
const modelDir = argValue('model', `${root}out/mnist-model`);

await initBackend('wasm');
await useNativeKernels();
const model = await DiffusionModel.load(modelDir);
const { heldOut } = await loadMnist();
const classifier = await loadMnistClassifier();
const samplers = listSamplers().filter((s) => !only || only.split(',').includes(s.name));
const rows: Record<string, unknown>[] = [];
for (const sampler of samplers) {
  for (const steps of stepList) {
    const r = await evaluate(model, heldOut, classifier, {
      perClass,
      guidanceScale,
      guidanceRescale,
      sampler,
      steps,
      seed: 100,
    });
    const row = {
      sampler: sampler.name,
      steps,
      nfe: steps * sampler.nfePerStep,
      stochastic: sampler.stochastic,
      classAccuracy: +r.classAccuracy.toFixed(3),
      fd: +r.fd.toFixed(2),
      seconds: +r.seconds.toFixed(1),
    };
    rows.push(row);
    console.log(JSON.stringify(row));
  }
}
const header = `Samples per cell: ${10 * perClass} (${perClass} per digit), guidance ${guidanceScale}${guidanceRescale ? ` (rescale φ ${guidanceRescale})` : ''}, Karras σ; FD on the metrics classifier's features vs the 1,000 held-out digits (small sample counts inflate FD: compare rows, not papers). NFE = steps × model calls per step (×2 batch for CFG).`;
const md = [
  header,
  '',
  '| sampler | steps | NFE | class acc. | FD | seconds |',
  '|---|---|---|---|---|---|',
  ...rows.map(
    (r) => `| ${r.sampler} | ${r.steps} | ${r.nfe} | ${r.classAccuracy} | ${r.fd} | ${r.seconds} |`,
  ),
].join('\n');
await writeFile(
  `${root}assets/sampler-table.json`,
  `${JSON.stringify({ perClass, guidanceScale, guidanceRescale, rows }, null, 2)}\n`,
);
await writeFile(`${root}assets/sampler-table.md`, `${md}\n`);
console.log(md);
classifier.dispose();
model.dispose();
