import { initBackend } from '@sculpt/backend';
import { expectNoLeak } from '@sculpt/core/testing';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-core/dist/register_all_gradients'; // the Node build of tfjs-core registers none
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerNativeKernels, unregisterNativeKernels } from './index.js';
import { values } from './test-values.js';

type Modes = [alignCorners: boolean, halfPixelCenters: boolean];

/** y = resize(x) and dx of Σ y·dy, on `backend`, from the same deterministic values. */
async function resizeAndGrad(
  backend: string,
  shape: [number, number, number, number],
  size: [number, number],
  [alignCorners, halfPixelCenters]: Modes,
): Promise<Float32Array[]> {
  await tf.setBackend(backend);
  return tf.tidy(() => {
    const x = tf.tensor4d(values(tf.util.sizeFromShape(shape), 3), shape);
    const resize = (t: tf.Tensor) =>
      tf.image.resizeNearestNeighbor(t as tf.Tensor4D, size, alignCorners, halfPixelCenters);
    const dy = tf.tensor(values(shape[0] * size[0] * size[1] * shape[3], 4), [
      shape[0],
      ...size,
      shape[3],
    ]);
    const [dx] = tf.grads((t: tf.Tensor) => tf.sum(tf.mul(resize(t), dy)))([x]);
    return [resize(x), dx].map((t) => t.dataSync() as Float32Array);
  });
}

// initBackend('cpu') puts in sculpt's corrected cpu ResizeNearestNeighborGrad (the reference).
beforeAll(async () => {
  await initBackend('cpu');
  await initBackend('wasm');
  registerNativeKernels();
});
afterAll(() => unregisterNativeKernels());

describe('nearest-neighbour resize', () => {
  const cases: [[number, number, number, number], [number, number]][] = [
    [
      [8, 14, 14, 16],
      [28, 28],
    ], // a VAE decoder's 2× upsampling
    [
      [4, 7, 7, 32],
      [14, 14],
    ],
    [
      [4, 5, 6, 8],
      [13, 11],
    ], // non-integer scales
    [
      [4, 28, 28, 8],
      [14, 14],
    ], // downsizing: dy skips pixels
  ];
  const modes: Modes[] = [
    [false, false],
    [true, false],
    [false, true],
  ];

  it('and its gradient match cpu in every corner and centre mode, exactly', async () => {
    for (const [shape, size] of cases) {
      for (const mode of modes) {
        const want = await resizeAndGrad('cpu', shape, size, mode);
        const got = await resizeAndGrad('wasm', shape, size, mode);
        // copies are exact; a gradient pixel sums the same dy values in the same order
        expect(got[0]).toEqual(want[0]);
        let worst = 0;
        for (let i = 0; i < want[1].length; i++)
          worst = Math.max(worst, Math.abs(got[1][i] - want[1][i]));
        expect(worst).toBeLessThan(1e-6);
      }
    }
  });

  it('leaks no tensor through the resize and its gradient', async () => {
    await tf.setBackend('wasm');
    const x = tf.randomNormal([8, 14, 14, 16]) as tf.Tensor4D;
    await expectNoLeak(() =>
      tf.grads((t: tf.Tensor) =>
        tf.sum(tf.image.resizeNearestNeighbor(t as tf.Tensor4D, [28, 28])),
      )([x]),
    );
    x.dispose();
  });
});
