/**
 * Sigma spacings for samplers: descending `Float32Array`s of numSteps + 1
 * noise levels ending in 0 (k-diffusion's `get_sigmas_*`), and diffusers'
 * timestep spacings. Computed in float64 on the CPU.
 */
import { SculptError } from '../errors.js';
import { linspace64 } from './betas.js';
import type { NoiseSchedule } from './noise-schedule.js';

/** How inference timesteps are picked from the training timesteps (diffusers' `timestep_spacing`). */
export type TimestepSpacing = 'leading' | 'linspace' | 'trailing';

/** Options of {@link karrasSigmas}. */
export interface KarrasSigmasOptions {
  /** Number of sampler steps (≥ 1); the result has numSteps + 1 entries. */
  numSteps: number;
  /** Smallest non-zero σ (> 0). */
  sigmaMin: number;
  /** Largest σ (> sigmaMin). */
  sigmaMax: number;
  /** ρ; larger spends more steps at low noise. Default 7. */
  rho?: number;
}

/** Options of {@link exponentialSigmas}. */
export interface ExponentialSigmasOptions {
  /** Number of sampler steps (≥ 1). */
  numSteps: number;
  /** Smallest non-zero σ (> 0). */
  sigmaMin: number;
  /** Largest σ (> sigmaMin). */
  sigmaMax: number;
}

/** Options of {@link polyexponentialSigmas}. */
export interface PolyexponentialSigmasOptions extends ExponentialSigmasOptions {
  /** Polynomial degree ρ of ln σ in the step index (1 = exponential). Default 1. */
  rho?: number;
}

/** Options of {@link vpSigmas}. */
export interface VpSigmasOptions {
  /** Number of sampler steps (≥ 1). */
  numSteps: number;
  /** β_d of the continuous VP SDE. Default 19.9. */
  betaD?: number;
  /** β_min of the continuous VP SDE. Default 0.1. */
  betaMin?: number;
  /** Smallest continuous time ε_s in (0, 1). Default 1e-3. */
  epsS?: number;
}

/** Options of {@link timestepSpacing}. */
export interface TimestepSpacingOptions {
  /** T, the number of training timesteps. */
  numTrainTimesteps: number;
  /** Number of inference steps, 1 ≤ numSteps ≤ T. */
  numSteps: number;
  /** Spacing. Default `'leading'`. */
  spacing?: TimestepSpacing;
  /** Added to every timestep with `'leading'` spacing only (as diffusers' `steps_offset`). Default 0. */
  stepsOffset?: number;
}

/** Options of {@link discreteSigmas}. */
export interface DiscreteSigmasOptions {
  /** Number of sampler steps, 1 ≤ numSteps ≤ T. */
  numSteps: number;
  /** Spacing. Default `'leading'`. */
  spacing?: TimestepSpacing;
  /** See {@link TimestepSpacingOptions.stepsOffset}. Default 0. */
  stepsOffset?: number;
}

/** Far more sampling steps than any sampler needs (20–1,000 is the useful range); bounds the arrays and the run time. */
const MAX_STEPS = 100_000;

function checkSteps(where: string, numSteps: number): void {
  if (!Number.isInteger(numSteps) || numSteps < 1 || numSteps > MAX_STEPS) {
    throw new SculptError(
      where,
      `numSteps must be an integer in [1, ${MAX_STEPS.toLocaleString('en-US')}]`,
      `got ${numSteps}`,
      'pass e.g. numSteps: 20 (a few hundred at most are useful)',
    );
  }
}

function checkRange(where: string, sigmaMin: number, sigmaMax: number): void {
  if (!(sigmaMin > 0) || !(sigmaMax > 0) || !Number.isFinite(sigmaMax)) {
    throw new SculptError(
      where,
      'sigmaMin and sigmaMax must be positive and finite',
      `got sigmaMin=${sigmaMin}, sigmaMax=${sigmaMax}`,
      'the trailing 0 is appended for you; pass e.g. sigmaMin: 0.002, sigmaMax: 80',
    );
  }
  if (!(sigmaMin < sigmaMax)) {
    throw new SculptError(
      where,
      'sigmaMin must be < sigmaMax',
      `got sigmaMin=${sigmaMin}, sigmaMax=${sigmaMax}`,
      'swap them',
    );
  }
}

