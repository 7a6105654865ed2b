import { type Denoiser, type SamplerOptions, SculptError } from '@sculpt/core';
import * as tf from '@tensorflow/tfjs-core';
import { defineSampler } from './define.js';
import { addNoise, bindDenoiser, combine, release, requireRng, stepRecord } from './util.js';

/** Options of {@link ddpm}. */
export interface DdpmOptions extends SamplerOptions {
  /**
   * Variance of the reverse step: `'posterior'` β̃_t = β_t(1 − ᾱ_{t−1})/(1 − ᾱ_t)
   * (diffusers `fixed_small`, default) or `'beta'` β_t (`fixed_large`).
   */
  variance?: 'posterior' | 'beta';
}

/**
 * DDPM ancestral sampling (Ho et al. 2020, eqs. 6–7 and Alg. 2) in σ form.
 * Between two noise levels σ > σ' (ᾱ = 1/(1 + σ²), α_t = ᾱ/ᾱ', β_t = 1 − α_t)
 * the posterior q(x_{t'} | x_t, x̂₀), divided by √ᾱ', is
 *
 *   x̃' = (σ'²/σ²)·x̃ + (1 − σ'²/σ²)·x̂₀ + s·z,
 *   s² = β̃_t/ᾱ' = σ'²(σ² − σ'²)/σ²   or   s² = β_t/ᾱ' = (σ² − σ'²)(1 + σ'²)/(1 + σ²).
 */
function* ddpmProgram(
  denoiser: Denoiser,
  xT: tf.Tensor,
  sigmas: Float32Array,
  options: DdpmOptions,
) {
  const variance = options.variance ?? 'posterior';
  if (variance !== 'posterior' && variance !== 'beta') {
    throw new SculptError(
      'ddpm',
      "options.variance must be 'posterior' or 'beta'",
      `got ${String(variance)}`,
    );
  }
  const rng = requireRng('ddpm', options);
  const model = bindDenoiser(denoiser, options.cond);
  const n = sigmas.length - 1;
  let x = tf.clone(xT);
  let denoised: tf.Tensor | undefined;
  try {
    for (let i = 0; i < n; i++) {
      const s2 = sigmas[i] ** 2;
      const next2 = sigmas[i + 1] ** 2;
      release(denoised);
      denoised = model(x, sigmas[i]);
      const keep = next2 / s2; // coefficient of x̃ in the posterior mean
      const mean = combine([keep, x], [1 - keep, denoised]);
      const std =
        next2 === 0
          ? 0
          : Math.sqrt(
              variance === 'posterior'
                ? (next2 * (s2 - next2)) / s2
                : ((s2 - next2) * (1 + next2)) / (1 + s2),
            );
      const next = std > 0 ? addNoise(mean, rng, std) : tf.clone(mean);
      mean.dispose();
      x.dispose();
      x = next;
      yield stepRecord(i, sigmas[i], sigmas[i + 1], x, denoised, i === n - 1);
    }
    return tf.clone(x);
  } finally {
    release(x, denoised);
  }
}

/**
 * **DDPM** ancestral sampling (diffusers `DDPMScheduler`) in σ form:
 * stochastic, 1 NFE per step. Needs `options.rng`.
 *
 * @example
 * ```ts
 * const x0 = ddpm.sample(denoiser, xT, sigmas, { rng: new Rng(7) });
 * ```
 */
export const ddpm = defineSampler<DdpmOptions>(
  {
    name: 'ddpm',
    aliases: ['DDPM', 'DDPMScheduler'],
    paper:
      'Ho, Jain, Abbeel 2020, Denoising Diffusion Probabilistic Models, arXiv 2006.11239, Alg. 2',
    stochastic: true,
    order: 0,
    nfePerStep: 1,
  },
  ddpmProgram,
);
