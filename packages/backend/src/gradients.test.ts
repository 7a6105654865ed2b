import '@tensorflow/tfjs-core/dist/register_all_gradients';
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { registerFastGradients } from './gradients.js';

describe('Sum and Mean gradients', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });

  const x = () =>
    tf.tensor(
      Array.from({ length: 2 * 3 * 4 }, (_, i) => Math.sin(i)),
      [2, 3, 4],
    );
  const weights = () =>
    tf.tensor(
      Array.from({ length: 24 }, (_, i) => (i % 5) - 2),
      [2, 3, 4],
    );
  const cases: [string, (t: tf.Tensor) => tf.Tensor][] = [
    ['sum over 1', (t) => tf.sum(t, 1)],
    ['sum over [0, 2] keepDims', (t) => tf.sum(t, [0, 2], true)],
    ['sum of all', (t) => tf.sum(t)],
    ['mean over -1', (t) => tf.mean(t, -1)],
    ['mean over [0, 1]', (t) => tf.mean(t, [0, 1])],
  ];

  it('give the values of tfjs own gradients', () => {
    const grad = (f: (t: tf.Tensor) => tf.Tensor) =>
      tf.tidy(() =>
        Array.from(
          tf
            .grad((t: tf.Tensor) => tf.sum(tf.mul(tf.square(f(tf.mul(t, weights()))), 0.5)))(x())
            .dataSync(),
        ),
      );
    const before = cases.map(([, f]) => grad(f));
    registerFastGradients();
    const after = cases.map(([, f]) => grad(f));
    cases.forEach(([name], i) => {
      after[i].forEach((v, j) => expect(v, name).toBeCloseTo(before[i][j], 5));
    });
  });

  it('is idempotent', () => {
    registerFastGradients();
    const config = tf.getGradient('Sum') as unknown as Record<symbol, unknown>;
    registerFastGradients();
    expect(tf.getGradient('Sum')).toBe(config);
  });
});
