/**
 * The conformance suite: every registered sampler, with no per-sampler code.
 * What each check means and its tolerance is stated beside it; the numbers
 * come from the analytic Gaussian-mixture denoiser, so nothing is trained.
 */
import '@tensorflow/tfjs-backend-cpu';
import { AbortError, Rng, type Sampler, SculptError } from '@sculpt/core';
import { expectNoLeak } from '@sculpt/core/testing';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import type { DiffusionSampler } from '../diffusion/types.js';
import { getSampler, listSamplers } from '../registry.js';
import {
  DEFAULT_MIXTURE,
  type GaussianMixture,
  gaussianMixtureDenoiser,
} from './gaussian-mixture.js';
import { convergence, distribution, suiteSigmas } from './suite.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/** Convergence: errors at these step counts (EDM range σ 80 → 0.002, ρ = 7), order fitted on the last three. */
const STEP_COUNTS = [5, 10, 20, 50, 100, 200];
const FIT_ON = [50, 100, 200];
/** Measured order must lie in [claimed − 0.5, claimed + 1]. */
const ORDER_BELOW = 0.5;
const ORDER_ABOVE = 1;
/** Distribution: 2000 samples, 50 steps. Weights ±0.05 (≈ 4.5 standard errors), means within 0.25 component stds, stds within 20 %. */
const DIST = { numSamples: 2000, numSteps: 50 };
const TOL = { weight: 0.05, mean: 0.25, std: 0.2 };

const denoiser = gaussianMixtureDenoiser();
const samplers = listSamplers().map((s) => [s.name, s] as const);

function run(sampler: DiffusionSampler, seed: number, xT: tf.Tensor, numSteps = 8): tf.Tensor {
  return sampler.sample(denoiser, xT, suiteSigmas(numSteps), { rng: new Rng(seed) });
}

function maxAbsDiff(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]);
}

describe('registry', () => {
  it('has unique names and aliases, each resolving to its sampler', () => {
    const seen = new Map<string, string>();
    const norm = (n: string) =>
      n
        .toLowerCase()
        .replace(/\+/g, 'p')
        .replace(/[\s_\-.]/g, '');
    for (const s of listSamplers()) {
      for (const n of [s.name, ...s.aliases]) {
        expect(seen.get(norm(n)) ?? s.name, `${n} is claimed twice`).toBe(s.name);
        seen.set(norm(n), s.name);
        expect(getSampler(n)).toBe(s);
      }
    }
    expect(getSampler('DPM++ 2M').name).toBe('dpmpp-2m');
    expect(getSampler('Euler a').name).toBe('euler-ancestral');
    expect(() => getSampler('nope')).toThrow(
      /getSampler: expected a registered sampler name or alias, got 'nope'/,
    );
  });
});

