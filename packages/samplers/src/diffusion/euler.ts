import type { Denoiser, Rng, SamplerOptions } from '@sculpt/core';
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

/** Options of {@link euler}. */
export interface EulerOptions extends SamplerOptions {
  /** Karras et al.'s S_churn: total churn spread over the steps. Default 0 (deterministic; > 0 needs `rng`). */
  churn?: number;
  /** Churn only where σ ≥ churnSigmaMin. Default 0. */
  churnSigmaMin?: number;
  /** Churn only where σ ≤ churnSigmaMax. Default ∞. */
  churnSigmaMax?: number;
  /** S_noise: scale of the churn noise. Default 1. */
  noiseScale?: number;
}

/**
 * Euler's method on the probability-flow ODE dx/dσ = (x − D)/σ, with
 * optional "churn" (Karras et al. 2022, Alg. 2): σ̂ = σ(1 + γ),
 * x ← x + √(σ̂² − σ²)·z, then x_{i+1} = x + (σ_{i+1} − σ̂)·d(x, σ̂).
 */
function* eulerProgram(
  denoiser: Denoiser,
  xT: tf.Tensor,
  sigmas: Float32Array,
  options: EulerOptions,
) {
  const churn = numberOption('euler', options, 'churn', 0);
  const sigmaMinChurn = numberOption('euler', options, 'churnSigmaMin', 0);
  const sigmaMaxChurn = numberOption('euler', options, 'churnSigmaMax', Number.POSITIVE_INFINITY);
  const noiseScale = numberOption('euler', options, 'noiseScale', 1);
  const rng: Rng | undefined = churn > 0 ? requireRng('euler', options) : undefined;
  const model = bindDenoiser(denoiser, options.cond);
  const n = sigmas.length - 1;
  let x = tf.clone(xT);
  let denoised: tf.Tensor | undefined;
  try {
    for (let i = 0; i < n; i++) {
      const sigma = sigmas[i];
      const sigmaNext = sigmas[i + 1];
      const inRange = sigma >= sigmaMinChurn && sigma <= sigmaMaxChurn;
      const gamma = rng && inRange ? Math.min(churn / n, Math.SQRT2 - 1) : 0;
      const sigmaHat = sigma * (1 + gamma);
      if (rng && gamma > 0) {
        const churned = addNoise(x, rng, noiseScale * Math.sqrt(sigmaHat ** 2 - sigma ** 2));
        x.dispose();
        x = churned;
      }
      release(denoised);
      denoised = model(x, sigmaHat);
      // x + (σ_next − σ̂)(x − D)/σ̂ = (σ_next/σ̂)·x + (1 − σ_next/σ̂)·D
      const ratio = sigmaNext / sigmaHat;
      const next = combine([ratio, x], [1 - ratio, denoised]);
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
 * **Euler** (`sample_euler`, diffusers `EulerDiscreteScheduler`): first-order,
 * 1 NFE per step, deterministic unless `churn > 0`.
 *
 * @example
 * ```ts
 * const x0 = euler.sample(denoiser, xT, karrasSigmas({ numSteps: 30, sigmaMin: 0.03, sigmaMax: 14.6 }));
 * ```
 */
export const euler = defineSampler<EulerOptions>(
  {
    name: 'euler',
    aliases: ['Euler', 'k_euler', 'sample_euler', 'EulerDiscreteScheduler'],
    paper:
      'Karras et al. 2022, Elucidating the Design Space of Diffusion-Based Generative Models, arXiv 2206.00364, Alg. 2',
    stochastic: false,
    order: 1,
    nfePerStep: 1,
  },
  eulerProgram,
);
