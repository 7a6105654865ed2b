// tfjs's cpu backend started directly (tf.setBackend, not @sculpt/backend's initBackend,
// which replaces tfjs-backend-cpu 4.22's ResizeNearestNeighborGrad: wrong for batch > 1).
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients'; // the Node build of tfjs-core registers none
import { beforeAll, describe, expect, it } from 'vitest';
import { upsample2x } from './conv.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('upsample2x on tfjs-backend-cpu without initBackend', () => {
  it('has the gradient of a copy for every image of a batch', () => {
    const [B, H, W, C] = [3, 2, 3, 2];
    const xs = tf.zeros([B, H, W, C]) as tf.Tensor4D;
    const dy = tf.tidy(() => tf.reshape(tf.range(0, B * 4 * H * W * C), [B, 2 * H, 2 * W, C]));
    const dx = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(upsample2x(t as tf.Tensor4D), dy)))(xs);
    // the reference: dy summed over each 2×2 block
    const want = tf.tidy(() => tf.sum(tf.reshape(dy, [B, H, 2, W, 2, C]), [2, 4]));
    expect(tf.backend()).toBe(tf.findBackend('cpu'));
    expect(dx.arraySync()).toEqual(want.arraySync());
    tf.dispose([xs, dy, dx, want]);
  });
});
