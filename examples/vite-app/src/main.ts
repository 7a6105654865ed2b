// Samples ten MNIST digits (0–9) from the model @sculpt/diffusion ships, in
// the browser. `?backend=wasm|webgpu|auto` picks the backend (default 'auto').
// What it did lands in <pre id="result"> as JSON, for people and for tests.
import '@tensorflow/tfjs-layers'; // tfjs's layers and gradients (the U-Net is a layers model)
import { type BackendPreference, initBackend } from '@sculpt/backend';
import { imageGrid } from '@sculpt/core';
import { DiffusionModel } from '@sculpt/diffusion';
import modelUrl from '@sculpt/diffusion/mnist-model.safetensors?url';
import * as wasm from '@tensorflow/tfjs-backend-wasm';
import plainWasm from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm?url';
import simdWasm from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm?url';
import threadedWasm from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm?url';
import * as webgpu from '@tensorflow/tfjs-backend-webgpu';
import * as tf from '@tensorflow/tfjs-core';

const status = document.querySelector<HTMLParagraphElement>('#status');
const canvas = document.querySelector<HTMLCanvasElement>('#digits');
const result = document.querySelector<HTMLPreElement>('#result');

function say(text: string): void {
  if (status) status.textContent = text;
}

/**
 * The backend asked for in the page URL. `webgl` is not handed to sculpt
 * below, so asking for it shows the error a bundled app gets for a backend it
 * did not import.
 */
function requested(): BackendPreference {
  const asked = new URLSearchParams(location.search).get('backend') ?? 'auto';
  return (
    ['auto', 'webgpu', 'wasm', 'webgl'].includes(asked) ? asked : 'auto'
  ) as BackendPreference;
}

async function main(): Promise<void> {
  // The app imports the backends and lets Vite emit the .wasm files; sculpt gets both.
  const backend = await initBackend(requested(), {
    backends: { webgpu, wasm },
    wasmPaths: {
      'tfjs-backend-wasm.wasm': plainWasm,
      'tfjs-backend-wasm-simd.wasm': simdWasm,
      'tfjs-backend-wasm-threaded-simd.wasm': threadedWasm,
    },
  });
  say(`backend: ${backend.name}; loading the model…`);
  const model = await DiffusionModel.fromUrl(modelUrl);
  say(`backend: ${backend.name}; sampling…`);
  const started = performance.now();
  const digits = await model.sample({
    labels: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
    guidanceScale: 3,
    sampler: 'dpmpp-2m',
    steps: 8,
    seed: 1,
  }); // [10, 28, 28, 1] in [-1, 1]
  const ms = performance.now() - started;
  const grid = tf.tidy(() =>
    tf.clipByValue(tf.div(tf.add(imageGrid(digits, { columns: 10 }), 1), 2), 0, 1),
  ); // [28, 280, 1] in [0, 1]
  if (canvas) await tf.browser.toPixels(grid as tf.Tensor3D, canvas);
  const values = (await digits.data()) as Float32Array;
  tf.dispose([digits, grid]);
  model.dispose();
  const mean = values.reduce((s, v) => s + v, 0) / values.length;
  const inkFraction = values.filter((v) => v > 0).length / values.length;
  say(`backend: ${backend.name}; 10 digits in ${(ms / 1000).toFixed(1)} s`);
  show({ ok: true, backend: backend.name, skipped: backend.skipped, ms, mean, inkFraction });
}

function show(value: object): void {
  if (result) result.textContent = JSON.stringify(value);
}

main().catch((err: unknown) => {
  say('failed');
  show({ ok: false, error: err instanceof Error ? err.message : String(err) });
});
