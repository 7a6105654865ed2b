// Sampling images/s at batch 64 (20 DPM++ 2M steps, CFG 4), the latent model
// beside the pixel-space model shipped in @sculpt/diffusion, in alternating
// rounds. Speed does not depend on the weights, so the latent model is a
// freshly initialised `mnist-text`. Prints one JSON line per round.
//
//   pnpm --filter @sculpt/latent speed
import { readFile } from 'node:fs/promises';
import { initBackend } from '@sculpt/backend';
import { DiffusionModel } from '@sculpt/diffusion';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-layers';
import { LatentDiffusionModel } from '../src/index.js';

await initBackend('wasm');
const latent = LatentDiffusionModel.create('mnist-text', { seed: 0 });
const shipped = new URL('../../diffusion/assets/mnist-model.safetensors', import.meta.url);
const pixel = DiffusionModel.fromBytes(await readFile(shipped));
const labels = Array.from({ length: 64 }, (_, i) => i % 10);
const prompts = labels.map(() => 'a thick seven');
for (let round = 0; round < 2; round++) {
  let t = performance.now();
  tf.dispose(await latent.sample({ prompts, guidanceScale: 4, steps: 20, seed: round }));
  const latentImagesPerSecond = 64 / ((performance.now() - t) / 1000);
  t = performance.now();
  tf.dispose(
    await pixel.sample({ labels, guidanceScale: 4, steps: 20, sampler: 'dpmpp-2m', seed: round }),
  );
  const pixelImagesPerSecond = 64 / ((performance.now() - t) / 1000);
  console.log(JSON.stringify({ round, latentImagesPerSecond, pixelImagesPerSecond }));
}
latent.dispose();
pixel.dispose();
