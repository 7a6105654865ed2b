/**
 * The measurements the conformance suite and `scripts/conformance-table.ts`
 * share: convergence to the probability-flow ODE solution for deterministic
 * samplers, and distribution moments for stochastic ones.
 */
import { type Denoiser, karrasSigmas, Rng } from '@sculpt/core';
import * as tf from '@tensorflow/tfjs-core';
import type { DiffusionSampler } from '../diffusion/types.js';
import {
  DEFAULT_MIXTURE,
  fitMixture,
  type GaussianMixture,
  gaussianMixtureDenoiser,
  type MixtureFit,
  probabilityFlowReference,
} from './gaussian-mixture.js';

/** The sigma range the suite samples over (EDM defaults). */
export const SUITE_SIGMA_MAX = 80;
/** Smallest non-zero sigma of the suite's schedules. */
export const SUITE_SIGMA_MIN = 0.002;

/**
 * The suite's schedule: Karras et al. 2022 sigmas (ρ = 7) from σ_max to σ_min, then 0.
 * @example
 * ```ts
 * suiteSigmas(20); // Float32Array(21) [80, …, 0.002, 0]
 * ```
 */
export function suiteSigmas(
  numSteps: number,
  sigmaMin = SUITE_SIGMA_MIN,
  sigmaMax = SUITE_SIGMA_MAX,
): Float32Array {
  return karrasSigmas({ numSteps, sigmaMin, sigmaMax });
}

/** Options of {@link convergence}. */
export interface ConvergenceOptions {
  /** Step counts to measure. Default [5, 10, 20, 50]. */
  stepCounts?: readonly number[];
  /** Step counts the order is fitted on (a subset of stepCounts). Default: all of them. */
  fitOn?: readonly number[];
  /** Start points. Default 64. */
  numSamples?: number;
  /** Seed of the start points. Default 0. */
  seed?: number;
  /** Mixture. Default {@link DEFAULT_MIXTURE}. */
  mixture?: GaussianMixture;
  /** Smallest non-zero sigma. Default {@link SUITE_SIGMA_MIN}. */
  sigmaMin?: number;
  /** Largest sigma (start points are N(0, sigmaMax²)). Default {@link SUITE_SIGMA_MAX}. */
  sigmaMax?: number;
  /** Extra sampler options (e.g. `{ eta: 0 }` to check an SDE sampler's ODE limit). */
  samplerOptions?: Record<string, unknown>;
}

/** Result of {@link convergence}. */
export interface ConvergenceReport {
  stepCounts: number[];
  /** RMS distance (over points, Euclidean over dimensions) to the ODE reference, per step count. */
  errors: number[];
  /** NFE per run, per step count. */
  nfe: number[];
  /** −slope of log error against log steps, least squares over `fitOn`. */
  order: number;
}

/**
 * Least-squares slope of y against x (the order is −slope of log error against log steps).
 * @example
 * ```ts
 * slope([0, 1, 2], [1, 3, 5]); // 2
 * ```
 */
export function slope(x: readonly number[], y: readonly number[]): number {
  const mx = x.reduce((a, b) => a + b, 0) / x.length;
  const my = y.reduce((a, b) => a + b, 0) / y.length;
  let num = 0;
  let den = 0;
  for (let i = 0; i < x.length; i++) {
    num += (x[i] - mx) * (y[i] - my);
    den += (x[i] - mx) ** 2;
  }
  return num / den;
}

/** Counts denoiser calls (one per batch call). */
function counting(denoiser: ReturnType<typeof gaussianMixtureDenoiser>) {
  const state = { calls: 0 };
  const wrapped: typeof denoiser = (x, sigma, cond) => {
    state.calls++;
    return denoiser(x, sigma, cond);
  };
  return { wrapped, state };
}

/**
 * Runs `sampler` from the same start points at several step counts and
 * compares each result with an accurate float64 solution of the
 * probability-flow ODE (RK4 in ln σ, {@link probabilityFlowReference}).
 *
 * @param sampler - a registered sampler (deterministic, or with `samplerOptions` that make it so).
 * @param options - step counts (default 5/10/20/50), the counts the order is fitted on, points (64), seed, mixture, σ range.
 * @returns plain numbers: RMS errors, NFE per run, fitted order.
 * @example
 * ```ts
 * const { errors, order } = await convergence(getSampler('heun'), { stepCounts: [50, 100, 200] });
 * ```
 */
