import { describe, expect, it } from 'vitest';
import { SculptError } from '../errors.js';
import { noiseSchedule } from './noise-schedule.js';
import {
  appendZero,
  discreteSigmas,
  exponentialSigmas,
  karrasSigmas,
  polyexponentialSigmas,
  timestepSpacing,
  vpSigmas,
} from './sigmas.js';

function expectDescendingToZero(s: Float32Array, numSteps: number): void {
  expect(s).toBeInstanceOf(Float32Array);
  expect(s.length).toBe(numSteps + 1);
  expect(s[numSteps]).toBe(0);
  for (let i = 1; i < s.length; i++) expect(s[i]).toBeLessThan(s[i - 1]);
}

describe('sigma spacings', () => {
  it('karras: endpoints σ_max, σ_min, then 0, and σ^{1/ρ} evenly spaced', () => {
    const n = 10;
    const s = karrasSigmas({ numSteps: n, sigmaMin: 0.002, sigmaMax: 80 });
    expectDescendingToZero(s, n);
    expect(s[0]).toBeCloseTo(80, 4);
    expect(s[n - 1]).toBeCloseTo(0.002, 7);
    const root = Array.from(s.subarray(0, n), (v) => v ** (1 / 7));
    const step = (0.002 ** (1 / 7) - 80 ** (1 / 7)) / (n - 1);
    for (let i = 1; i < n; i++) expect(root[i] - root[i - 1]).toBeCloseTo(step, 5);
    // ρ = 1 is linear in σ.
    const lin = karrasSigmas({ numSteps: 5, sigmaMin: 1, sigmaMax: 5, rho: 1 });
    expect(Array.from(lin)).toEqual([5, 4, 3, 2, 1, 0]);
    expect(Array.from(karrasSigmas({ numSteps: 1, sigmaMin: 1, sigmaMax: 5 }))).toEqual([5, 0]);
  });

  it('exponential: ln σ evenly spaced', () => {
    const s = exponentialSigmas({ numSteps: 3, sigmaMin: 1, sigmaMax: 100 });
    expectDescendingToZero(s, 3);
    expect(s[0]).toBeCloseTo(100, 4);
    expect(s[1]).toBeCloseTo(10, 5);
    expect(s[2]).toBeCloseTo(1, 6);
  });

  it('polyexponential: ρ = 1 equals exponential; ρ = 2 follows exp(r²·ln(σmax/σmin) + ln σmin)', () => {
    const opts = { numSteps: 7, sigmaMin: 0.03, sigmaMax: 14.6 };
    const p1 = polyexponentialSigmas(opts);
    const e = exponentialSigmas(opts);
    for (let i = 0; i < e.length; i++) expect(p1[i]).toBeCloseTo(e[i], 5);
    const p2 = polyexponentialSigmas({ ...opts, rho: 2 });
    expectDescendingToZero(p2, 7);
    const r = 1 - 2 / 6; // linspace(1, 0, 7)[2]
    expect(p2[2]).toBeCloseTo(Math.exp(r * r * Math.log(14.6 / 0.03) + Math.log(0.03)), 5);
  });

  it('vp: σ(t) = √(exp(β_d t²/2 + β_min t) − 1) at t = linspace(1, ε_s)', () => {
    const s = vpSigmas({ numSteps: 50 });
    expectDescendingToZero(s, 50);
    expect(s[0]).toBeCloseTo(152.16697, 3);
    expect(s[49]).toBeCloseTo(Math.sqrt(Math.exp((19.9 * 1e-6) / 2 + 0.1 * 1e-3) - 1), 7);
  });

  it('appendZero copies and appends 0', () => {
    const src = [3, 2];
    expect(Array.from(appendZero(src))).toEqual([3, 2, 0]);
    expect(src).toEqual([3, 2]);
  });

  it('throws SculptErrors with a fix for bad arguments', () => {
    expect(() => karrasSigmas({ numSteps: 0, sigmaMin: 0.1, sigmaMax: 10 })).toThrow(
      /karrasSigmas: numSteps must be an integer in \[1, 100,000\], got 0\. Fix:/,
    );
    expect(() => karrasSigmas({ numSteps: 5, sigmaMin: 10, sigmaMax: 10 })).toThrow(
      /sigmaMin must be < sigmaMax.*Fix:/,
    );
    expect(() => exponentialSigmas({ numSteps: 5, sigmaMin: 0, sigmaMax: 10 })).toThrow(
      /must be positive.*Fix:/,
    );
    expect(() => polyexponentialSigmas({ numSteps: 5, sigmaMin: -1, sigmaMax: 10 })).toThrow(
      SculptError,
    );
    expect(() => vpSigmas({ numSteps: 2.5 })).toThrow(SculptError);
    expect(() => timestepSpacing({ numTrainTimesteps: 10, numSteps: 11 })).toThrow(
      /numTrainTimesteps must be an integer ≥ numSteps/,
    );
    expect(() =>
      timestepSpacing({ numTrainTimesteps: 10, numSteps: 2, spacing: 'middle' as never }),
    ).toThrow(/spacing must be/);
  });
});

