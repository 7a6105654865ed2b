/**
 * Sampler-specific checks the registry-wide suite cannot make: algebraic
 * identities between samplers, closed-form coefficients, and the ODE limit
 * (η = 0) of the SDE samplers.
 */
import '@tensorflow/tfjs-backend-cpu';
import { Rng } from '@sculpt/core';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { gaussianMixtureDenoiser } from '../conformance/gaussian-mixture.js';
import { convergence, suiteSigmas } from '../conformance/suite.js';
import {
  ddim,
  ddpm,
  dpmpp2m,
  dpmpp2mSde,
  dpmpp3mSde,
  euler,
  eulerAncestral,
  lms,
  unipc,
} from './index.js';
import { lmsCoefficient } from './lms.js';
import type { DiffusionSampler } from './types.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const denoiser = gaussianMixtureDenoiser();

function diff(
  a: DiffusionSampler,
  b: DiffusionSampler,
  optsA: Record<string, unknown>,
  optsB: Record<string, unknown>,
): number {
  const xT = new Rng(21).normal([32, 2], { std: 80 });
  const sigmas = suiteSigmas(12);
  const x = a.sample(denoiser, xT, sigmas, { rng: new Rng(5), ...optsA });
  const y = b.sample(denoiser, xT, sigmas, { rng: new Rng(5), ...optsB });
  const d = tf.tidy(() => tf.max(tf.abs(tf.sub(x, y))).dataSync()[0]);
  tf.dispose([xT, x, y]);
  return d;
}

describe('identities between samplers (same update written two ways)', () => {
  it('DDIM with η = 0 is Euler in σ', () => expect(diff(ddim, euler, {}, {})).toBeLessThan(1e-4));
  it('DDIM with η = 1 is Euler ancestral', () =>
    expect(diff(ddim, eulerAncestral, { eta: 1 }, {})).toBeLessThan(1e-4));
  it("DDPM's posterior is the ancestral step with η = 1", () =>
    expect(diff(ddpm, eulerAncestral, {}, {})).toBeLessThan(1e-4));
  it("DDPM with variance 'beta' adds more noise than the posterior", () =>
    expect(diff(ddpm, ddpm, { variance: 'beta' }, {})).toBeGreaterThan(1e-3));
  it('UniPC without corrector, order 2, is DPM++ 2M', () =>
    expect(diff(unipc, dpmpp2m, { corrector: false }, {})).toBeLessThan(1e-4));
  it('DPM++ 2M SDE with η = 0 is DPM++ 2M', () =>
    expect(diff(dpmpp2mSde, dpmpp2m, { eta: 0 }, {})).toBeLessThan(1e-4));
  it('LMS of order 1 is Euler', () =>
    expect(diff(lms, euler, { order: 1 }, {})).toBeLessThan(1e-4));
  it('Euler with churn differs from Euler and needs an rng', () => {
    expect(diff(euler, euler, { churn: 5 }, {})).toBeGreaterThan(1e-3);
    const xT = tf.zeros([2, 2]);
    expect(() => euler.sample(denoiser, xT, suiteSigmas(3), { churn: 5 })).toThrow(
      /needs options\.rng/,
    );
    xT.dispose();
  });
});

describe('closed forms', () => {
  it('LMS coefficients integrate polynomials exactly', () => {
    const s = new Float32Array([10, 6, 3, 1.5, 0.5, 0]);
    // Σ_j c_j = ∫ 1 dσ = σ_{i+1} − σ_i, and Σ_j c_j σ_{i−j} = ∫ τ dτ for order ≥ 2.
    const i = 3;
    for (const order of [1, 2, 3, 4]) {
      let sum = 0;
      let first = 0;
      for (let j = 0; j < order; j++) {
        const c = lmsCoefficient(s, order, i, j);
        sum += c;
        first += c * s[i - j];
      }
      expect(sum).toBeCloseTo(s[i + 1] - s[i], 10);
      if (order >= 2) expect(first).toBeCloseTo((s[i + 1] ** 2 - s[i] ** 2) / 2, 10);
    }
  });
});

describe('ODE limits of the SDE samplers (η = 0) keep their order', () => {
  const fit = { stepCounts: [50, 100, 200], fitOn: [50, 100, 200] };
  it('DPM++ 2M SDE, η = 0: order ≈ 2', async () => {
    const r = await convergence(dpmpp2mSde, { ...fit, samplerOptions: { eta: 0 } });
    expect(r.order).toBeGreaterThan(1.7);
  });
  it('DPM++ 3M SDE, η = 0: order > 2 (k-diffusion weighting of the second difference, see the file)', async () => {
    const r = await convergence(dpmpp3mSde, { ...fit, samplerOptions: { eta: 0 } });
    // Measured 2.2 on 50/100/200 steps; a Taylor-consistent φ₃ term would give ≈ 3.2.
    expect(r.order).toBeGreaterThan(1.9);
    expect(r.errors[2]).toBeLessThan(2e-4);
  });
});