describe.each(samplers)('%s', (_name, sampler) => {
  it('has complete metadata and fits the core Sampler contract', () => {
    const contract: Sampler = sampler.sample; // compile-time check
    expect(typeof contract).toBe('function');
    expect(sampler.paper.length).toBeGreaterThan(10);
    expect(sampler.nfePerStep).toBeGreaterThanOrEqual(1);
    expect(Number.isInteger(sampler.order)).toBe(true);
    expect(sampler.stochastic ? sampler.order === 0 : sampler.order >= 1).toBe(true);
  });

  it.runIf(!sampler.stochastic)(
    'converges to the probability-flow ODE solution at its claimed order',
    async () => {
      const report = await convergence(sampler, { stepCounts: STEP_COUNTS, fitOn: FIT_ON });
      for (let k = 1; k < report.errors.length; k++) {
        expect(report.errors[k], `error at ${STEP_COUNTS[k]} steps`).toBeLessThan(
          report.errors[k - 1],
        );
      }
      expect(report.errors[report.errors.length - 1]).toBeLessThan(2e-2);
      expect(report.order).toBeGreaterThan(sampler.order - ORDER_BELOW);
      expect(report.order).toBeLessThan(sampler.order + ORDER_ABOVE);
      // NFE: nfePerStep on every step but possibly the last (which may need only one).
      report.nfe.forEach((nfe, k) => {
        expect(nfe).toBeLessThanOrEqual(sampler.nfePerStep * STEP_COUNTS[k]);
        expect(nfe).toBeGreaterThanOrEqual(sampler.nfePerStep * (STEP_COUNTS[k] - 1) + 1);
      });
    },
  );

  it.runIf(sampler.stochastic)('reproduces the mixture weights, means and stds', async () => {
    const r = await distribution(sampler, { ...DIST, seed: 1 });
    expect(r.weightError).toBeLessThan(TOL.weight);
    expect(r.meanError).toBeLessThan(TOL.mean);
    expect(r.stdError).toBeLessThan(TOL.std);
  });

  it('is reproducible: same seed, same output; a new seed changes it only if stochastic', () => {
    const xT = new Rng(3).normal([16, 2], { std: 80 });
    const [a, b, c] = [run(sampler, 1, xT), run(sampler, 1, xT), run(sampler, 2, xT)];
    expect(maxAbsDiff(a, b)).toBe(0);
    if (sampler.stochastic) expect(maxAbsDiff(a, c)).toBeGreaterThan(1e-3);
    else expect(maxAbsDiff(a, c)).toBe(0);
    tf.dispose([xT, a, b, c]);
  });

  it('keeps the shape, never disposes xT and leaks nothing', async () => {
    const xT = new Rng(4).normal([2, 3, 4, 2], { std: 80 }); // per item: 12 rows of D = 2
    await expectNoLeak(() => {
      const out = run(sampler, 5, xT);
      expect(out.shape).toEqual([2, 3, 4, 2]);
      expect(xT.isDisposed).toBe(false);
      return out;
    });
    await expectNoLeak(() =>
      sampler.sampleAsync(denoiser, xT, suiteSigmas(4), { rng: new Rng(1) }),
    );
    await expectNoLeak(async () => {
      // Leaving the async iterator early frees the sampler's tensors.
      for await (const step of sampler.steps(denoiser, xT, suiteSigmas(6), { rng: new Rng(1) })) {
        if (step.i === 2) break;
      }
    });
    xT.dispose();
  });

  it('sampleAsync, steps and onStep agree with sample', async () => {
    const xT = new Rng(6).normal([8, 2], { std: 80 });
    const sigmas = suiteSigmas(6);
    const seen: number[] = [];
    const sync = sampler.sample(denoiser, xT, sigmas, {
      rng: new Rng(9),
      onStep: (s) => seen.push(s.sigma),
    });
    const viaAsync = await sampler.sampleAsync(denoiser, xT, sigmas, { rng: new Rng(9) });
    let last: tf.Tensor | undefined;
    let count = 0;
    for await (const step of sampler.steps(denoiser, xT, sigmas, { rng: new Rng(9) })) {
      count++;
      expect(step.x.shape).toEqual([8, 2]);
      expect(step.denoised.shape).toEqual([8, 2]);
      if (step.last) last = tf.clone(step.x);
    }
    expect(count).toBe(seen.length);
    expect(count).toBeGreaterThanOrEqual(sigmas.length - 1);
    expect(seen[0]).toBeCloseTo(sigmas[0], 3);
    expect(maxAbsDiff(sync, viaAsync)).toBe(0);
    expect(last && maxAbsDiff(sync, last)).toBe(0);
    tf.dispose([xT, sync, viaAsync, last]);
  });

  it('rejects bad input with errors that name it', async () => {
    const xT = tf.zeros([4, 2]);
    const call =
      (sigmas: Float32Array, options = { rng: new Rng(0) } as Record<string, unknown>) =>
      () =>
        sampler.sample(denoiser, xT, sigmas, options);
    const where = new RegExp(`^${sampler.name}: `);
    expect(call(new Float32Array([1, 2, 0]))).toThrow(/strictly decreasing/);
    expect(call(new Float32Array([2, 1, 0.5]))).toThrow(/must end with 0.*Fix: use appendZero/);
    expect(call(new Float32Array([1]))).toThrow(/at least 2 values/);
    expect(call(new Float32Array([1, Number.NaN, 0]))).toThrow(where);
    if (sampler.stochastic) {
      expect(call(suiteSigmas(4), {})).toThrow(
        /needs options\.rng.*Fix: pass \{ rng: new Rng\(seed\) \}/,
      );
    }
    const aborted = AbortSignal.abort();
    expect(call(suiteSigmas(4), { rng: new Rng(0), signal: aborted })).toThrow(AbortError);
    // Aborting mid-run stops between steps and frees everything.
    const controller = new AbortController();
    await expectNoLeak(() => {
      expect(() =>
        sampler.sample(denoiser, xT, suiteSigmas(6), {
          rng: new Rng(0),
          signal: controller.signal,
          onStep: (s) => s.i === 1 && controller.abort(),
        }),
      ).toThrow(AbortError);
    });
    await expect(
      sampler.sampleAsync(denoiser, xT, suiteSigmas(4), { rng: new Rng(0), signal: aborted }),
    ).rejects.toThrow(SculptError);
    xT.dispose();
  });
});

describe('the suite can fail', () => {
  // Negative controls: a denoiser for the wrong data must be caught by the same checks.
  const wrong: GaussianMixture = {
    ...DEFAULT_MIXTURE,
    stds: DEFAULT_MIXTURE.stds.map((s) => s.map((v) => v * 1.4)),
  };
  it.each(samplers.filter(([, s]) => s.stochastic).slice(0, 2))(
    '%s with a mis-specified denoiser fails the distribution check',
    async (_n, sampler) => {
      const r = await distribution(sampler, {
        ...DIST,
        seed: 1,
        denoiser: gaussianMixtureDenoiser(wrong),
      });
      expect(r.stdError).toBeGreaterThan(TOL.std);
    },
  );
  it('too few steps fail the accuracy bound', async () => {
    const r = await convergence(getSampler('euler'), { stepCounts: [5] });
    expect(r.errors[0]).toBeGreaterThan(2e-2);
  });
});
