import type { Denoiser, SamplerOptions } from '@sculpt/core';
import * as tf from '@tensorflow/tfjs-core';
import { defineSampler } from './define.js';
import {
  ancestralStep,
  bindDenoiser,
  combine,
  numberOption,
  release,
  requireRng,
  stepRecord,
} from './util.js';

/** Options of {@link dpmppSde}. */
export interface DpmppSdeOptions extends SamplerOptions {
  /** Share of fresh noise per stage. Default 1. */
  eta?: number;
  /** Scale of the fresh noise. Default 1. */
  noiseScale?: number;
  /** Position of the intermediate stage in t = −ln σ, as a share of the step. Default 1/2. */
  r?: number;
}

/**
 * Stochastic DPM-Solver++ (k-diffusion `sample_dpmpp_sde`): a two-stage step
 * in t = −ln σ (s = t + r·h), each stage an ancestral DPM++ update, and the
 * second stage using D_d = (1 − 1/(2r))·D + (1/(2r))·D(x₂, σ_s).
 *
 * Noise: k-diffusion draws it from a Brownian tree over σ. Here the two
 * stages of a step draw z₁, z₂ from `options.rng` and combine them as the
 * Brownian increments W(σ_s) − W(σ) and W(σ_next) − W(σ) of one path, so the
 * two noises of a step are correlated exactly as in k-diffusion; increments
 * of different steps are independent, as in any Brownian path. (Unlike a
 * Brownian tree, the path is not shared across different step counts.)
 */
function* dpmppSdeProgram(
  denoiser: Denoiser,
  xT: tf.Tensor,
  sigmas: Float32Array,
  options: DpmppSdeOptions,
) {
  const eta = numberOption('dpmpp-sde', options, 'eta', 1);
  const noiseScale = numberOption('dpmpp-sde', options, 'noiseScale', 1);
  const r = numberOption('dpmpp-sde', options, 'r', 0.5, 1e-3);
  const rng = requireRng('dpmpp-sde', options);
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
      const next =
        sigmaNext === 0
          ? tf.clone(d0)
          : tf.tidy(() => {
              const h = Math.log(sigma) - Math.log(sigmaNext);
              const sigmaS = sigma * Math.exp(-r * h);
              const fac = 1 / (2 * r);
              const z1 = rng.normal(current.shape);
              const z2 = rng.normal(current.shape);
              // Stage 1: ancestral DPM++ step σ → σ_s.
              const a1 = ancestralStep(sigma, sigmaS, eta);
              const x2 = combine(
                [a1.sigmaDown / sigma, current],
                [1 - a1.sigmaDown / sigma, d0],
                [noiseScale * a1.sigmaUp, z1],
              );
              const dMid = model(x2, sigmaS);
              // Stage 2: ancestral DPM++ step σ → σ_next with the blended denoised.
              const a2 = ancestralStep(sigma, sigmaNext, eta);
              const span = Math.sqrt(sigma - sigmaNext);
              const w1 = Math.sqrt(sigma - sigmaS) / span;
              const w2 = Math.sqrt(sigmaS - sigmaNext) / span;
              const c = 1 - a2.sigmaDown / sigma;
              return combine(
                [a2.sigmaDown / sigma, current],
                [c * (1 - fac), d0],
                [c * fac, dMid],
                [noiseScale * a2.sigmaUp * w1, z1],
                [noiseScale * a2.sigmaUp * w2, z2],
              );
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
 * **DPM++ SDE** (`sample_dpmpp_sde`, diffusers `DPMSolverSDEScheduler`,
 * A1111 "DPM++ SDE"): stochastic, 2 NFE per step (1 on the last). Needs
 * `options.rng`; see the program's notes on how its Brownian noise is drawn.
 *
 * @example
 * ```ts
 * const x0 = dpmppSde.sample(denoiser, xT, sigmas, { rng: new Rng(5) });
 * ```
 */
export const dpmppSde = defineSampler<DpmppSdeOptions>(
  {
    name: 'dpmpp-sde',
    aliases: [
      'DPM++ SDE',
      'DPM++ SDE Karras',
      'dpmpp_sde',
      'k_dpmpp_sde',
      'sample_dpmpp_sde',
      'DPMSolverSDEScheduler',
    ],
    paper:
      'Lu et al. 2022, DPM-Solver++, arXiv 2211.01095; stochastic form from k-diffusion (sample_dpmpp_sde)',
    stochastic: true,
    order: 0,
    nfePerStep: 2,
  },
  dpmppSdeProgram,
);
