/**
 * The discrete noise schedule shared by samplers and trainers, and the
 * conversions between its parametrisations.
 *
 * Notation (k-diffusion / EDM): x_t = x_0 + σ_t ε in the σ form, equivalent to
 * the VP form x_t = √ᾱ_t x_0 + √(1 − ᾱ_t) ε scaled by 1/√ᾱ_t, so
 * σ_t = √((1 − ᾱ_t)/ᾱ_t), ᾱ_t = 1/(1 + σ_t²) and logSNR λ_t = −2 ln σ_t.
 */
import { SculptError } from '../errors.js';
import {
  alphasCumprod64,
  type BetaScheduleKind,
  type BetaScheduleOptions,
  betaSchedule64,
  rescaleZeroTerminalSnr64,
} from './betas.js';

/**
 * A discrete DDPM noise schedule as plain CPU data. Frozen; treat the arrays
 * as read-only (typed arrays cannot be frozen).
 */
export interface NoiseSchedule {
  /** The beta schedule it was built from. */
  readonly kind: BetaScheduleKind;
  /** T, the number of training timesteps. */
  readonly numTrainTimesteps: number;
  /** Whether the betas were rescaled to zero terminal SNR. */
  readonly zeroTerminalSnr: boolean;
  /** β_0 … β_{T−1}. */
  readonly betas: Float32Array;
  /** ᾱ_0 … ᾱ_{T−1}, decreasing (ᾱ_{T−1} = 0 with zero terminal SNR). */
  readonly alphasCumprod: Float32Array;
  /**
   * σ_t = √((1 − ᾱ_t)/ᾱ_t), ascending in t. With zero terminal SNR the last
   * ᾱ is clamped to 2⁻²⁴ here (as diffusers does), so σ_{T−1} ≈ 4096, not ∞.
   */
  readonly sigmas: Float32Array;
}

/** Options of {@link noiseSchedule}. */
export interface NoiseScheduleOptions extends BetaScheduleOptions {
  /** Beta schedule. Default `'linear'`. */
  kind?: BetaScheduleKind;
  /** T. Default 1000. */
  numTrainTimesteps?: number;
  /** Rescale betas to zero terminal SNR (Lin et al. 2024). Default `false`. */
  zeroTerminalSnr?: boolean;
}

/** The smallest ᾱ used to compute σ when ᾱ is exactly 0 (float16's smallest subnormal, as diffusers). */
const MIN_ALPHA_CUMPROD = 2 ** -24;

/**
 * Builds a {@link NoiseSchedule}: betas, ᾱ and σ for T training timesteps.
 *
 * @param options - `kind` (default `'linear'`), `numTrainTimesteps` (default 1000),
 *   `zeroTerminalSnr` (default `false`), plus any {@link BetaScheduleOptions}
 *   (`betaStart`, `betaEnd`, `cosineS`, …).
 * @returns a frozen schedule; its arrays are new and belong to it.
 * @throws SculptError for an unknown kind or invalid betas.
 * @example
 * ```ts
 * const schedule = noiseSchedule({ kind: 'scaled-linear' });
 * schedule.sigmas[999]; // ≈ 14.61, Stable Diffusion's sigma_max
 * ```
 */
export function noiseSchedule(options: NoiseScheduleOptions = {}): NoiseSchedule {
  const {
    kind = 'linear',
    numTrainTimesteps = 1000,
    zeroTerminalSnr = false,
    ...betaOptions
  } = options;
  let betas = betaSchedule64(kind, numTrainTimesteps, betaOptions);
  if (zeroTerminalSnr) betas = rescaleZeroTerminalSnr64(betas);
  const abar = alphasCumprod64(betas);
  const sigmas = new Float32Array(abar.length);
  for (let i = 0; i < abar.length; i++)
    sigmas[i] = alphaCumprodToSigma(Math.max(abar[i], MIN_ALPHA_CUMPROD));
  return Object.freeze({
    kind,
    numTrainTimesteps,
    zeroTerminalSnr,
    betas: Float32Array.from(betas),
    alphasCumprod: Float32Array.from(abar),
    sigmas,
  });
}

/**
 * ᾱ = 1/(1 + σ²).
 * @param sigma - noise level σ ≥ 0.
 * @returns ᾱ in (0, 1].
 * @example
 * ```ts
 * sigmaToAlphaCumprod(1); // 0.5
 * ```
 */
export function sigmaToAlphaCumprod(sigma: number): number {
  if (!(sigma >= 0))
    throw new SculptError('sigmaToAlphaCumprod', 'sigma must be ≥ 0', `got ${sigma}`);
  return 1 / (1 + sigma * sigma);
}