function positive(where: string, name: string, value: number, fix: string): void {
  if (!(value > 0) || !Number.isFinite(value))
    throw new SculptError(where, `${name} must be positive and finite`, `got ${value}`, fix);
}

/**
 * A copy of `sigmas` with 0 appended (k-diffusion's `append_zero`).
 * @param sigmas - noise levels.
 * @returns a new `Float32Array` of length `sigmas.length + 1`; the caller owns it.
 * @example
 * ```ts
 * appendZero([2, 1]); // Float32Array [2, 1, 0]
 * ```
 */
export function appendZero(sigmas: ArrayLike<number>): Float32Array {
  const out = new Float32Array(sigmas.length + 1);
  for (let i = 0; i < sigmas.length; i++) out[i] = sigmas[i];
  return out;
}

/**
 * Karras et al. 2022 (EDM, eq. 5) spacing:
 * σ_i = (σ_max^{1/ρ} + i/(n−1)·(σ_min^{1/ρ} − σ_max^{1/ρ}))^ρ, i = 0 … n−1, then 0
 * (k-diffusion's `get_sigmas_karras`).
 *
 * @param options - `numSteps`, `sigmaMin`, `sigmaMax`, `rho` (default 7).
 * @returns descending `Float32Array` of length numSteps + 1: sigmaMax … sigmaMin, 0 (numSteps = 1 gives [sigmaMax, 0]).
 * @throws SculptError if numSteps < 1, a sigma is ≤ 0, or sigmaMin ≥ sigmaMax.
 * @example
 * ```ts
 * const sigmas = karrasSigmas({ numSteps: 20, sigmaMin: 0.002, sigmaMax: 80 });
 * ```
 */
export function karrasSigmas(options: KarrasSigmasOptions): Float32Array {
  const { numSteps, sigmaMin, sigmaMax, rho = 7 } = options;
  checkSteps('karrasSigmas', numSteps);
  checkRange('karrasSigmas', sigmaMin, sigmaMax);
  positive('karrasSigmas', 'rho', rho, 'use the default 7');
  const maxInv = sigmaMax ** (1 / rho);
  const minInv = sigmaMin ** (1 / rho);
  return appendZero(linspace64(0, 1, numSteps).map((r) => (maxInv + r * (minInv - maxInv)) ** rho));
}

/**
 * Log-linear spacing: ln σ evenly spaced from ln σ_max to ln σ_min, then 0
 * (k-diffusion's `get_sigmas_exponential`).
 *
 * @param options - `numSteps`, `sigmaMin`, `sigmaMax`.
 * @returns descending `Float32Array` of length numSteps + 1 ending in 0.
 * @throws SculptError if numSteps < 1, a sigma is ≤ 0, or sigmaMin ≥ sigmaMax.
 * @example
 * ```ts
 * exponentialSigmas({ numSteps: 2, sigmaMin: 1, sigmaMax: 100 }); // [100, 1, 0]
 * ```
 */
export function exponentialSigmas(options: ExponentialSigmasOptions): Float32Array {
  const { numSteps, sigmaMin, sigmaMax } = options;
  checkSteps('exponentialSigmas', numSteps);
  checkRange('exponentialSigmas', sigmaMin, sigmaMax);
  return appendZero(linspace64(Math.log(sigmaMax), Math.log(sigmaMin), numSteps).map(Math.exp));
}

