/**
 * Discrete DDPM beta schedules.
 *
 * Notation: β_t is the variance added at step t (t = 0 … T−1), α_t = 1 − β_t,
 * ᾱ_t = ∏_{s≤t} α_s. Everything is computed in float64 and returned as
 * float32, so the arrays are CPU-side data, never tensors (reading a scalar back from a GPU tensor every step would be a sync).
 */
import { SculptError } from '../errors.js';

/** The beta schedules sculpt knows. */
export type BetaScheduleKind = 'linear' | 'scaled-linear' | 'cosine' | 'sigmoid';

/** Options of {@link betaSchedule}; each applies to the kinds named. */
export interface BetaScheduleOptions {
  /** First beta (`linear`, `scaled-linear`). Default 1e-4 (linear) or 0.00085 (scaled-linear). */
  betaStart?: number;
  /** Last beta (`linear`, `scaled-linear`). Default 0.02 (linear) or 0.012 (scaled-linear). */
  betaEnd?: number;
  /** Offset s of the cosine schedule. Default 0.008. */
  cosineS?: number;
  /** Betas are clipped to at most this (`cosine`, `sigmoid`). Default 0.999. */
  maxBeta?: number;
  /** Start of the sigmoid's input range. Default −3. */
  sigmoidStart?: number;
  /** End of the sigmoid's input range. Default 3. */
  sigmoidEnd?: number;
  /** Temperature τ of the sigmoid. Default 1. */
  sigmoidTau?: number;
}

const KINDS: readonly BetaScheduleKind[] = ['linear', 'scaled-linear', 'cosine', 'sigmoid'];

/** `n` evenly spaced float64 values from `start` to `end` inclusive (`[start]` when n = 1), like `torch.linspace`. */
export function linspace64(start: number, end: number, n: number): Float64Array {
  const out = new Float64Array(n);
  if (n === 1) {
    out[0] = start;
    return out;
  }
  const step = (end - start) / (n - 1);
  for (let i = 0; i < n; i++) out[i] = start + i * step;
  out[n - 1] = end;
  return out;
}

/** More timesteps than any schedule uses (DDPM trains with 1,000); past it the arrays alone run to gigabytes. */
const MAX_TIMESTEPS = 1_000_000;

function checkCount(where: string, name: string, n: number): void {
  if (!Number.isInteger(n) || n < 1) {
    throw new SculptError(
      where,
      `${name} must be a positive integer`,
      `got ${n}`,
      `pass e.g. ${name}: 1000`,
    );
  }
  if (n > MAX_TIMESTEPS) {
    throw new SculptError(
      where,
      `${name} must be at most ${MAX_TIMESTEPS.toLocaleString('en-US')}`,
      `got ${n}`,
      `pass e.g. ${name}: 1000 (DDPM's choice)`,
    );
  }
}

/** Betas from a continuous ᾱ(u), u ∈ [0, 1]: β_i = min(1 − ᾱ((i+1)/T)/ᾱ(i/T), maxBeta), clipped at 0 below. */
function betasFromAlphaBar(
  alphaBar: (u: number) => number,
  n: number,
  maxBeta: number,
): Float64Array {
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const b = 1 - alphaBar((i + 1) / n) / alphaBar(i / n);
    out[i] = Math.min(Math.max(b, 0), maxBeta);
  }
  return out;
}

const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x));

