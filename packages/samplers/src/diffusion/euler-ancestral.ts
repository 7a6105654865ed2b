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

/** Options of {@link eulerAncestral}. */
export interface EulerAncestralOptions extends SamplerOptions {
  /** Share of fresh noise per step: 1 is the DDPM posterior, 0 is plain Euler. Default 1. */
  eta?: number;
  /** S_noise: scale of the fresh noise. Default 1. */
  noiseScale?: number;
}

/**
 * Ancestral Euler (k-diffusion `sample_euler_ancestral`): an Euler step down
 * to σ_down, then fresh noise of std σ_up, σ_down² + σ_up² = σ_next².
 */
function* eulerAncestralProgram(
  denoiser: Denoiser,
  xT: tf.Tensor,
  sigmas: Float32Array,
  options: EulerAncestralOptions,
) {
  const eta = numberOption('euler-ancestral', options, 'eta', 1);
  const noiseScale = numberOption('euler-ancestral', options, 'noiseScale', 1);
  const rng = requireRng('euler-ancestral', options);
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
      const ratio = sigmaDown / sigma;
      const stepped = combine([ratio, x], [1 - ratio, denoised]);
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
 * **Euler ancestral** (`sample_euler_ancestral`, diffusers
 * `EulerAncestralDiscreteScheduler`, A1111 "Euler a"): stochastic, 1 NFE per
 * step. Needs `options.rng`.
 *
 * @example
 * ```ts
 * const x0 = eulerAncestral.sample(denoiser, xT, sigmas, { rng: new Rng(0) });
 * ```
 */
export const eulerAncestral = defineSampler<EulerAncestralOptions>(
  {
    name: 'euler-ancestral',
    aliases: [
      'Euler a',
      'euler_ancestral',
      'k_euler_a',
      'k_euler_ancestral',
      'sample_euler_ancestral',
      'EulerAncestralDiscreteScheduler',
    ],
    paper:
      'Crowson, k-diffusion (sample_euler_ancestral); ancestral step after Ho et al. 2020, arXiv 2006.11239',
    stochastic: true,
    order: 0,
    nfePerStep: 1,
  },
  eulerAncestralProgram,
);