/**
 * ln σ a polynomial of degree ρ in the step index:
 * σ_i = exp(r_i^ρ (ln σ_max − ln σ_min) + ln σ_min), r_i = linspace(1, 0), then 0
 * (k-diffusion's `get_sigmas_polyexponential`; ρ = 1 is {@link exponentialSigmas}).
 *
 * @param options - `numSteps`, `sigmaMin`, `sigmaMax`, `rho` (default 1).
 * @returns descending `Float32Array` of length numSteps + 1 ending in 0.
 * @throws SculptError if numSteps < 1, a sigma or rho is ≤ 0, or sigmaMin ≥ sigmaMax.
 * @example
 * ```ts
 * polyexponentialSigmas({ numSteps: 10, sigmaMin: 0.03, sigmaMax: 14.6, rho: 2 });
 * ```
 */
export function polyexponentialSigmas(options: PolyexponentialSigmasOptions): Float32Array {
  const { numSteps, sigmaMin, sigmaMax, rho = 1 } = options;
  checkSteps('polyexponentialSigmas', numSteps);
  checkRange('polyexponentialSigmas', sigmaMin, sigmaMax);
  positive('polyexponentialSigmas', 'rho', rho, 'use the default 1');
  const logMin = Math.log(sigmaMin);
  const span = Math.log(sigmaMax) - logMin;
  return appendZero(linspace64(1, 0, numSteps).map((r) => Math.exp(r ** rho * span + logMin)));
}

/**
 * Sigmas of the continuous VP SDE (Song et al. 2021) at t = linspace(1, ε_s):
 * σ(t) = √(exp(β_d t²/2 + β_min t) − 1), then 0 (k-diffusion's `get_sigmas_vp`).
 *
 * @param options - `numSteps`, `betaD` (default 19.9), `betaMin` (default 0.1), `epsS` (default 1e-3).
 * @returns descending `Float32Array` of length numSteps + 1 ending in 0.
 * @throws SculptError if numSteps < 1, betaD or betaMin is negative, or epsS is outside (0, 1).
 * @example
 * ```ts
 * vpSigmas({ numSteps: 50 })[0]; // ≈ 152.17
 * ```
 */
export function vpSigmas(options: VpSigmasOptions): Float32Array {
  const { numSteps, betaD = 19.9, betaMin = 0.1, epsS = 1e-3 } = options;
  checkSteps('vpSigmas', numSteps);
  if (!(betaD >= 0) || !(betaMin >= 0) || !(betaD + betaMin > 0)) {
    throw new SculptError(
      'vpSigmas',
      'betaD and betaMin must be ≥ 0, not both 0',
      `got betaD=${betaD}, betaMin=${betaMin}`,
      'use the defaults 19.9 and 0.1',
    );
  }
  if (!(epsS > 0 && epsS < 1))
    throw new SculptError(
      'vpSigmas',
      'epsS must be in (0, 1)',
      `got ${epsS}`,
      'use the default 1e-3',
    );
  return appendZero(
    linspace64(1, epsS, numSteps).map((t) =>
      Math.sqrt(Math.expm1((betaD * t * t) / 2 + betaMin * t)),
    ),
  );
}

/** Round half to even, as `numpy.round`. */
function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * Inference timesteps picked from T training timesteps, descending, with
 * diffusers' three spacings (Lin et al. 2024, Table 2):
 * - `'leading'`: (0, 1, …, n−1)·⌊T/n⌋ reversed, + stepsOffset (T = 1000, n = 10: 900, 800, …, 0);
 * - `'linspace'`: round(linspace(0, T−1, n)) reversed (999, 888, …, 0);
 * - `'trailing'`: round(arange(T, 0, −T/n)) − 1 (999, 899, …, 99): starts at T−1,
 *   the only one that reaches the last (zero-SNR) step.
 *
 * @param options - `numTrainTimesteps`, `numSteps`, `spacing` (default `'leading'`), `stepsOffset` (default 0, leading only).
 * @returns descending `Int32Array` of length numSteps; the caller owns it.
 * @throws SculptError if numSteps is not in [1, T], the spacing is unknown, or the offset leaves [0, T−1].
 * @example
 * ```ts
 * timestepSpacing({ numTrainTimesteps: 1000, numSteps: 4, spacing: 'trailing' }); // [999, 749, 499, 249]
 * ```
 */
