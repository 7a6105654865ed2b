import type { Denoiser, SamplerOptions } from '@sculpt/core';
import * as tf from '@tensorflow/tfjs-core';
import { defineSampler } from './define.js';
import { bindDenoiser, combine, release, stepRecord, toD } from './util.js';

/** Options of {@link dpm2} (none beyond the shared ones). */
export type Dpm2Options = SamplerOptions;

/**
 * DPM-Solver-2 in σ (k-diffusion `sample_dpm_2`): a midpoint method with the
 * midpoint taken in log σ, σ_m = √(σ·σ_next); x_m = x + (σ_m − σ)·d,
 * x_next = x + (σ_next − σ)·d(x_m, σ_m). Euler on the last step.
 */
function* dpm2Program(
  denoiser: Denoiser,
  xT: tf.Tensor,
  sigmas: Float32Array,
  options: Dpm2Options,
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
      const current = x;
      const d0 = denoised;
      const next = tf.tidy(() => {
        const d = toD(current, d0, sigma);
        if (sigmaNext === 0) return combine([1, current], [sigmaNext - sigma, d]);
        const sigmaMid = Math.exp(0.5 * (Math.log(sigma) + Math.log(sigmaNext)));
        const xMid = combine([1, current], [sigmaMid - sigma, d]);
        const dMid = toD(xMid, model(xMid, sigmaMid), sigmaMid);
        return combine([1, current], [sigmaNext - sigma, dMid]);
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
 * **DPM2** (`sample_dpm_2`, diffusers `KDPM2DiscreteScheduler`): second
 * order, 2 NFE per step (1 on the last), deterministic.
 *
 * @example
 * ```ts
 * const x0 = dpm2.sample(denoiser, xT, sigmas);
 * ```
 */
export const dpm2 = defineSampler<Dpm2Options>(
  {
    name: 'dpm2',
    aliases: ['DPM2', 'dpm_2', 'k_dpm_2', 'sample_dpm_2', 'KDPM2DiscreteScheduler'],
    paper:
      'Crowson, k-diffusion (sample_dpm_2), after Lu et al. 2022, DPM-Solver, arXiv 2206.00927',
    stochastic: false,
    order: 2,
    nfePerStep: 2,
  },
  dpm2Program,
);
