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
  toD,
} from './util.js';

/** Options of {@link dpm2Ancestral}. */
export interface Dpm2AncestralOptions extends SamplerOptions {
  /** Share of fresh noise per step. Default 1. */
  eta?: number;
  /** Scale of the fresh noise. Default 1. */
  noiseScale?: number;
}

/**
 * Ancestral DPM2 (k-diffusion `sample_dpm_2_ancestral`): the DPM2 midpoint
 * step down to σ_down (midpoint √(σ·σ_down)), then noise of std σ_up.
 */
function* dpm2AncestralProgram(
  denoiser: Denoiser,
  xT: tf.Tensor,
  sigmas: Float32Array,
  options: Dpm2AncestralOptions,
) {
  const eta = numberOption('dpm2-ancestral', options, 'eta', 1);
  const noiseScale = numberOption('dpm2-ancestral', options, 'noiseScale', 1);
  const rng = requireRng('dpm2-ancestral', options);
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
        const d = toD(current, d0, sigma);
        if (sigmaDown === 0) return combine([1, current], [-sigma, d]);
        const sigmaMid = Math.exp(0.5 * (Math.log(sigma) + Math.log(sigmaDown)));
        const xMid = combine([1, current], [sigmaMid - sigma, d]);
        const dMid = toD(xMid, model(xMid, sigmaMid), sigmaMid);
        return combine([1, current], [sigmaDown - sigma, dMid]);
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
 * **DPM2 ancestral** (`sample_dpm_2_ancestral`, diffusers
 * `KDPM2AncestralDiscreteScheduler`, A1111 "DPM2 a"): stochastic, 2 NFE per
 * step. Needs `options.rng`.
 *
 * @example
 * ```ts
 * const x0 = dpm2Ancestral.sample(denoiser, xT, sigmas, { rng: new Rng(1) });
 * ```
 */
export const dpm2Ancestral = defineSampler<Dpm2AncestralOptions>(
  {
    name: 'dpm2-ancestral',
    aliases: [
      'DPM2 a',
      'dpm_2_ancestral',
      'k_dpm_2_a',
      'sample_dpm_2_ancestral',
      'KDPM2AncestralDiscreteScheduler',
    ],
    paper: 'Crowson, k-diffusion (sample_dpm_2_ancestral), after Lu et al. 2022, arXiv 2206.00927',
    stochastic: true,
    order: 0,
    nfePerStep: 2,
  },
  dpm2AncestralProgram,
);
