import { describe, expect, it } from 'vitest';
import { budgetClock, CLOCK_FLOOR, diffusionLr, lrSpec, STEPS_FLOOR } from './diffusion-lr.js';

/** A clock the test moves by hand (seconds). */
function manualClock(start = 1000) {
  let t = start;
  return {
    now: () => t,
    advance: (s: number) => {
      t += s;
    },
  };
}

describe('budgetClock', () => {
  it('starts at its first reading and reaches 1 when the budget is spent', () => {
    const clock = manualClock();
    const spent = budgetClock({ totalSeconds: 300, spentSeconds: 0 }, clock.now);
    clock.advance(42); // time before the first step does not count
    expect(spent()).toBe(0);
    clock.advance(150);
    expect(spent()).toBeCloseTo(0.5, 12);
    clock.advance(600);
    expect(spent()).toBe(1);
  });

  it('counts the seconds of earlier sessions of a resumed run', () => {
    const clock = manualClock();
    const spent = budgetClock({ totalSeconds: 600, spentSeconds: 300 }, clock.now);
    expect(spent()).toBeCloseTo(0.5, 12);
    clock.advance(150);
    expect(spent()).toBeCloseTo(0.75, 12);
  });
});

describe('diffusionLr', () => {
  const peak = 2e-3;

  it('warms up linearly, then follows the clock down to peak/20 when the budget ends', () => {
    const spec = lrSpec('mnist', undefined);
    expect(spec).toEqual({ peak, warmupSteps: 50, totalSteps: null });
    const clock = manualClock();
    const lr = diffusionLr(spec, budgetClock({ totalSeconds: 300, spentSeconds: 0 }, clock.now));
    expect(lr(0)).toBeCloseTo(peak / 50, 12);
    expect(lr(49)).toBeCloseTo(peak, 12);
    clock.advance(150); // half the budget: half-way down the cosine, whatever the step
    const half = peak * CLOCK_FLOOR + (peak - peak * CLOCK_FLOOR) / 2;
    expect(lr(60)).toBeCloseTo(half, 12);
    expect(lr(6000)).toBeCloseTo(half, 12);
    clock.advance(150);
    expect(lr(1300)).toBeCloseTo(peak * CLOCK_FLOOR, 12);
    clock.advance(30); // the clock is clamped: never below the floor
    expect(lr(1301)).toBeCloseTo(peak * CLOCK_FLOOR, 12);
  });

  it('decreases as the budget is spent, however many steps the machine manages', () => {
    for (const stepsPerSecond of [2, 4, 7]) {
      const clock = manualClock();
      const lr = diffusionLr(
        lrSpec('mnist', undefined),
        budgetClock({ totalSeconds: 300, spentSeconds: 0 }, clock.now),
      );
      const rates: number[] = [];
      for (let step = 0; step < 300 * stepsPerSecond; step++) {
        rates.push(lr(step));
        clock.advance(1 / stepsPerSecond);
      }
      const after = rates.slice(50);
      expect(after.every((r, i) => i === 0 || r <= after[i - 1])).toBe(true);
      expect(rates.at(-1)).toBeLessThan(peak * CLOCK_FLOOR * 1.01);
    }
  });

  it('decays over the planned steps of a --steps run, ignoring any clock', () => {
    const spec = lrSpec('mnist', 2000);
    expect(spec).toEqual({ peak, warmupSteps: 100, totalSteps: 2000 });
    const clock = manualClock();
    const lr = diffusionLr(spec, budgetClock({ totalSeconds: 1, spentSeconds: 0 }, clock.now));
    clock.advance(10);
    expect(lr(1050)).toBeCloseTo(peak * STEPS_FLOOR + (peak - peak * STEPS_FLOOR) / 2, 12);
    expect(lr(2000)).toBeCloseTo(peak * STEPS_FLOOR, 12);
  });

  it('stays at the peak after warm-up when neither steps nor a budget are known', () => {
    const lr = diffusionLr({ peak, warmupSteps: 100, totalSteps: null });
    expect(lr(99)).toBeCloseTo(peak, 12);
    expect(lr(5000)).toBe(peak);
  });
});
