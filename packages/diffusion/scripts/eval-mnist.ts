// Scores a trained MNIST model (out/mnist-model or --model <dir>) at one or
// more guidance scales: class accuracy of guided samples (metrics classifier),
// FD and KID against the 1,000 held-out digits. Prints JSON lines.
//
//   pnpm --filter @sculpt/diffusion exec tsx scripts/eval-mnist.ts -- --guidance 1,3,5 --per-class 50
import { initBackend } from '@sculpt/backend';
import { DiffusionModel } from '../src/index.js';
import { argValue, evaluate, loadMnist, loadMnistClassifier } from './mnist-common.js';

const root = new URL('..', import.meta.url).pathname;
const scales = argValue('guidance', '3').split(',').map(Number);
const perClass = Number(argValue('per-class', '50'));
const sampler = argValue('sampler', 'dpmpp-2m');
const steps = Number(argValue('steps', '20'));
await initBackend('wasm');
const model = await DiffusionModel.load(argValue('model', `${root}out/mnist-model`));
const { heldOut } = await loadMnist();
const classifier = await loadMnistClassifier();
for (const guidanceScale of scales) {
  const r = await evaluate(model, heldOut, classifier, {
    perClass,
    guidanceScale,
    sampler,
    steps,
    seed: 100,
  });
  console.log(JSON.stringify({ sampler, steps, guidanceScale, ...r }));
}
classifier.dispose();
model.dispose();
