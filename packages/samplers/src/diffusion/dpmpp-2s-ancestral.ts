import type { Denoiser, SamplerOptions } from '@sculpt/core';
import * as tf from '@tensorflow/tfjs-core';
import { defineSampler } from './define.js';
import {
  addNoise,
  ancestralStep,
  bindDenoiser,
  combine,
  numberOption,
  release,
  requireRng,
  stepRecord,
} from './util.js';

/** Options of {@link dpmpp2sAncestral}. */
export interface Dpmpp2sAncestralOptions extends SamplerOptions {
  /** Share of fresh noise per step. Default 1. */
  eta?: number;
  /** Scale of the fresh noise. Default 1. */
  noiseScale?: number;
}

/**
 * Ancestral DPM-Solver++(2S) (k-diffusion `sample_dpmpp_2s_ancestral`).
 * t = −ln σ, target t_next = −ln σ_down, h = t_next − t, s = t + h/2:
 *
 *   x₂ = (σ_s/σ)·x − (e^{−h/2} − 1)·D(x, σ)
 *   x ← (σ_down/σ)·x − (e^{−h} − 1)·D(x₂, σ_s) + σ_up·z
 */
function* dpmpp2sAncestralProgram(
  denoiser: Denoiser,
  xT: tf.Tensor,
  sigmas: Float32Array,
  options: Dpmpp2sAncestralOptions,
) {
  const eta = numberOption('dpmpp-2s-ancestral', options, 'eta', 1);
  const noiseScale = numberOption('dpmpp-2s-ancestral', options, 'noiseScale', 1);
  const rng = requireRng('dpmpp-2s-ancestral', options);
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
      const { sigmaDown, sigmaUp } = ancestralStep(sigma, sigmaNext, eta);
      const current = x;
      const d0 = denoised;
      const stepped = tf.tidy(() => {
        if (sigmaDown === 0) return tf.clone(d0); // Euler to σ = 0 lands on D
        const h = Math.log(sigma) - Math.log(sigmaDown);
        const sigmaS = Math.exp(-(-Math.log(sigma) + h / 2));
        const x2 = combine([sigmaS / sigma, current], [-Math.expm1(-h / 2), d0]);
        return combine([sigmaDown / sigma, current], [-Math.expm1(-h), model(x2, sigmaS)]);
      });
      const next = sigmaUp > 0 ? addNoise(stepped, rng, noiseScale * sigmaUp) : tf.clone(stepped);
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
 * **DPM++ 2S ancestral** (`sample_dpmpp_2s_ancestral`, A1111 "DPM++ 2S a"):
 * stochastic, 2 NFE per step. Needs `options.rng`.
 *
 * @example
 * ```ts
 * const x0 = dpmpp2sAncestral.sample(denoiser, xT, sigmas, { rng: new Rng(3) });
 * ```
 */
export const dpmpp2sAncestral = defineSampler<Dpmpp2sAncestralOptions>(
  {
    name: 'dpmpp-2s-ancestral',
    aliases: [
      'DPM++ 2S a',
      'DPM++ 2S a Karras',
      'dpmpp_2s_ancestral',
      'k_dpmpp_2s_a',
      'sample_dpmpp_2s_ancestral',
    ],
    paper: 'Lu et al. 2022, DPM-Solver++, arXiv 2211.01095; ancestral form from k-diffusion',
    stochastic: true,
    order: 0,
    nfePerStep: 2,
  },
  dpmpp2sAncestralProgram,
);
