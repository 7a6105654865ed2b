// Shared fixtures of the trainer tests (not exported from the package).
import * as tf from '@tensorflow/tfjs-core';
import type { Rng } from '../random/rng.js';
import type { LossFn } from './trainer.js';

/** A regression batch: x [B, 3], y [B, 1]. */
export interface Batch {
  x: tf.Tensor2D;
  y: tf.Tensor2D;
}

/** y = x·[1, −2, 0.5]ᵀ + 0.3, x ~ N(0, I), drawn from `rng`. The caller owns the tensors. */
export function regressionBatch(rng: Rng, size: number): Batch {
  const x = rng.normal([size, 3]) as tf.Tensor2D;
  const y = tf.tidy(() =>
    tf.add(tf.matMul(x, tf.tensor2d([[1], [-2], [0.5]])), 0.3),
  ) as tf.Tensor2D;
  return { x, y };
}

/** MSE against targets jittered with noise from the loss's Rng (so the loss stream matters for resume). */
export const noisyRegression: LossFn<Batch> = (p, { x, y }, rng) => {
  const noisy = tf.add(y, tf.mul(rng.normal(y.shape), 0.1));
  const fit = tf.mean(tf.square(tf.sub(tf.add(tf.matMul(x, p.w), p.b), noisy))) as tf.Scalar;
  return { loss: fit, terms: { mse: fit } };
};