/** The betas in float64 (shared by {@link betaSchedule} and `noiseSchedule`, which needs full precision). */
export function betaSchedule64(
  kind: BetaScheduleKind,
  n: number,
  options: BetaScheduleOptions = {},
): Float64Array {
  checkCount('betaSchedule', 'numTrainTimesteps', n);
  const maxBeta = options.maxBeta ?? 0.999;
  if (!(maxBeta > 0 && maxBeta <= 1)) {
    throw new SculptError(
      'betaSchedule',
      'maxBeta must be in (0, 1]',
      `got ${maxBeta}`,
      'use the default 0.999',
    );
  }
  switch (kind) {
    case 'linear': {
      const betaStart = options.betaStart ?? 1e-4;
      const betaEnd = options.betaEnd ?? 0.02;
      checkBetaRange(betaStart, betaEnd);
      return linspace64(betaStart, betaEnd, n);
    }
    case 'scaled-linear': {
      // Stable Diffusion: β = linspace(√β₀, √β₁)².
      const betaStart = options.betaStart ?? 0.00085;
      const betaEnd = options.betaEnd ?? 0.012;
      checkBetaRange(betaStart, betaEnd);
      return linspace64(Math.sqrt(betaStart), Math.sqrt(betaEnd), n).map((r) => r * r);
    }
    case 'cosine': {
      // Nichol & Dhariwal 2021, eq. 17: ᾱ(u) = cos²((u + s)/(1 + s) · π/2).
      const s = options.cosineS ?? 0.008;
      if (!(s >= 0))
        throw new SculptError(
          'betaSchedule',
          'cosineS must be ≥ 0',
          `got ${s}`,
          'use the default 0.008',
        );
      return betasFromAlphaBar(
        (u) => Math.cos(((u + s) / (1 + s)) * (Math.PI / 2)) ** 2,
        n,
        maxBeta,
      );
    }
    case 'sigmoid': {
      // Jabri et al. 2022 (RIN), as in lucidrains' sigmoid_beta_schedule:
      // ᾱ(u) ∝ (σ(end/τ) − σ((u(end − start) + start)/τ)) / (σ(end/τ) − σ(start/τ)).
      const start = options.sigmoidStart ?? -3;
      const end = options.sigmoidEnd ?? 3;
      const tau = options.sigmoidTau ?? 1;
      if (!(end > start) || !(tau > 0)) {
        throw new SculptError(
          'betaSchedule',
          'sigmoid needs sigmoidStart < sigmoidEnd and sigmoidTau > 0',
          `got start=${start}, end=${end}, tau=${tau}`,
          'use the defaults −3, 3, 1',
        );
      }
      const vStart = sigmoid(start / tau);
      const vEnd = sigmoid(end / tau);
      const raw = (u: number): number =>
        (vEnd - sigmoid((u * (end - start) + start) / tau)) / (vEnd - vStart);
      return betasFromAlphaBar(raw, n, maxBeta);
    }
    default:
      throw new SculptError(
        'betaSchedule',
        `kind must be one of ${KINDS.map((k) => `'${k}'`).join(', ')}`,
        `got '${String(kind)}'`,
        "pass e.g. 'linear'",
      );
  }
}

function checkBetaRange(betaStart: number, betaEnd: number): void {
  const ok = (b: number): boolean => b > 0 && b < 1;
  if (!ok(betaStart) || !ok(betaEnd)) {
    throw new SculptError(
      'betaSchedule',
      'betaStart and betaEnd must be in (0, 1)',
      `got ${betaStart} and ${betaEnd}`,
      'pass e.g. betaStart: 1e-4, betaEnd: 0.02',
    );
  }
}

/**
 * The betas β_0 … β_{T−1} of a DDPM noise schedule.
 *
 * - `'linear'`: linspace(betaStart = 1e-4, betaEnd = 0.02) (Ho et al. 2020).
 * - `'scaled-linear'`: linspace(√betaStart, √betaEnd)², betaStart = 0.00085, betaEnd = 0.012 (Stable Diffusion).
 * - `'cosine'`: β_i = min(1 − ᾱ((i+1)/T)/ᾱ(i/T), maxBeta) with ᾱ(u) = cos²((u+s)/(1+s)·π/2),
 *   s = `cosineS` = 0.008, maxBeta = 0.999 (Nichol & Dhariwal 2021; diffusers `squaredcos_cap_v2`).
 * - `'sigmoid'`: ᾱ(u) from a sigmoid over [sigmoidStart = −3, sigmoidEnd = 3] with τ = `sigmoidTau` = 1,
 *   clipped at maxBeta (Jabri et al. 2022, as lucidrains' `sigmoid_beta_schedule`).
 *
 * @param kind - which schedule.
 * @param numTrainTimesteps - T, the number of training steps (positive integer).
 * @param options - see {@link BetaScheduleOptions}.
 * @returns a new `Float32Array` of length T (computed in float64); the caller owns it.
 * @throws SculptError for an unknown kind, a non-positive T, or betas outside (0, 1).
 * @example
 * ```ts
 * const betas = betaSchedule('scaled-linear', 1000); // betas[0] = 0.00085, betas[999] = 0.012
 * ```
 */
