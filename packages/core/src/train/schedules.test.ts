import { describe, expect, it } from 'vitest';
import { SculptError } from '../errors.js';
import {
  constantLr,
  describeLr,
  type LrSpec,
  lrFromSpec,
  warmupCosineLr,
  warmupLinearLr,
} from './schedules.js';

describe('warmupCosineLr', () => {
  const lr = warmupCosineLr({ peak: 1e-3, warmupSteps: 10, totalSteps: 110, minLr: 1e-4 });

  it('warms up linearly from peak/W to peak', () => {
    expect(lr(0)).toBeCloseTo(1e-4, 15);
    expect(lr(4)).toBeCloseTo(5e-4, 15);
    expect(lr(9)).toBeCloseTo(1e-3, 15);
  });

  it('follows minLr + (peak − minLr)·½(1 + cos πp) after warm-up', () => {
    expect(lr(10)).toBeCloseTo(1e-3, 15); // p = 0
    expect(lr(35)).toBeCloseTo(1e-4 + 9e-4 * 0.5 * (1 + Math.SQRT1_2), 15); // p = 1/4
    expect(lr(60)).toBeCloseTo(5.5e-4, 15); // p = 1/2: midpoint
    expect(lr(85)).toBeCloseTo(1e-4 + 9e-4 * 0.5 * (1 - Math.SQRT1_2), 15); // p = 3/4
    expect(lr(110)).toBe(1e-4);
    expect(lr(10_000)).toBe(1e-4);
  });

  it('decreases monotonically after warm-up', () => {
    for (let s = 10; s < 120; s++) expect(lr(s + 1)).toBeLessThanOrEqual(lr(s));
  });

  it('without warm-up starts at peak and ends at 0', () => {
    const f = warmupCosineLr({ peak: 2, totalSteps: 4 });
    expect([0, 1, 2, 3, 4].map(f).map((x) => +x.toFixed(12))).toEqual(
      [2, 1 + Math.SQRT1_2, 1, 1 - Math.SQRT1_2, 0].map((x) => +x.toFixed(12)),
    );
  });
});

describe('warmupLinearLr', () => {
  it('warms up, then decays linearly to minLr', () => {
    const lr = warmupLinearLr({ peak: 1e-3, warmupSteps: 10, totalSteps: 110 });
    expect(lr(0)).toBeCloseTo(1e-4, 15);
    expect(lr(10)).toBeCloseTo(1e-3, 15);
    expect(lr(60)).toBeCloseTo(5e-4, 15);
    expect(lr(85)).toBeCloseTo(2.5e-4, 15);
    expect(lr(110)).toBe(0);
  });
});

describe('schedule errors', () => {
  it.each([
    [() => constantLr(-1), /constantLr: learningRate must be a finite number ≥ 0, got -1/],
    [
      () => warmupCosineLr({ peak: -1, totalSteps: 10 }),
      /warmupCosineLr: peak must be a finite number > 0, got -1/,
    ],
    [
      () => warmupCosineLr({ peak: 1, warmupSteps: 10, totalSteps: 10 }),
      /totalSteps must be an integer > warmupSteps, got totalSteps=10, warmupSteps=10/,
    ],
    [
      () => warmupLinearLr({ peak: 1, warmupSteps: 1.5, totalSteps: 10 }),
      /warmupLinearLr: warmupSteps must be an integer ≥ 0/,
    ],
    [
      () => warmupLinearLr({ peak: 1, totalSteps: 10, minLr: 2 }),
      /minLr must be in \[0, peak\], got minLr=2, peak=1/,
    ],
  ])('rejects bad options %#', (make, message) => {
    expect(make).toThrow(message);
  });

  it('constantLr is constant', () => {
    const f = constantLr(3e-4);
    expect([0, 1, 1e6].map(f)).toEqual([3e-4, 3e-4, 3e-4]);
  });
});

describe('describeLr / lrFromSpec', () => {
  it('round-trips every built-in schedule through JSON, step for step', () => {
    for (const lr of [
      constantLr(3e-4),
      warmupCosineLr({ peak: 1e-3, warmupSteps: 10, totalSteps: 110, minLr: 1e-4 }),
      warmupLinearLr({ peak: 2e-3, warmupSteps: 5, totalSteps: 50 }),
    ]) {
      const spec = describeLr(lr) as LrSpec;
      const again = lrFromSpec(JSON.parse(JSON.stringify(spec)));
      for (const step of [0, 4, 5, 9, 10, 30, 60, 109, 110, 500])
        expect(again(step)).toBe(lr(step));
    }
    expect(describeLr(1e-3)).toEqual({ kind: 'constant', learningRate: 1e-3 });
  });

  it('has no spec for a function of your own, and refuses an unknown spec', () => {
    expect(describeLr((step) => 1 / (step + 1))).toBeUndefined();
    expect(() => lrFromSpec({ kind: 'step-decay' } as unknown as LrSpec)).toThrow(SculptError);
  });
});
