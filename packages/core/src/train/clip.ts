import * as tf from '@tensorflow/tfjs-core';
import { SculptError } from '../errors.js';

/** What {@link clipByGlobalNorm} returns; the caller owns every tensor in it. */
export interface ClippedGradients {
  /** The gradients scaled by `min(1, maxNorm / (norm + 1e-6))`, same keys. */
  grads: Record<string, tf.Tensor>;
  /** The global L2 norm before clipping, `√Σ‖g‖²` (a device scalar: reading it is a sync). */
  norm: tf.Scalar;
}

/**
 * Scales all gradients together so their global L2 norm is at most `maxNorm`
 * (Pascanu et al. 2013; `torch.nn.utils.clip_grad_norm_`: the factor is
 * `min(1, maxNorm / (norm + 1e-6))`). Runs on the device: nothing is read
 * back. A NaN or infinite norm makes every gradient non-finite, which the
 * Trainer's guard then reports.
 *
 * @param grads - gradients by name (not disposed).
 * @param maxNorm - the largest allowed global norm (finite, > 0).
 * @returns `{ grads, norm }`, new tensors owned by the caller.
 * @example
 * ```ts
 * const { grads: clipped, norm } = clipByGlobalNorm(grads, 1.0);
 * ```
 */
export function clipByGlobalNorm(
  grads: Record<string, tf.Tensor>,
  maxNorm: number,
): ClippedGradients {
  if (!(Number.isFinite(maxNorm) && maxNorm > 0)) {
    throw new SculptError(
      'clipByGlobalNorm',
      'maxNorm must be a finite number > 0',
      `got ${maxNorm}`,
      'pass e.g. clipNorm: 1.0, or leave it out to disable clipping',
    );
  }
  return tf.tidy(() => {
    const norm = globalNorm(Object.values(grads));
    const factor = tf.minimum(tf.div(tf.scalar(maxNorm), tf.add(norm, 1e-6)), 1);
    const out: Record<string, tf.Tensor> = {};
    for (const [k, g] of Object.entries(grads)) out[k] = tf.mul(g, factor);
    return { grads: out, norm };
  });
}

/**
 * The global L2 norm `√Σᵢ‖gᵢ‖²` of a list of tensors, as a device scalar the caller owns.
 *
 * @example
 * ```ts
 * const n = globalNorm([gw, gb]); // tf.Scalar
 * ```
 */
export function globalNorm(tensors: readonly tf.Tensor[]): tf.Scalar {
  return tf.tidy(() => {
    if (tensors.length === 0) return tf.scalar(0);
    const squares = tensors.map((g) => tf.sum(tf.square(tf.cast(g, 'float32'))));
    return tf.sqrt(sumInChunks(squares)) as tf.Scalar;
  });
}

/**
 * Inputs per `tf.addN`: WebGPU gives a shader 8 storage buffers by default
 * (compatibility mode: headless Chromium, Dawn on GL), one of them the output.
 * tfjs-webgpu's AddN does not split a longer list: its pipeline is invalid, and
 * the whole command buffer it was batched in (the optimizer update with it) is dropped.
 */
const ADD_N_INPUTS = 7;

/** The sum of scalars, added at most {@link ADD_N_INPUTS} at a time. */
function sumInChunks(terms: tf.Tensor[]): tf.Tensor {
  let level = terms;
  while (level.length > 1) {
    const next: tf.Tensor[] = [];
    for (let i = 0; i < level.length; i += ADD_N_INPUTS) {
      const chunk = level.slice(i, i + ADD_N_INPUTS);
      next.push(chunk.length === 1 ? chunk[0] : tf.addN(chunk));
    }
    level = next;
  }
  return level[0];
}