export function betaSchedule(
  kind: BetaScheduleKind,
  numTrainTimesteps: number,
  options: BetaScheduleOptions = {},
): Float32Array {
  return Float32Array.from(betaSchedule64(kind, numTrainTimesteps, options));
}

function checkBetas(where: string, betas: ArrayLike<number>): void {
  if (betas.length < 1)
    throw new SculptError(
      where,
      'betas must not be empty',
      'got length 0',
      'pass betaSchedule(kind, T)',
    );
  for (let i = 0; i < betas.length; i++) {
    const b = betas[i];
    if (!(b >= 0 && b <= 1)) {
      throw new SculptError(
        where,
        'every beta must be in [0, 1]',
        `got betas[${i}] = ${b}`,
        'build betas with betaSchedule',
      );
    }
  }
}

/** ᾱ_t = ∏_{s≤t}(1 − β_s) in float64. */
export function alphasCumprod64(betas: ArrayLike<number>): Float64Array {
  checkBetas('alphasCumprod', betas);
  const out = new Float64Array(betas.length);
  let prod = 1;
  for (let i = 0; i < betas.length; i++) {
    prod *= 1 - betas[i];
    out[i] = prod;
  }
  return out;
}

/**
 * The cumulative products ᾱ_t = ∏_{s≤t}(1 − β_s), accumulated in float64.
 *
 * @param betas - β_0 … β_{T−1}, each in [0, 1].
 * @returns a new `Float32Array` of length T, decreasing; the caller owns it.
 * @example
 * ```ts
 * const a = alphasCumprod(betaSchedule('linear', 1000)); // a[999] ≈ 4.04e-5
 * ```
 */
export function alphasCumprod(betas: ArrayLike<number>): Float32Array {
  return Float32Array.from(alphasCumprod64(betas));
}

/** {@link rescaleZeroTerminalSnr} in float64. */
export function rescaleZeroTerminalSnr64(betas: ArrayLike<number>): Float64Array {
  const abar = alphasCumprod64(betas);
  const n = abar.length;
  if (n < 2) throw new SculptError('rescaleZeroTerminalSnr', 'needs at least 2 betas', `got ${n}`);
  const sqrt = abar.map(Math.sqrt);
  const s0 = sqrt[0];
  const sT = sqrt[n - 1];
  if (!(s0 > sT))
    throw new SculptError(
      'rescaleZeroTerminalSnr',
      'needs ᾱ_0 > ᾱ_T',
      `got ᾱ_0 = ${abar[0]}, ᾱ_T = ${abar[n - 1]}`,
    );
  // Shift so √ᾱ_T = 0, then scale so √ᾱ_0 is unchanged.
  const rescaled = sqrt.map((v) => (((v - sT) * s0) / (s0 - sT)) ** 2);
  const out = new Float64Array(n);
  out[0] = 1 - rescaled[0];
  for (let i = 1; i < n; i++) out[i] = 1 - rescaled[i] / rescaled[i - 1];
  return out;
}

/**
 * Rescales betas so the terminal signal-to-noise ratio is exactly zero
 * (Lin et al. 2024, "Common Diffusion Noise Schedules and Sample Steps are
 * Flawed", Alg. 1): √ᾱ is shifted so √ᾱ_T = 0 and scaled so √ᾱ_0 is kept.
 * The last beta becomes 1, so ᾱ_T = 0 and σ_T = ∞; `noiseSchedule` clamps
 * that one σ (see {@link NoiseSchedule}). Train with v-prediction and sample
 * with `'trailing'` spacing.
 *
 * @param betas - β_0 … β_{T−1} (T ≥ 2), e.g. from {@link betaSchedule}.
 * @returns new rescaled betas (`Float32Array`, length T, last = 1); the caller owns them.
 * @example
 * ```ts
 * const betas = rescaleZeroTerminalSnr(betaSchedule('scaled-linear', 1000));
 * alphasCumprod(betas)[999]; // 0
 * ```
 */
export function rescaleZeroTerminalSnr(betas: ArrayLike<number>): Float32Array {
  return Float32Array.from(rescaleZeroTerminalSnr64(betas));
}
