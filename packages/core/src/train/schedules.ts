/**
 * Learning-rate schedules: plain functions from the 0-based step index to a
 * learning rate, evaluated on the CPU (no tensors, no syncs).
 */
import { SculptError } from '../errors.js';

/** A learning-rate schedule: `lr = schedule(step)`, `step` the 0-based index of the update. */
export type LrSchedule = (step: number) => number;

/** Options of {@link warmupCosineLr} and {@link warmupLinearLr}. */
export interface WarmupDecayOptions {
  /** The largest learning rate, reached at the end of warm-up (> 0). */
  peak: number;
  /** Steps of linear warm-up (integer ≥ 0). Default `0`. */
  warmupSteps?: number;
  /** The step at which the decay reaches `minLr` and stays there (integer > warmupSteps). */
  totalSteps: number;
  /** The floor, in [0, peak]. Default `0`. */
  minLr?: number;
}

/**
 * A constant learning rate.
 *
 * @param learningRate - the rate (finite, ≥ 0).
 * @returns a schedule that always returns `learningRate`.
 * @example
 * ```ts
 * new Trainer({ params, loss, optimizer: adam(), learningRate: constantLr(1e-3) });
 * ```
 */
export function constantLr(learningRate: number): LrSchedule {
  if (!(Number.isFinite(learningRate) && learningRate >= 0)) {
    throw new SculptError(
      'constantLr',
      'learningRate must be a finite number ≥ 0',
      `got ${learningRate}`,
    );
  }
  return described(() => learningRate, { kind: 'constant', learningRate });
}

function checkWarmup(where: string, o: WarmupDecayOptions): Required<WarmupDecayOptions> {
  const { peak, warmupSteps = 0, totalSteps, minLr = 0 } = o;
  if (!(Number.isFinite(peak) && peak > 0)) {
    throw new SculptError(where, 'peak must be a finite number > 0', `got ${peak}`);
  }
  if (!(Number.isInteger(warmupSteps) && warmupSteps >= 0)) {
    throw new SculptError(where, 'warmupSteps must be an integer ≥ 0', `got ${warmupSteps}`);
  }
  if (!(Number.isInteger(totalSteps) && totalSteps > warmupSteps)) {
    throw new SculptError(
      where,
      'totalSteps must be an integer > warmupSteps',
      `got totalSteps=${totalSteps}, warmupSteps=${warmupSteps}`,
    );
  }
  if (!(minLr >= 0 && minLr <= peak)) {
    throw new SculptError(where, 'minLr must be in [0, peak]', `got minLr=${minLr}, peak=${peak}`);
  }
  return { peak, warmupSteps, totalSteps, minLr };
}

/** Linear warm-up: `peak·(step+1)/warmupSteps` for step < warmupSteps, so the first update is not wasted on lr = 0. */
function warmup(step: number, peak: number, warmupSteps: number): number {
  return (peak * (step + 1)) / warmupSteps;
}

/**
 * Linear warm-up, then half-cosine decay from `peak` to `minLr` (SGDR /
 * nanoGPT's `get_lr`):
 * - `step < warmupSteps`: `peak·(step+1)/warmupSteps`
 * - `warmupSteps ≤ step < totalSteps`: `minLr + (peak−minLr)·½(1 + cos(π·p))`,
 *   `p = (step−warmupSteps)/(totalSteps−warmupSteps)`
 * - `step ≥ totalSteps`: `minLr`
 *
 * @param options - `peak`, `warmupSteps = 0`, `totalSteps`, `minLr = 0`.
 * @returns an {@link LrSchedule}.
 * @example
 * ```ts
 * const lr = warmupCosineLr({ peak: 6e-4, warmupSteps: 100, totalSteps: 5000, minLr: 6e-5 });
 * lr(99); // 6e-4
 * ```
 */
