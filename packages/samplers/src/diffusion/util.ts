/**
 * Helpers shared by the sampler files. Notation (k-diffusion / EDM, Karras et
 * al. 2022): x = x₀ + σε; D(x; σ) is the denoiser; d = (x − D)/σ is the
 * probability-flow ODE slope dx/dσ; t = −ln σ and h = t_next − t (DPM-Solver).
 */
import {
  type Conditioning,
  type Denoiser,
  type Rng,
  type SamplerOptions,
  SculptError,
} from '@sculpt/core';
import * as tf from '@tensorflow/tfjs-core';
import type { DiffusionStep } from './types.js';

/** `(x, σ) → D(x; σ)` with σ a CPU number, broadcast to `[B]`. The caller owns the result. */
export type Model = (x: tf.Tensor, sigma: number) => tf.Tensor;

/** Binds a denoiser and its conditioning; each call tidies the `[B]` sigma tensor it makes. */
export function bindDenoiser(denoiser: Denoiser, cond: Conditioning | undefined): Model {
  return (x, sigma) =>
    tf.tidy(() => denoiser(x, tf.fill([x.shape[0]], sigma, 'float32') as tf.Tensor1D, cond));
}

/** Σ cᵢ·tᵢ, tidied. Coefficients are CPU numbers (no GPU read). The caller owns the result. */
export function combine(...terms: [number, tf.Tensor][]): tf.Tensor {
  return tf.tidy(() => {
    let acc = tf.mul(terms[0][1], terms[0][0]);
    for (let k = 1; k < terms.length; k++) acc = tf.add(acc, tf.mul(terms[k][1], terms[k][0]));
    return acc;
  });
}

/** The ODE slope d = (x − D)/σ (Karras et al. 2022, eq. 3 with σ(t) = t). The caller owns it. */
export function toD(x: tf.Tensor, denoised: tf.Tensor, sigma: number): tf.Tensor {
  return tf.tidy(() => tf.div(tf.sub(x, denoised), sigma));
}

/** The options' `rng`, or a SculptError naming the sampler when a stochastic sampler has none. */
export function requireRng(where: string, options: SamplerOptions): Rng {
  const rng = options.rng;
  if (!rng || typeof (rng as Rng).normal !== 'function') {
    throw new SculptError(
      where,
      'a stochastic sampler needs options.rng',
      `got ${rng === undefined ? 'none' : typeof rng}`,
      'pass { rng: new Rng(seed) }',
    );
  }
  return rng;
}

/** x + scale·z with z ~ N(0, I) from `rng`. The caller owns the result. */
export function addNoise(x: tf.Tensor, rng: Rng, scale: number): tf.Tensor {
  return tf.tidy(() => tf.add(x, tf.mul(rng.normal(x.shape), scale)));
}

/**
 * Splits a step σ → σ_next into a deterministic part down to σ_down and fresh
 * noise of std σ_up, with σ_down² + σ_up² = σ_next² (k-diffusion
 * `get_ancestral_step`; `eta = 1` is the DDPM posterior).
 */
export function ancestralStep(
  sigma: number,
  sigmaNext: number,
  eta: number,
): { sigmaDown: number; sigmaUp: number } {
  if (eta === 0 || sigmaNext === 0) return { sigmaDown: sigmaNext, sigmaUp: 0 };
  const up = Math.min(
    sigmaNext,
    eta * Math.sqrt((sigmaNext ** 2 * (sigma ** 2 - sigmaNext ** 2)) / sigma ** 2),
  );
  return { sigmaDown: Math.sqrt(Math.max(0, sigmaNext ** 2 - up ** 2)), sigmaUp: up };
}

/** Reads a non-negative numeric option with a default, or throws naming the option. */
export function numberOption(
  where: string,
  options: SamplerOptions,
  key: string,
  fallback: number,
  min = 0,
): number {
  const v = options[key];
  if (v === undefined) return fallback;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min) {
    throw new SculptError(
      where,
      `options.${key} must be a finite number ≥ ${min}`,
      `got ${String(v)}`,
    );
  }
  return v;
}

/** Builds the step record a program yields. */
export function stepRecord(
  i: number,
  sigma: number,
  sigmaNext: number,
  x: tf.Tensor,
  denoised: tf.Tensor,
  last: boolean,
): DiffusionStep {
  return { i, sigma, sigmaNext, x, denoised, last };
}

/** Disposes the tensors given, skipping `undefined`. */
export function release(...tensors: (tf.Tensor | undefined)[]): void {
  for (const t of tensors) t?.dispose();
}
