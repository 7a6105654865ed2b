import { describe, expect, it } from 'vitest';
import { SculptError } from '../errors.js';
import {
  alphaCumprodToSigma,
  logSnrToSigma,
  noiseSchedule,
  sigmaToAlphaCumprod,
  sigmaToLogSnr,
  sigmaToT,
  tToSigma,
} from './noise-schedule.js';

describe('noiseSchedule', () => {
  it('defaults to linear, T = 1000, frozen, with ascending σ_t = √((1 − ᾱ_t)/ᾱ_t)', () => {
    const s = noiseSchedule();
    expect(s.kind).toBe('linear');
    expect(s.numTrainTimesteps).toBe(1000);
    expect(Object.isFrozen(s)).toBe(true);
    // σ_0 = √(β_0/(1 − β_0)) exactly; float32 ᾱ loses digits of 1 − ᾱ near t = 0, σ (from float64) does not.
    expect(s.sigmas[0]).toBeCloseTo(Math.sqrt(1e-4 / 0.9999), 9);
    for (const t of [500, 999]) {
      expect(s.sigmas[t] / Math.sqrt((1 - s.alphasCumprod[t]) / s.alphasCumprod[t])).toBeCloseTo(
        1,
        5,
      );
    }
    for (let t = 1; t < 1000; t++) expect(s.sigmas[t]).toBeGreaterThan(s.sigmas[t - 1]);
  });

  it("scaled-linear reproduces Stable Diffusion's sigma range (0.0292 … 14.6146)", () => {
    const s = noiseSchedule({ kind: 'scaled-linear' });
    expect(s.sigmas[0]).toBeCloseTo(0.029167, 5);
    expect(s.sigmas[999]).toBeCloseTo(14.614641, 4);
  });

  it('zero terminal SNR: ᾱ_T = 0, ᾱ_0 kept, last σ clamped to √((1 − 2⁻²⁴)/2⁻²⁴) ≈ 4096', () => {
    const plain = noiseSchedule({ kind: 'scaled-linear' });
    const z = noiseSchedule({ kind: 'scaled-linear', zeroTerminalSnr: true });
    expect(z.zeroTerminalSnr).toBe(true);
    expect(z.alphasCumprod[999]).toBe(0);
    expect(z.alphasCumprod[0]).toBeCloseTo(plain.alphasCumprod[0], 7);
    expect(z.sigmas[999]).toBeCloseTo(4095.99988, 2);
    expect(Number.isFinite(sigmaToT(z, 100))).toBe(true);
  });
});

describe('conversions', () => {
  it('σ ↔ ᾱ ↔ logSNR closed forms', () => {
    expect(sigmaToAlphaCumprod(1)).toBe(0.5);
    expect(sigmaToAlphaCumprod(3)).toBeCloseTo(0.1, 12);
    expect(alphaCumprodToSigma(0.1)).toBeCloseTo(3, 12);
    expect(alphaCumprodToSigma(sigmaToAlphaCumprod(0.37))).toBeCloseTo(0.37, 12);
    expect(sigmaToLogSnr(1)).toBe(-0);
    expect(sigmaToLogSnr(Math.E)).toBeCloseTo(-2, 12);
    expect(logSnrToSigma(sigmaToLogSnr(7.5))).toBeCloseTo(7.5, 12);
    // logSNR = ln(ᾱ/(1 − ᾱ)).
    const a = sigmaToAlphaCumprod(2.5);
    expect(sigmaToLogSnr(2.5)).toBeCloseTo(Math.log(a / (1 - a)), 12);
    expect(() => sigmaToAlphaCumprod(-1)).toThrow(SculptError);
  });

  it('sigmaToT hits the discrete timesteps and interpolates in log σ', () => {
    const s = noiseSchedule();
    for (const t of [0, 1, 250, 998, 999]) expect(sigmaToT(s, s.sigmas[t])).toBeCloseTo(t, 4);
    const mid = Math.sqrt(s.sigmas[10] * s.sigmas[11]); // geometric mean → t = 10.5
    expect(sigmaToT(s, mid)).toBeCloseTo(10.5, 4);
    expect(sigmaToT(s, 0)).toBe(0);
    expect(sigmaToT(s, 1e-9)).toBe(0);
    expect(sigmaToT(s, 1e9)).toBe(999);
    expect(() => sigmaToT(s, -1)).toThrow(/sigmaToT: sigma must be ≥ 0/);
  });

  it('sigmaToT ∘ tToSigma is the identity on [0, T − 1]', () => {
    for (const kind of ['linear', 'scaled-linear', 'cosine', 'sigmoid'] as const) {
      const s = noiseSchedule({ kind });
      for (const t of [0, 0.5, 3.25, 123.75, 500, 998.9, 999]) {
        expect(sigmaToT(s, tToSigma(s, t))).toBeCloseTo(t, 3);
      }
    }
    const s = noiseSchedule();
    expect(tToSigma(s, 10.5)).toBeCloseTo(Math.sqrt(s.sigmas[10] * s.sigmas[11]), 6);
    expect(() => tToSigma(s, 1000)).toThrow(/tToSigma: t must be in \[0, 999\].*Fix:/);
  });
});
