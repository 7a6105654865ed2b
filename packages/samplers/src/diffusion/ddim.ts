import type { Denoiser, SamplerOptions } from '@sculpt/core';
import * as tf from '@tensorflow/tfjs-core';
import { defineSampler } from './define.js';
import {
  addNoise,
  bindDenoiser,
  combine,
  numberOption,
  release,
  requireRng,
  stepRecord,
} from './util.js';

/** Options of {@link ddim}. */
export interface DdimOptions extends SamplerOptions {
  /** DDIM's η: 0 is deterministic (default), 1 gives DDPM's posterior noise. η > 0 needs `rng`. */
  eta?: number;
}

/**
 * DDIM (Song, Meng, Ermon 2021, eq. 12) written in σ form. With
 * x̃ = x_t/√ᾱ_t = x₀ + σ_t ε and σ_t = √((1 − ᾱ_t)/ᾱ_t):
 *
 *   x̃' = x̂₀ + √(σ'² − s²)·ε̂ + s·z,  ε̂ = (x̃ − x̂₀)/σ,
 *   s² = η²·σ'²(σ² − σ'²)/σ²  (= σ_η(t)²/ᾱ_{t'} of the paper).
 *
 * η = 0 is the same update as Euler in σ (DDIM's known ODE reading).
 */
function* ddimProgram(
  denoiser: Denoiser,
  xT: tf.Tensor,
  sigmas: Float32Array,
  options: DdimOptions,
) {
  const eta = numberOption('ddim', options, 'eta', 0);
  const rng = eta > 0 ? requireRng('ddim', options) : undefined;
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
      const s = eta * Math.sqrt((sigmaNext ** 2 * (sigma ** 2 - sigmaNext ** 2)) / sigma ** 2);
      // x̂₀ + c·ε̂ with ε̂ = (x̃ − x̂₀)/σ, c = √(σ'² − s²)
      const c = Math.sqrt(Math.max(0, sigmaNext ** 2 - s ** 2)) / sigma;
      const stepped = combine([c, x], [1 - c, denoised]);
      const next = rng && s > 0 ? addNoise(stepped, rng, s) : tf.clone(stepped);
      stepped.dispose();
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
 * **DDIM** (diffusers `DDIMScheduler`) in σ form, so it takes any denoiser and
 * any sigmas: deterministic with the default η = 0, first order, 1 NFE per step.
 * To sample a discrete-time model, pass its sigmas (`discreteSigmas`) and an
 * eps-prediction wrapper as the denoiser.
 *
 * @example
 * ```ts
 * const x0 = ddim.sample(denoiser, xT, sigmas, { eta: 0 });
 * ```
 */
export const ddim = defineSampler<DdimOptions>(
  {
    name: 'ddim',
    aliases: ['DDIM', 'DDIMScheduler'],
    paper: 'Song, Meng, Ermon 2021, Denoising Diffusion Implicit Models, arXiv 2010.02502, eq. 12',
    stochastic: false,
    order: 1,
    nfePerStep: 1,
  },
  ddimProgram,
);
