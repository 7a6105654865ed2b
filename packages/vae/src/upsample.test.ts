import { initBackend } from '@sculpt/backend';
import { expectNoLeak } from '@sculpt/core/testing';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients'; // the Node build of tfjs-core registers none
import { beforeAll, describe, expect, it } from 'vitest';
import { upsample2x } from './conv.js';

beforeAll(async () => {
  await initBackend('wasm');
});

const [B, H, W, C] = [3, 4, 5, 2];
const x = () =>
  tf.tensor4d(
    Float32Array.from({ length: B * H * W * C }, (_, i) => Math.sin(i)),
    [B, H, W, C],
  );

describe('upsample2x', () => {
  it('copies x[b, ⌊i/2⌋, ⌊j/2⌋] to every output pixel (i, j), for every image', () => {
    const xs = x();
    const got = upsample2x(xs).arraySync();
    const want = xs.arraySync();
    expect(got.length).toBe(B);
    for (let b = 0; b < B; b++) {
      for (let i = 0; i < 2 * H; i++) {
        for (let j = 0; j < 2 * W; j++) expect(got[b][i][j]).toEqual(want[b][i >> 1][j >> 1]);
      }
    }
    xs.dispose();
  });

  it('has the gradient of a copy: dx sums dy over each 2×2 block', () => {
    const xs = x();
    const dy = tf.tidy(() => tf.reshape(tf.range(0, B * 4 * H * W * C), [B, 2 * H, 2 * W, C]));
    const dx = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(upsample2x(t as tf.Tensor4D), dy)))(xs);
    const g = dy.arraySync() as number[][][][];
    const got = dx.arraySync() as number[][][][];
    for (let b = 0; b < B; b++) {
      for (let i = 0; i < H; i++) {
        for (let j = 0; j < W; j++) {
          for (let c = 0; c < C; c++) {
            const sum =
              g[b][2 * i][2 * j][c] +
              g[b][2 * i][2 * j + 1][c] +
              g[b][2 * i + 1][2 * j][c] +
              g[b][2 * i + 1][2 * j + 1][c];
            expect(got[b][i][j][c]).toBe(sum);
          }
        }
      }
    }
    tf.dispose([xs, dy, dx]);
  });

  it('leaks no tensor forward or backward', async () => {
    const xs = x();
    await expectNoLeak(() => upsample2x(xs));
    await expectNoLeak(() => tf.grad((t: tf.Tensor) => tf.sum(upsample2x(t as tf.Tensor4D)))(xs));
    xs.dispose();
  });
});
