import '@tensorflow/tfjs-backend-cpu';
import { SculptError } from '@sculpt/core';
import { expectNoLeak } from '@sculpt/core/testing';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-layers'; // registers tfjs-core's gradients in Node
import { beforeAll, describe, expect, it } from 'vitest';
import { groupNorm, groupNormSilu } from './group-norm.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/** The ops chain autodiff differentiates (what groupNorm computed before its own gradient). */
function chain(x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor, groups: number, silu: boolean) {
  const [b, h, w, c] = x.shape;
  const g = tf.reshape(x, [b, h, w, groups, c / groups]);
  const { mean, variance } = tf.moments(g, [1, 2, 4], true);
  const normed = tf.reshape(tf.mul(tf.sub(g, mean), tf.rsqrt(tf.add(variance, 1e-5))), x.shape);
  const z = tf.add(tf.mul(normed, gamma), beta);
  return silu ? tf.mul(z, tf.sigmoid(z)) : z;
}

function maxDiff(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]);
}

const CASES = [
  { shape: [2, 5, 3, 8], groups: 8 },
  { shape: [1, 4, 4, 6], groups: 1 },
  { shape: [3, 3, 5, 10], groups: 2 },
] as const;

describe('groupNorm / groupNormSilu (tfjs ops path)', () => {
  for (const { shape, groups } of CASES) {
    for (const silu of [false, true]) {
      it(`[${shape}] groups ${groups}${silu ? ' + SiLU' : ''}: values and gradients match autodiff of the ops chain`, () => {
        tf.tidy(() => {
          const x = tf.add(tf.mul(tf.randomNormal([...shape], 0, 1, 'float32', 1), 2), 0.5);
          const gamma = tf.randomUniform([shape[3]], 0.5, 1.5, 'float32', 2);
          const beta = tf.randomUniform([shape[3]], -0.5, 0.5, 'float32', 3);
          const dy = tf.randomNormal([...shape], 0, 1, 'float32', 4);
          const op = silu ? groupNormSilu : groupNorm;
          const loss = (f: typeof op) => (a: tf.Tensor, g: tf.Tensor, b: tf.Tensor) =>
            tf.sum(tf.mul(f(a, g, b, groups), dy));
          const ref = (a: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => chain(a, g, b, groups, silu);
          expect(maxDiff(op(x, gamma, beta, groups), ref(x, gamma, beta))).toBeLessThan(1e-5);
          const got = tf.grads(loss(op))([x, gamma, beta]);
          const want = tf.grads(loss(ref))([x, gamma, beta]);
          got.forEach((g, i) => {
            expect(maxDiff(g, want[i]), ['dx', 'dgamma', 'dbeta'][i]).toBeLessThan(1e-4);
          });
        });
      });
    }
  }

  it('leaks no tensor through a forward and backward pass', async () => {
    const x = tf.randomNormal([2, 4, 4, 8]);
    const gamma = tf.ones([8]);
    const beta = tf.zeros([8]);
    await expectNoLeak(() => groupNormSilu(x, gamma, beta, 4));
    await expectNoLeak(() =>
      tf.grads((a: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => tf.sum(groupNormSilu(a, g, b, 4)))([
        x,
        gamma,
        beta,
      ]),
    );
    tf.dispose([x, gamma, beta]);
  });

  it('names what it got and the fix when groups do not divide the channels', () => {
    const x = tf.zeros([1, 2, 2, 6]);
    const gamma = tf.ones([6]);
    expect(() => groupNorm(x, gamma, gamma, 4)).toThrow(SculptError);
    expect(() => groupNormSilu(x, gamma, gamma, 4)).toThrow(
      /groupNormSilu.*C divisible by groups.*got x \[1,2,2,6\], groups 4.*divide the channels/,
    );
    tf.dispose([x, gamma]);
  });
});