export function timestepSpacing(options: TimestepSpacingOptions): Int32Array {
  const { numTrainTimesteps: T, numSteps: n, spacing = 'leading', stepsOffset = 0 } = options;
  checkSteps('timestepSpacing', n);
  if (!Number.isInteger(T) || T < 1 || n > T) {
    throw new SculptError(
      'timestepSpacing',
      'numTrainTimesteps must be an integer ≥ numSteps',
      `got numTrainTimesteps=${T}, numSteps=${n}`,
      'use fewer steps',
    );
  }
  const out = new Int32Array(n);
  if (spacing === 'leading') {
    const ratio = Math.floor(T / n);
    for (let i = 0; i < n; i++) out[i] = (n - 1 - i) * ratio + stepsOffset;
    if (!Number.isInteger(stepsOffset) || out[0] > T - 1 || out[n - 1] < 0) {
      throw new SculptError(
        'timestepSpacing',
        `stepsOffset must be an integer keeping timesteps in [0, ${T - 1}]`,
        `got ${stepsOffset}`,
        'use 0 or 1',
      );
    }
  } else if (spacing === 'linspace') {
    // round(linspace(0, T−1, n)) reversed, built from the low end as numpy does so rounding matches.
    const up = linspace64(0, T - 1, n);
    for (let i = 0; i < n; i++) out[i] = roundHalfEven(up[n - 1 - i]);
  } else if (spacing === 'trailing') {
    const ratio = T / n;
    for (let i = 0; i < n; i++) out[i] = roundHalfEven(T - i * ratio) - 1;
  } else {
    throw new SculptError(
      'timestepSpacing',
      "spacing must be 'leading', 'linspace' or 'trailing'",
      `got '${String(spacing)}'`,
      "use 'trailing' with zero-terminal-SNR schedules",
    );
  }
  return out;
}

/**
 * The schedule's discrete sigmas at the inference timesteps of
 * {@link timestepSpacing}, then 0: what diffusers' discrete (Euler-style)
 * schedulers sample with. With `'linspace'` the timesteps stay fractional and
 * σ is interpolated linearly between neighbours, as diffusers'
 * `EulerDiscreteScheduler` does.
 *
 * @param schedule - the discrete schedule.
 * @param options - `numSteps`, `spacing` (default `'leading'`), `stepsOffset` (default 0).
 * @returns descending `Float32Array` of length numSteps + 1 ending in 0.
 * @throws SculptError as {@link timestepSpacing}.
 * @example
 * ```ts
 * const sigmas = discreteSigmas(noiseSchedule({ kind: 'scaled-linear' }), { numSteps: 30, spacing: 'trailing' });
 * ```
 */
export function discreteSigmas(
  schedule: NoiseSchedule,
  options: DiscreteSigmasOptions,
): Float32Array {
  const timesteps = timestepSpacing({ ...options, numTrainTimesteps: schedule.numTrainTimesteps });
  const out = new Float32Array(timesteps.length + 1);
  if (options.spacing === 'linspace') {
    // diffusers' Euler keeps linspace timesteps fractional and interpolates σ linearly (np.interp).
    const T = schedule.numTrainTimesteps;
    const ts = linspace64(0, T - 1, timesteps.length).reverse();
    ts.forEach((t, i) => {
      const low = Math.floor(t);
      const high = Math.min(low + 1, T - 1);
      out[i] = schedule.sigmas[low] + (t - low) * (schedule.sigmas[high] - schedule.sigmas[low]);
    });
    return out;
  }
  timesteps.forEach((t, i) => {
    out[i] = schedule.sigmas[t];
  });
  return out;
}
