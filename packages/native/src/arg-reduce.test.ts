import { initBackend } from '@sculpt/backend';
import { expectNoLeak } from '@sculpt/core/testing';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerNativeKernels, unregisterNativeKernels } from './index.js';
import { values } from './test-values.js';

beforeAll(async () => {
  await initBackend('wasm');
  registerNativeKernels();
});
afterAll(() => unregisterNativeKernels());

/** Values with many exact ties (8 levels) and, with `nans`, a NaN in every 7th place. */
function tied(n: number, nans: boolean): Float32Array {
  return values(n, 9).map((v, i) => (nans && i % 7 === 3 ? Number.NaN : Math.round(v * 4) / 4));
}

/** argMin and argMax of the same values on `backend`. */
async function both(backend: string, shape: number[], data: Float32Array, axis: number) {
  await tf.setBackend(backend);
  return tf.tidy(() => {
    const x = tf.tensor(data, shape);
    return [tf.argMin(x, axis), tf.argMax(x, axis)].map((t) => Array.from(t.dataSync()));
  });
}

describe('argMin and argMax', () => {
  const cases: [number[], number, boolean][] = [
    [[6272, 64], 1, false], // a VQ-VAE's distances (no NaN: the vector loops)
    [[6272, 64], -1, true],
    [[4, 50, 40], 2, true],
    [[9, 700], 1, false],
    [[64, 100], 0, false], // not the last axis: the wasm kernel
  ];

  it('match cpu exactly: the first index on ties, a NaN never wins', async () => {
    for (const [shape, axis, nans] of cases) {
      const data = tied(tf.util.sizeFromShape(shape), nans);
      const want = await both('cpu', shape, data, axis);
      const got = await both('wasm', shape, data, axis);
      expect(got).toEqual(want);
    }
  });

  it('the scalar loops (SCULPT_NATIVE_AVX512=0) match cpu too', async () => {
    process.env.SCULPT_NATIVE_AVX512 = '0';
    try {
      const data = tied(6272 * 64, true);
      expect(await both('wasm', [6272, 64], data, 1)).toEqual(
        await both('cpu', [6272, 64], data, 1),
      );
    } finally {
      delete process.env.SCULPT_NATIVE_AVX512;
    }
  });

  it('leak no tensor', async () => {
    await tf.setBackend('wasm');
    const x = tf.randomNormal([6272, 64]);
    await expectNoLeak(() => [tf.argMin(x, 1), tf.argMax(x, -1)]);
    x.dispose();
  });
});