describe('timestepSpacing (diffusers, T = 1000, n = 10)', () => {
  const base = { numTrainTimesteps: 1000, numSteps: 10 };
  it('leading: arange(n)·(T // n) reversed (+ steps_offset)', () => {
    const t = timestepSpacing({ ...base, spacing: 'leading' });
    expect(t).toBeInstanceOf(Int32Array);
    expect(Array.from(t)).toEqual([900, 800, 700, 600, 500, 400, 300, 200, 100, 0]);
    expect(Array.from(timestepSpacing({ ...base, stepsOffset: 1 }))).toEqual([
      901, 801, 701, 601, 501, 401, 301, 201, 101, 1,
    ]);
  });
  it('linspace: round(linspace(0, T − 1, n)) reversed', () => {
    expect(Array.from(timestepSpacing({ ...base, spacing: 'linspace' }))).toEqual([
      999, 888, 777, 666, 555, 444, 333, 222, 111, 0,
    ]);
    // 499.5 rounds half to even like numpy.
    expect(
      Array.from(timestepSpacing({ numTrainTimesteps: 1000, numSteps: 3, spacing: 'linspace' })),
    ).toEqual([999, 500, 0]);
  });
  it('trailing: round(arange(T, 0, −T/n)) − 1, starting at T − 1', () => {
    expect(Array.from(timestepSpacing({ ...base, spacing: 'trailing' }))).toEqual([
      999, 899, 799, 699, 599, 499, 399, 299, 199, 99,
    ]);
    expect(
      Array.from(timestepSpacing({ numTrainTimesteps: 1000, numSteps: 3, spacing: 'trailing' })),
    ).toEqual([999, 666, 332]);
  });
});

describe('discreteSigmas', () => {
  it('picks the schedule sigmas at the spaced timesteps and appends 0', () => {
    const s = noiseSchedule({ kind: 'scaled-linear' });
    const sig = discreteSigmas(s, { numSteps: 10, spacing: 'trailing' });
    expectDescendingToZero(sig, 10);
    expect(sig[0]).toBe(s.sigmas[999]);
    expect(sig[9]).toBe(s.sigmas[99]);
    expect(discreteSigmas(s, { numSteps: 10 })[0]).toBe(s.sigmas[900]);
    // linspace(0, 999, 3) = [0, 499.5, 999]: the middle σ is interpolated linearly, as np.interp.
    const lin = discreteSigmas(s, { numSteps: 3, spacing: 'linspace' });
    expect(Array.from(lin)).toEqual([
      s.sigmas[999],
      Math.fround((s.sigmas[499] + s.sigmas[500]) / 2),
      s.sigmas[0],
      0,
    ]);
  });
});
