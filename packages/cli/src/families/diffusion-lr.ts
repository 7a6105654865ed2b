// The diffusion family's learning rate: linear warm-up, then a cosine decay
// that ends when the run does. A run planned in steps (`--steps`) decays over
// its steps; a run planned in time (`--minutes`, `sculpt demo`) does not know
// how many steps it will get, so its decay follows the clock: the learning
// rate reaches its floor when the time budget runs out, whatever the machine's
// load (the recipe of packages/diffusion/scripts/train-mnist.ts).
import { type LrSchedule, warmupCosineLr } from '@sculpt/core';
import type { TimeBudget } from '../family.js';

/** How the learning rate moves, as stored in a checkpoint (plain JSON). */
export interface LrSpec {
  /** The largest rate, reached at the end of warm-up. */
  peak: number;
  /** Steps of linear warm-up. */
  warmupSteps: number;
  /** The planned steps of a `--steps` run; null for a time budget. */
  totalSteps: number | null;
}

/** Where a clock-following decay ends, as a fraction of the peak (train-mnist's 2e-3 → 1e-4). */
export const CLOCK_FLOOR = 1 / 20;
/** Where a step-planned decay ends, as a fraction of the peak. */
export const STEPS_FLOOR = 1 / 10;

/** The peak rate of each preset (others: 1e-3). */
const PEAK_LR: Readonly<Record<string, number>> = Object.freeze({ tiny: 2e-3, mnist: 2e-3 });

/**
 * The learning-rate spec of a fresh run.
 *
 * @param preset - the family preset (picks the peak).
 * @param totalSteps - the planned steps, or undefined for a time budget.
 * @returns warm-up of a tenth of the steps (at most 100), or 50 steps for a time budget.
 * @example
 * ```ts
 * lrSpec('mnist', 2000); // { peak: 2e-3, warmupSteps: 100, totalSteps: 2000 }
 * ```
 */
export function lrSpec(preset: string, totalSteps: number | undefined): LrSpec {
  const warmupSteps = totalSteps === undefined ? 50 : Math.min(100, Math.floor(totalSteps / 10));
  return { peak: PEAK_LR[preset] ?? 1e-3, warmupSteps, totalSteps: totalSteps ?? null };
}

/**
 * A clock that reads the fraction of a time budget spent: the seconds of
 * earlier sessions plus the time since its first reading (the first training
 * step), over the whole budget, clamped to [0, 1].
 *
 * @param budget - the run's budget.
 * @param now - seconds from a monotonic clock (default `performance.now() / 1000`; tests pass their own).
 * @returns a function of no arguments giving the fraction spent.
 * @example
 * ```ts
 * const spent = budgetClock({ totalSeconds: 300, spentSeconds: 0 });
 * spent(); // 0 at the first step, 1 after five minutes
 * ```
 */
export function budgetClock(
  budget: TimeBudget,
  now: () => number = () => performance.now() / 1000,
): () => number {
  let started: number | undefined;
  return () => {
    const t = now();
    started ??= t;
    const elapsed = budget.spentSeconds + (t - started);
    return Math.min(1, Math.max(0, elapsed / Math.max(1e-9, budget.totalSeconds)));
  };
}

/**
 * The schedule of a spec: warm-up, then cosine decay to `peak/10` at
 * `totalSteps` when the run is planned in steps; to `peak/20` when the
 * `spent` fraction of the time budget reaches 1 when planned in time; flat
 * after warm-up when neither is known (sampling only).
 *
 * @param spec - the stored spec.
 * @param spent - the fraction of the time budget spent ({@link budgetClock}), for runs planned in time.
 * @returns a schedule of the 0-based step.
 * @example
 * ```ts
 * const lr = diffusionLr(lrSpec('mnist', undefined), budgetClock({ totalSeconds: 300, spentSeconds: 0 }));
 * ```
 */
export function diffusionLr(spec: LrSpec, spent?: () => number): LrSchedule {
  const { peak, warmupSteps, totalSteps } = spec;
  if (totalSteps !== null && totalSteps > warmupSteps)
    return warmupCosineLr({ peak, warmupSteps, totalSteps, minLr: peak * STEPS_FLOOR });
  const warm = (step: number) => (peak * (step + 1)) / Math.max(1, warmupSteps);
  if (spent === undefined) return (step) => (step < warmupSteps ? warm(step) : peak);
  const minLr = peak * CLOCK_FLOOR;
  return (step) => {
    const p = spent(); // read every step, so the clock starts at the first one
    if (step < warmupSteps) return warm(step);
    return minLr + (peak - minLr) * 0.5 * (1 + Math.cos(Math.PI * p));
  };
}
