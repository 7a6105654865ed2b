// The forward process q(x_t | x₀) and the model's x̂₀ at any step, for
// visualising diffusion (the docs' interactive denoising demo runs these in
// the browser: pure tfjs, no Node imports).
//
// Notation (DDPM, Ho et al. 2020, eq. 4): q(x_t | x₀) = N(√ᾱ_t x₀, (1−ᾱ_t) I);
// σ_t = √((1−ᾱ_t)/ᾱ_t) is the same noise level in the k-diffusion convention
// (x = x₀ + σε = x_t / √ᾱ_t).
import { type NoiseSchedule, SculptError } from '@sculpt/core';
import { classifierFreeGuidance } from '@sculpt/samplers';
import * as tf from '@tensorflow/tfjs-core';
import type { DiffusionModel } from './model.js';

/** The closed form of q(x_t | x₀) at one step. */
export interface ForwardMoments {
  /** √ᾱ_t: the mean is `signalScale · x₀`. */
  signalScale: number;
  /** √(1−ᾱ_t): the standard deviation. */
  noiseScale: number;
  /** σ_t = noiseScale / signalScale. */
  sigma: number;
}

function checkStep(where: string, schedule: NoiseSchedule, step: number): void {
  const T = schedule.numTrainTimesteps;
  if (!(Number.isInteger(step) && step >= 0 && step < T)) {
    throw new SculptError(where, `expected step to be an integer in [0, ${T - 1}]`, `got ${step}`);
  }
}

/**
 * Mean scale and standard deviation of q(x_t | x₀) at `step` (0 = least noise).
 * @returns plain numbers.
 * @example
 * ```ts
 * forwardMoments(model.schedule, 999); // { signalScale: 0.006, noiseScale: 0.99998, sigma: 157 }
 * ```
 */
export function forwardMoments(schedule: NoiseSchedule, step: number): ForwardMoments {
  checkStep('forwardMoments', schedule, step);
  const a = schedule.alphasCumprod[step];
  return { signalScale: Math.sqrt(a), noiseScale: Math.sqrt(1 - a), sigma: schedule.sigmas[step] };
}

/**
 * A draw from q(x_t | x₀): `√ᾱ_t x₀ + √(1−ᾱ_t) ε` with the given noise
 * (so one ε can be swept over all steps for a smooth animation).
 * @param options - `schedule`, `x0` ([N, H, W, C] in [−1, 1]), `step`, `noise` (same shape as x0).
 * @returns x_t; the caller owns it (inputs are not disposed).
 * @example
 * ```ts
 * const eps = new Rng(0).normal(x0.shape);
 * const xt = qSample({ schedule: model.schedule, x0, step: 400, noise: eps });
 * ```
 */
export function qSample(options: {
  schedule: NoiseSchedule;
  x0: tf.Tensor;
  step: number;
  noise: tf.Tensor;
}): tf.Tensor {
  const { schedule, x0, step, noise } = options;
  const m = forwardMoments(schedule, step);
  if (x0.shape.join(',') !== noise.shape.join(',')) {
    throw new SculptError(
      'qSample',
      'expected noise with the shape of x0',
      `got ${noise.shape} vs ${x0.shape}`,
    );
  }
  return tf.tidy(() => tf.add(tf.mul(x0, m.signalScale), tf.mul(noise, m.noiseScale)));
}

/**
 * The model's estimate x̂₀ from a (VP-scaled) x_t at `step`, optionally
 * class-conditional with classifier-free guidance.
 * @param options - `xt` [N, H, W, C], `step`, `labels` (one per image), `guidanceScale` (default 1).
 * @returns x̂₀ `[N, H, W, C]` (not clipped); the caller owns it.
 * @example
 * ```ts
 * const x0hat = predictX0(model, { xt, step: 400, labels: [7], guidanceScale: 3 });
 * ```
 */
export function predictX0(
  model: DiffusionModel,
  options: { xt: tf.Tensor; step: number; labels?: ArrayLike<number>; guidanceScale?: number },
): tf.Tensor {
  const where = 'predictX0';
  const { xt, step, guidanceScale = 1 } = options;
  model.checkImages(where, xt);
  const m = forwardMoments(model.schedule, step);
  const n = xt.shape[0];
  const labels =
    options.labels === undefined ? undefined : model.checkLabels(where, options.labels, n);
  if (guidanceScale !== 1 && !labels)
    throw new SculptError(where, 'expected labels with guidanceScale ≠ 1', 'got none');
  return tf.tidy(() => {
    const cond = labels ? { labels: tf.tensor1d(labels, 'int32') } : undefined;
    const denoiser =
      guidanceScale === 1 || !labels
        ? model.denoiser
        : classifierFreeGuidance(model.denoiser, {
            guidanceScale,
            uncond: { labels: tf.fill([n], model.numClasses, 'int32') as tf.Tensor1D },
          });
    return denoiser(tf.div(xt, m.signalScale), tf.fill([n], m.sigma) as tf.Tensor1D, cond);
  });
}