export function warmupCosineLr(options: WarmupDecayOptions): LrSchedule {
  const { peak, warmupSteps, totalSteps, minLr } = checkWarmup('warmupCosineLr', options);
  return described(
    (step) => {
      if (step < warmupSteps) return warmup(step, peak, warmupSteps);
      if (step >= totalSteps) return minLr;
      const p = (step - warmupSteps) / (totalSteps - warmupSteps);
      return minLr + (peak - minLr) * 0.5 * (1 + Math.cos(Math.PI * p));
    },
    { kind: 'warmup-cosine', peak, warmupSteps, totalSteps, minLr },
  );
}

/**
 * Linear warm-up, then linear decay from `peak` to `minLr` at `totalSteps`
 * (BERT / `get_linear_schedule_with_warmup`):
 * - `step < warmupSteps`: `peak·(step+1)/warmupSteps`
 * - `warmupSteps ≤ step < totalSteps`: `peak + (minLr−peak)·(step−warmupSteps)/(totalSteps−warmupSteps)`
 * - `step ≥ totalSteps`: `minLr`
 *
 * @param options - `peak`, `warmupSteps = 0`, `totalSteps`, `minLr = 0`.
 * @returns an {@link LrSchedule}.
 * @example
 * ```ts
 * const lr = warmupLinearLr({ peak: 1e-3, warmupSteps: 10, totalSteps: 110 });
 * lr(60); // 5e-4
 * ```
 */
export function warmupLinearLr(options: WarmupDecayOptions): LrSchedule {
  const { peak, warmupSteps, totalSteps, minLr } = checkWarmup('warmupLinearLr', options);
  return described(
    (step) => {
      if (step < warmupSteps) return warmup(step, peak, warmupSteps);
      if (step >= totalSteps) return minLr;
      return peak + ((minLr - peak) * (step - warmupSteps)) / (totalSteps - warmupSteps);
    },
    { kind: 'warmup-linear', peak, warmupSteps, totalSteps, minLr },
  );
}

/**
 * A learning rate as JSON: what a checkpoint stores so that resuming needs no
 * code. Every schedule made by {@link constantLr}, {@link warmupCosineLr} or
 * {@link warmupLinearLr} has one ({@link describeLr}); your own functions do not.
 */
export type LrSpec =
  | { kind: 'constant'; learningRate: number }
  | ({ kind: 'warmup-cosine' | 'warmup-linear' } & Required<WarmupDecayOptions>);

const SPECS = new WeakMap<LrSchedule, LrSpec>();

function described(schedule: LrSchedule, spec: LrSpec): LrSchedule {
  SPECS.set(schedule, Object.freeze(spec));
  return schedule;
}

/**
 * The JSON description of a learning rate, for checkpoints.
 *
 * @param lr - a number, or a schedule from this module.
 * @returns its {@link LrSpec}, or `undefined` for a function of your own (store
 *   what rebuilds it yourself, and pass it again when resuming).
 * @example
 * ```ts
 * describeLr(warmupCosineLr({ peak: 1e-3, warmupSteps: 10, totalSteps: 100 }));
 * // { kind: 'warmup-cosine', peak: 0.001, warmupSteps: 10, totalSteps: 100, minLr: 0 }
 * ```
 */
export function describeLr(lr: number | LrSchedule): LrSpec | undefined {
  if (typeof lr === 'number') return { kind: 'constant', learningRate: lr };
  return SPECS.get(lr);
}

/**
 * Rebuilds a schedule from its {@link LrSpec} (the inverse of {@link describeLr}).
 *
 * @throws SculptError for a spec of unknown kind or with invalid numbers.
 * @example
 * ```ts
 * const lr = lrFromSpec({ kind: 'constant', learningRate: 1e-3 });
 * ```
 */
export function lrFromSpec(spec: LrSpec): LrSchedule {
  switch (spec?.kind) {
    case 'constant':
      return constantLr(spec.learningRate);
    case 'warmup-cosine':
      return warmupCosineLr(spec);
    case 'warmup-linear':
      return warmupLinearLr(spec);
    default:
      throw new SculptError(
        'lrFromSpec',
        "expected a learning-rate spec of kind 'constant', 'warmup-cosine' or 'warmup-linear'",
        `got ${String((spec as { kind?: unknown } | undefined)?.kind)}`,
        'pass the learning rate again when resuming',
      );
  }
}