export async function convergence(
  sampler: DiffusionSampler,
  options: ConvergenceOptions = {},
): Promise<ConvergenceReport> {
  const {
    stepCounts = [5, 10, 20, 50],
    numSamples = 64,
    seed = 0,
    mixture = DEFAULT_MIXTURE,
  } = options;
  const { sigmaMin = SUITE_SIGMA_MIN, sigmaMax = SUITE_SIGMA_MAX } = options;
  const fitOn = options.fitOn ?? stepCounts;
  const d = mixture.means[0].length;
  const start = new Rng(seed).normalArray(numSamples * d, 0, sigmaMax);
  const reference = probabilityFlowReference(mixture, Float64Array.from(start), sigmaMax);
  const { wrapped, state } = counting(gaussianMixtureDenoiser(mixture));
  const errors: number[] = [];
  const nfe: number[] = [];
  for (const steps of stepCounts) {
    state.calls = 0;
    const xT = tf.tensor2d(start, [numSamples, d]);
    const out = sampler.sample(wrapped, xT, suiteSigmas(steps, sigmaMin, sigmaMax), {
      ...options.samplerOptions,
      rng: new Rng(seed + 1),
    });
    const got = await out.data();
    tf.dispose([xT, out]);
    let sq = 0;
    for (let i = 0; i < got.length; i++) sq += (got[i] - reference[i]) ** 2;
    errors.push(Math.sqrt(sq / numSamples));
    nfe.push(state.calls);
  }
  const idx = fitOn.map((s) => stepCounts.indexOf(s));
  const order = -slope(
    idx.map((i) => Math.log(stepCounts[i])),
    idx.map((i) => Math.log(errors[i])),
  );
  return { stepCounts: [...stepCounts], errors, nfe, order };
}

/** Options of {@link distribution}. */
export interface DistributionOptions {
  /** Steps. Default 50. */
  numSteps?: number;
  /** Samples. Default 2000. */
  numSamples?: number;
  /** Seed (start noise and sampler noise). Default 0. */
  seed?: number;
  /** Mixture. Default {@link DEFAULT_MIXTURE}. */
  mixture?: GaussianMixture;
  /** Extra sampler options. */
  samplerOptions?: Record<string, unknown>;
  /** Denoiser to sample with. Default: the exact denoiser of `mixture` (override for negative controls). */
  denoiser?: Denoiser;
}

/** Result of {@link distribution}: the fit and its worst deviations from the mixture. */
export interface DistributionReport extends MixtureFit {
  /** max_k |ŵ_k − π_k| */
  weightError: number;
  /** max_{k,j} |m̂_kj − μ_kj| / s_kj (in component stds) */
  meanError: number;
  /** max_{k,j} |ŝ_kj/s_kj − 1| */
  stdError: number;
}

/**
 * Samples the mixture with `sampler` from pure noise at σ_max and measures
 * the weights, means and stds of what it lands on ({@link fitMixture}).
 *
 * @param options - steps (50), samples (2000), seed (0), mixture, sampler options, denoiser override.
 * @returns the fit plus its worst deviations from the mixture (plain numbers).
 * @example
 * ```ts
 * const r = await distribution(getSampler('euler-ancestral'), { numSteps: 50 });
 * r.weightError < 0.05; // true
 * ```
 */
export async function distribution(
  sampler: DiffusionSampler,
  options: DistributionOptions = {},
): Promise<DistributionReport> {
  const {
    numSteps = 50,
    numSamples = 2000,
    seed = 0,
    mixture = DEFAULT_MIXTURE,
    samplerOptions = {},
  } = options;
  const denoiser = options.denoiser ?? gaussianMixtureDenoiser(mixture);
  const d = mixture.means[0].length;
  const rng = new Rng(seed);
  const xT = rng.normal([numSamples, d], { std: SUITE_SIGMA_MAX });
  const out = sampler.sample(denoiser, xT, suiteSigmas(numSteps), { ...samplerOptions, rng });
  const x = await out.data();
  tf.dispose([xT, out]);
  const fit = fitMixture(mixture, x);
  let weightError = 0;
  let meanError = 0;
  let stdError = 0;
  mixture.weights.forEach((w, k) => {
    weightError = Math.max(weightError, Math.abs(fit.weights[k] - w));
    for (let j = 0; j < d; j++) {
      const s = mixture.stds[k][j];
      meanError = Math.max(meanError, Math.abs(fit.means[k][j] - mixture.means[k][j]) / s);
      stdError = Math.max(stdError, Math.abs(fit.stds[k][j] / s - 1));
    }
  });
  return { ...fit, weightError, meanError, stdError };
}
