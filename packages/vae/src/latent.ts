// Latent tools: reconstruction, interpolation, 2-D grids, tempered prior samples.
import { DiagonalNormal, type Rng, SculptError } from '@sculpt/core';
import * as tf from '@tensorflow/tfjs-core';
import type { VaeModel } from './model.js';

/**
 * Encode → decode with the posterior mean (VAE) or the code (AE).
 * @returns the decoder mean `[B, H, W, C]`; the caller owns it.
 */
export function reconstruct(model: VaeModel, x: tf.Tensor): tf.Tensor4D {
  const q = model.encode(x);
  const z = q instanceof DiagonalNormal ? q.mean : q;
  const out = model.decode(z);
  q.dispose();
  return out;
}

/**
 * `steps` points from `a` to `b` (`[D]` or `[1, D]` each): linear or spherical
 * (slerp, which keeps the norm typical of a Gaussian prior) interpolation.
 * @returns `[steps, D]`; the caller owns it.
 * @throws SculptError for steps < 2 or mismatched shapes.
 */
export function interpolate(
  a: tf.Tensor,
  b: tf.Tensor,
  steps: number,
  mode: 'lerp' | 'slerp' = 'slerp',
): tf.Tensor2D {
  const where = 'interpolate';
  if (!Number.isInteger(steps) || steps < 2)
    throw new SculptError(where, 'expected steps an integer ≥ 2', `got ${steps}`);
  if (a.size !== b.size)
    throw new SculptError(
      where,
      'expected a and b of the same size',
      `got ${a.size} and ${b.size}`,
    );
  const va = a.dataSync();
  const vb = b.dataSync();
  const d = va.length;
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < d; i++) {
    dot += va[i] * vb[i];
    na += va[i] * va[i];
    nb += vb[i] * vb[i];
  }
  const omega = Math.acos(Math.max(-1, Math.min(1, dot / Math.sqrt(na * nb || 1))));
  const out = new Float32Array(steps * d);
  for (let s = 0; s < steps; s++) {
    const t = s / (steps - 1);
    let ca = 1 - t;
    let cb = t;
    if (mode === 'slerp' && omega > 1e-6) {
      ca = Math.sin((1 - t) * omega) / Math.sin(omega);
      cb = Math.sin(t * omega) / Math.sin(omega);
    }
    for (let i = 0; i < d; i++) out[s * d + i] = ca * va[i] + cb * vb[i];
  }
  return tf.tensor2d(out, [steps, d]);
}

/**
 * A `size × size` grid of latents over [−range, range]² (for a 2-D latent), row-major, y downwards.
 * @returns `[size², 2]`; the caller owns it.
 */
export function latentGrid2d(size: number, range = 3): tf.Tensor2D {
  if (!Number.isInteger(size) || size < 2)
    throw new SculptError('latentGrid2d', 'expected size an integer ≥ 2', `got ${size}`);
  const out = new Float32Array(size * size * 2);
  for (let r = 0; r < size; r++)
    for (let c = 0; c < size; c++) {
      out[(r * size + c) * 2] = -range + (2 * range * c) / (size - 1);
      out[(r * size + c) * 2 + 1] = range - (2 * range * r) / (size - 1);
    }
  return tf.tensor2d(out, [size * size, 2]);
}

/**
 * Decodes `n` draws z ~ N(0, T²I) (temperature T; below 1 trades variety for fidelity).
 * @returns decoder means `[n, H, W, C]`; the caller owns them.
 * @throws SculptError for n outside [1, 4096] or temperature < 0.
 */
export function samplePrior(model: VaeModel, n: number, rng: Rng, temperature = 1): tf.Tensor4D {
  // The bound keeps one call's images in memory (4096 MNIST digits: 13 MB); more come in batches.
  if (!Number.isInteger(n) || n < 1 || n > 4096)
    throw new SculptError(
      'samplePrior',
      'expected n an integer in [1, 4096]',
      `got ${n}`,
      'draw more in batches of at most 4096',
    );
  if (!(temperature >= 0))
    throw new SculptError('samplePrior', 'expected temperature ≥ 0', `got ${temperature}`);
  const z = rng.normal([n, model.config.latentDim], { std: temperature });
  const x = model.decode(z);
  z.dispose();
  return x;
}
