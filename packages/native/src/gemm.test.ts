import { initBackend } from '@sculpt/backend';
import { expectNoLeak } from '@sculpt/core/testing';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-core/dist/register_all_gradients'; // the Node build of tfjs-core registers none
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerNativeKernels, unregisterNativeKernels } from './index.js';
import { values } from './test-values.js';

/** `fn` of tensors of `shapes` (the same values each call) on `backend`, read back. */
async function run(
  backend: string,
  shapes: number[][],
  fn: (...t: tf.Tensor[]) => tf.Tensor | tf.Tensor[],
): Promise<Float32Array[]> {
  await tf.setBackend(backend);
  return tf.tidy(() => {
    const ts = shapes.map((s, i) =>
      tf.tensor(
        values(
          s.reduce((a, b) => a * b, 1),
          i + 1,
        ),
        s,
      ),
    );
    return [fn(...ts)].flat().map((t) => t.dataSync() as Float32Array);
  });
}

/** The largest |got − want| over |want| + 1 across every output. */
function worst(got: Float32Array[], want: Float32Array[]): number {
  let err = 0;
  got.forEach((g, i) => {
    expect(g.length).toBe(want[i].length);
    g.forEach((v, j) => {
      err = Math.max(err, Math.abs(v - want[i][j]) / (Math.abs(want[i][j]) + 1));
    });
  });
  return err;
}

const avx512 = (on: boolean) => registerNativeKernels({ avx512: on }).avx512Gemm;

beforeAll(async () => {
  await initBackend('wasm');
  registerNativeKernels();
});
afterAll(() => {
  registerNativeKernels({ avx512: true });
  unregisterNativeKernels();
});

describe('the AVX-512 sgemm', () => {
  it('is on by default where the CPU has AVX-512F, and can be switched off', () => {
    const on = avx512(true);
    expect(avx512(false)).toBe(false);
    expect(avx512(true)).toBe(on);
  });

  // m: one row, fewer than a tile, a tile and an edge; n: every column tail (1, 15, 16, 17),
  // several vectors, more than one 64-column panel; k: one, and more than one 512-row panel.
  const products: [number, number, number][] = [
    [1, 160, 480],
    [5, 7, 1],
    [13, 33, 15],
    [25, 600, 17],
    [24, 64, 16],
    [100, 9, 65],
    [37, 1, 130],
    [64, 70, 300],
  ];
  for (const [ta, tb] of [
    [false, false],
    [true, false],
    [false, true],
    [true, true],
  ] as const) {
    it(`matches cpu on and off, transposeA=${ta}, transposeB=${tb}`, async () => {
      for (const [m, k, n] of products) {
        const shapes = [ta ? [k, m] : [m, k], tb ? [n, k] : [k, n]];
        const f = (a: tf.Tensor, b: tf.Tensor) => tf.matMul(a, b, ta, tb);
        const want = await run('cpu', shapes, f);
        for (const on of [true, false]) {
          avx512(on);
          expect(worst(await run('wasm', shapes, f), want), `${m}×${k}×${n} on=${on}`).toBeLessThan(
            1e-5,
          );
        }
      }
      avx512(true);
    });
  }

  it('gives conv forward and gradients (accumulated over row chunks) as cpu does, on and off', async () => {
    // 36 output channels: im2col both ways; 64: im2col with the AVX-512 sgemm, the direct loops without.
    for (const co of [36, 64]) {
      const shapes = [
        [3, 23, 23, 20],
        [3, 3, 20, co],
      ];
      const f = (x: tf.Tensor, w: tf.Tensor) =>
        tf.grads((a: tf.Tensor, b: tf.Tensor) =>
          tf.sum(tf.square(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, [2, 1], 'same'))),
        )([x, w]);
      const want = await run('cpu', shapes, f);
      for (const on of [true, false]) {
        avx512(on);
        expect(worst(await run('wasm', shapes, f), want), `co=${co} on=${on}`).toBeLessThan(1e-4);
      }
    }
    avx512(true);
  });

  it('leaks no tensor', async () => {
    await tf.setBackend('wasm');
    const a = tf.tensor(values(64 * 48, 1), [64, 48]);
    const b = tf.tensor(values(48 * 40, 2), [48, 40]);
    await expectNoLeak(() => [tf.matMul(a, b), tf.matMul(b, a, true, true)]);
    tf.dispose([a, b]);
  });
});
