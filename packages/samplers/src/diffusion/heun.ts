import type { Denoiser, SamplerOptions } from '@sculpt/core';
import * as tf from '@tensorflow/tfjs-core';
import { defineSampler } from './define.js';
import { bindDenoiser, combine, release, stepRecord, toD } from './util.js';

/** Options of {@link heun} (none beyond the shared ones). */
export type HeunOptions = SamplerOptions;

/**
 * Heun's method (Karras et al. 2022, Alg. 1): x̃ = x + Δσ·d, d' = d(x̃, σ_next),
 * x_next = x + Δσ·(d + d')/2. The last step (to σ = 0, where d' is undefined)
 * is an Euler step.
 */
function* heunProgram(
  denoiser: Denoiser,
  xT: tf.Tensor,
  sigmas: Float32Array,
  options: HeunOptions,
) {
  const model = bindDenoiser(denoiser, options.cond);
  const n = sigmas.length - 1;
  let x = tf.clone(xT);
  let denoised: tf.Tensor | undefined;
  try {
    for (let i = 0; i < n; i++) {
      const sigma = sigmas[i];
      const sigmaNext = sigmas[i + 1];
      release(denoised);
      denoised = model(x, sigma);
      const dt = sigmaNext - sigma;
      const current = x;
      const d0 = denoised;
      const next = tf.tidy(() => {
        const d = toD(current, d0, sigma);
        const euler = combine([1, current], [dt, d]);
        if (sigmaNext === 0) return euler;
        const d2 = toD(euler, model(euler, sigmaNext), sigmaNext);
        return combine([1, current], [dt / 2, d], [dt / 2, d2]);
      });
      x.dispose();
      x = next;
      yield stepRecord(i, sigma, sigmaNext, x, denoised, i === n - 1);
    }
    return tf.clone(x);
  } finally {
    release(x, denoised);
  }
}

/**
 * **Heun** (`sample_heun`, diffusers `HeunDiscreteScheduler`): second order,
 * 2 NFE per step (1 on the last), deterministic.
 *
 * @example
 * ```ts
 * const x0 = heun.sample(denoiser, xT, sigmas);
 * ```
 */
export const heun = defineSampler<HeunOptions>(
  {
    name: 'heun',
    aliases: ['Heun', 'k_heun', 'sample_heun', 'HeunDiscreteScheduler'],
    paper: 'Karras et al. 2022, arXiv 2206.00364, Alg. 1',
    stochastic: false,
    order: 2,
    nfePerStep: 2,
  },
  heunProgram,
);