/**
 * σ = √((1 − ᾱ)/ᾱ).
 * @param alphaCumprod - ᾱ in (0, 1] (0 gives ∞).
 * @returns σ ≥ 0.
 * @example
 * ```ts
 * alphaCumprodToSigma(0.5); // 1
 * ```
 */
export function alphaCumprodToSigma(alphaCumprod: number): number {
  if (!(alphaCumprod >= 0 && alphaCumprod <= 1)) {
    throw new SculptError(
      'alphaCumprodToSigma',
      'alphaCumprod must be in [0, 1]',
      `got ${alphaCumprod}`,
    );
  }
  return Math.sqrt((1 - alphaCumprod) / alphaCumprod);
}

/**
 * logSNR λ = ln(ᾱ/(1 − ᾱ)) = −2 ln σ.
 * @param sigma - noise level σ ≥ 0 (0 gives +∞).
 * @returns λ.
 * @example
 * ```ts
 * sigmaToLogSnr(1); // 0
 * ```
 */
export function sigmaToLogSnr(sigma: number): number {
  if (!(sigma >= 0)) throw new SculptError('sigmaToLogSnr', 'sigma must be ≥ 0', `got ${sigma}`);
  return -2 * Math.log(sigma);
}

/**
 * σ = exp(−λ/2), the inverse of {@link sigmaToLogSnr}.
 * @param logSnr - λ (any real number).
 * @returns σ > 0.
 * @example
 * ```ts
 * logSnrToSigma(0); // 1
 * ```
 */
export function logSnrToSigma(logSnr: number): number {
  if (Number.isNaN(logSnr))
    throw new SculptError('logSnrToSigma', 'logSnr must be a number', 'got NaN');
  return Math.exp(-logSnr / 2);
}

/**
 * The continuous timestep of a noise level: linear interpolation in ln σ
 * between the schedule's discrete sigmas, clamped to [0, T−1] (k-diffusion's
 * `DiscreteSchedule.sigma_to_t`). σ = 0 maps to 0.
 *
 * @param schedule - the discrete schedule.
 * @param sigma - noise level σ ≥ 0.
 * @returns t in [0, T − 1].
 * @example
 * ```ts
 * const s = noiseSchedule();
 * sigmaToT(s, s.sigmas[500]); // 500
 * ```
 */
export function sigmaToT(schedule: NoiseSchedule, sigma: number): number {
  if (!(sigma >= 0)) throw new SculptError('sigmaToT', 'sigma must be ≥ 0', `got ${sigma}`);
  const sigmas = schedule.sigmas;
  const n = sigmas.length;
  if (n < 2) return 0;
  if (sigma <= sigmas[0]) return 0;
  if (sigma >= sigmas[n - 1]) return n - 1;
  // Largest low with sigmas[low] ≤ sigma (binary search over the ascending sigmas).
  let low = 0;
  let high = n - 1;
  while (high - low > 1) {
    const mid = (low + high) >> 1;
    if (sigmas[mid] <= sigma) low = mid;
    else high = mid;
  }
  const logLow = Math.log(sigmas[low]);
  const logHigh = Math.log(sigmas[high]);
  const w = logHigh === logLow ? 0 : (Math.log(sigma) - logLow) / (logHigh - logLow);
  return low + Math.min(1, Math.max(0, w));
}

/**
 * The noise level of a continuous timestep: linear interpolation in ln σ
 * between the discrete sigmas (k-diffusion's `DiscreteSchedule.t_to_sigma`);
 * the inverse of {@link sigmaToT} on [0, T−1].
 *
 * @param schedule - the discrete schedule.
 * @param t - timestep in [0, T − 1].
 * @returns σ_t > 0.
 * @throws SculptError when t is outside [0, T − 1].
 * @example
 * ```ts
 * tToSigma(noiseSchedule(), 999.5); // throws: t is beyond T − 1
 * ```
 */
export function tToSigma(schedule: NoiseSchedule, t: number): number {
  const sigmas = schedule.sigmas;
  const n = sigmas.length;
  if (!(t >= 0 && t <= n - 1)) {
    throw new SculptError(
      'tToSigma',
      `t must be in [0, ${n - 1}]`,
      `got ${t}`,
      'clamp t to the schedule range',
    );
  }
  const low = Math.floor(t);
  const high = Math.ceil(t);
  const w = t - low;
  return Math.exp((1 - w) * Math.log(sigmas[low]) + w * Math.log(sigmas[high]));
}
