import * as tf from '@tensorflow/tfjs-core';
import { SculptError } from '../errors.js';

/** Options for {@link checkGradients}. */
export interface CheckGradientsOptions {
  /** Finite-difference step. Default `1e-2` (float32 arithmetic). */
  epsilon?: number;
  /** Largest allowed relative error `|a−n| / max(|a|, |n|, floor)`. Default `2e-2`. */
  tolerance?: number;
  /** Denominator floor for the relative error. Default `1e-2`. */
  floor?: number;
  /** Check at most this many coordinates per input, spread evenly. Default `32`. */
  maxCoordinates?: number;
}

/** What {@link checkGradients} measured. */
export interface GradientCheckReport {
  /** Largest relative error seen over all checked coordinates. */
  maxRelativeError: number;
  /** Number of coordinates checked. */
  checked: number;
}

/**
 * Compares the analytic gradient of a scalar function `f(...xs)` (from
 * `tf.grads`) with central finite differences, coordinate by coordinate.
 * Throws a {@link SculptError} naming the worst coordinate when they disagree.
 *
 * `f` must return a scalar. The inputs are not disposed.
 *
 * @example
 * ```ts
 * checkGradients((x, w) => tf.conv2d(x, w, 2, 'same').square().sum(), [x, w]);
 * ```
 */
export function checkGradients(
  f: (...xs: tf.Tensor[]) => tf.Scalar,
  xs: tf.Tensor[],
  options: CheckGradientsOptions = {},
): GradientCheckReport {
  const { epsilon = 1e-2, tolerance = 2e-2, floor = 1e-2, maxCoordinates = 32 } = options;
  const analytic = tf.tidy(() => tf.grads((...a: tf.Tensor[]) => f(...a))(xs));
  const analyticData = analytic.map((g) => g.dataSync() as Float32Array);
  tf.dispose(analytic);
  let maxRelativeError = 0;
  let checked = 0;
  xs.forEach((x, which) => {
    const base = x.dataSync().slice() as Float32Array;
    const stride = Math.max(1, Math.floor(base.length / maxCoordinates));
    for (let i = 0; i < base.length; i += stride) {
      const evalAt = (delta: number): number => {
        const shifted = base.slice();
        shifted[i] += delta;
        return tf.tidy(() => {
          const args = xs.map((other, j) =>
            j === which ? tf.tensor(shifted, x.shape, x.dtype) : other,
          );
          return f(...args).dataSync()[0];
        });
      };
      const numeric = (evalAt(epsilon) - evalAt(-epsilon)) / (2 * epsilon);
      const a = analyticData[which][i];
      const rel = Math.abs(a - numeric) / Math.max(Math.abs(a), Math.abs(numeric), floor);
      checked++;
      if (rel > maxRelativeError) maxRelativeError = rel;
      if (rel > tolerance) {
        throw new SculptError(
          'checkGradients',
          `expected analytic and numeric gradients to agree within ${tolerance} (relative)`,
          `got analytic ${a} vs numeric ${numeric} at input ${which}, flat index ${i} (relative error ${rel.toExponential(2)})`,
          'check the gradient or kernel registered for this op',
        );
      }
    }
  });
  return { maxRelativeError, checked };
}
