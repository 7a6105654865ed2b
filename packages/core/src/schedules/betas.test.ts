import { describe, expect, it } from 'vitest';
import { SculptError } from '../errors.js';
import { alphasCumprod, betaSchedule, rescaleZeroTerminalSnr } from './betas.js';

const T = 1000;

describe('betaSchedule', () => {
  it('linear: 1e-4 → 0.02 evenly spaced (DDPM)', () => {
    const b = betaSchedule('linear', T);
    expect(b).toBeInstanceOf(Float32Array);
    expect(b.length).toBe(T);
    expect(b[0]).toBeCloseTo(1e-4, 9);
    expect(b[T - 1]).toBeCloseTo(0.02, 9);
    expect(b[500]).toBeCloseTo(1e-4 + (500 * (0.02 - 1e-4)) / 999, 8);
  });

  it('linear ᾱ matches float64 references (numpy cumprod) and the log-series closed form', () => {
    const a = alphasCumprod(betaSchedule('linear', T));
    // numpy: np.cumprod(1 - np.linspace(1e-4, 0.02, 1000)) at t = 0, 499, 999.
    expect(a[0]).toBeCloseTo(0.9999, 7);
    expect(a[499] / 0.07858724288177824).toBeCloseTo(1, 6);
    expect(a[999] / 4.035829765375676e-5).toBeCloseTo(1, 5);
    // ln ᾱ_t = −Σβ − Σβ²/2 − Σβ³/3 − …; with β_s = β₀ + sΔ the first term is an arithmetic series.
    const t = 499;
    const d = (0.02 - 1e-4) / 999;
    let s2 = 0;
    let s3 = 0;
    for (let s = 0; s <= t; s++) {
      const beta = 1e-4 + s * d;
      s2 += beta * beta;
      s3 += beta ** 3;
    }
    const s1 = ((t + 1) * (1e-4 + (1e-4 + t * d))) / 2;
    expect(Math.log(a[t])).toBeCloseTo(-s1 - s2 / 2 - s3 / 3, 6);
  });

  it('scaled-linear: linspace(√0.00085, √0.012)² (Stable Diffusion)', () => {
    const b = betaSchedule('scaled-linear', T);
    const r0 = Math.sqrt(0.00085);
    const r1 = Math.sqrt(0.012);
    expect(b[0]).toBeCloseTo(0.00085, 9);
    expect(b[T - 1]).toBeCloseTo(0.012, 9);
    expect(b[333] / (r0 + (333 * (r1 - r0)) / 999) ** 2).toBeCloseTo(1, 6);
  });

  it('cosine: ᾱ_t telescopes to cos²(((t+1)/T + s)/(1 + s)·π/2)/cos²(s/(1 + s)·π/2)', () => {
    const a = alphasCumprod(betaSchedule('cosine', T));
    const f = (u: number): number => Math.cos(((u + 0.008) / 1.008) * (Math.PI / 2)) ** 2;
    for (const t of [0, 10, 499, 900, 990]) {
      expect(a[t] / (f((t + 1) / T) / f(0))).toBeCloseTo(1, 5);
    }
    const b = betaSchedule('cosine', T);
    expect(b[T - 1]).toBeCloseTo(0.999, 6); // 1 − f(1)/f(1−1/T) = 1 is clipped.
    expect(Math.max(...b)).toBeLessThanOrEqual(0.999 + 1e-7);
  });

  it('sigmoid: ᾱ_t telescopes to the normalised sigmoid (lucidrains/RIN, start −3, end 3, τ = 1)', () => {
    const a = alphasCumprod(betaSchedule('sigmoid', T));
    const sig = (x: number): number => 1 / (1 + Math.exp(-x));
    const raw = (u: number): number => (sig(3) - sig(6 * u - 3)) / (sig(3) - sig(-3));
    for (const t of [0, 249, 499, 749]) expect(a[t] / raw((t + 1) / T)).toBeCloseTo(1, 5);
    expect(a[499]).toBeCloseTo(0.5, 5); // u = 1/2: (σ(3) − σ(0))/(σ(3) − σ(−3)) = 1/2 by symmetry.
    // τ = 2 changes the curve.
    const a2 = alphasCumprod(betaSchedule('sigmoid', T, { sigmoidTau: 2 }));
    expect(Math.abs(a2[249] - a[249])).toBeGreaterThan(1e-3);
  });

  it('throws a SculptError with a fix for an unknown kind or a bad T', () => {
    expect(() => betaSchedule('quadratic' as never, T)).toThrow(SculptError);
    expect(() => betaSchedule('quadratic' as never, T)).toThrow(
      /betaSchedule: kind must be one of .*Fix:/,
    );
    expect(() => betaSchedule('linear', 0)).toThrow(
      /numTrainTimesteps must be a positive integer, got 0\. Fix:/,
    );
    expect(() => betaSchedule('linear', T, { betaEnd: 1.5 })).toThrow(SculptError);
  });
});

describe('rescaleZeroTerminalSnr', () => {
  it('makes ᾱ_T = 0, keeps ᾱ_0, and keeps √ᾱ affine in the original √ᾱ (Lin et al. 2024, Alg. 1)', () => {
    const betas = betaSchedule('scaled-linear', T);
    const before = alphasCumprod(betas);
    const after = alphasCumprod(rescaleZeroTerminalSnr(betas));
    expect(after[T - 1]).toBe(0);
    expect(after[0]).toBeCloseTo(before[0], 7);
    // √ᾱ'_t = (√ᾱ_t − √ᾱ_T)·√ᾱ_0/(√ᾱ_0 − √ᾱ_T).
    const s0 = Math.sqrt(before[0]);
    const sT = Math.sqrt(before[T - 1]);
    expect(Math.sqrt(after[500])).toBeCloseTo(((Math.sqrt(before[500]) - sT) * s0) / (s0 - sT), 5);
    expect(rescaleZeroTerminalSnr(betas)[T - 1]).toBe(1);
  });
});
