import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initBackend } from '@sculpt/backend';
import { type DiagonalNormal, Rng, SculptError } from '@sculpt/core';
import { expectNoLeak } from '@sculpt/core/testing';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { barsFixture } from './fixture.test-util.js';
import {
  cbLogNormalizer,
  cbMean,
  evaluateBounds,
  reconstruct,
  samplePrior,
  VaeModel,
  VaeTrainer,
  vaeConfig,
} from './index.js';

let dir: string;
beforeAll(async () => {
  await initBackend('wasm');
  dir = await mkdtemp(join(tmpdir(), 'sculpt-vae-conv-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const fixture = barsFixture;

/** log C(λ) = log(2 artanh(1 − 2λ) / (1 − 2λ)) in float64, log 2 at λ = ½. */
function logCRef(lambda: number): number {
  if (lambda === 0.5) return Math.LN2;
  const t = 1 - 2 * lambda;
  return Math.log((2 * Math.atanh(t)) / t);
}

const logit = (p: number) => Math.log(p / (1 - p));

describe('continuous Bernoulli', () => {
  const lambdas = [0.001, 0.05, 0.3, 0.49, 0.4999, 0.5, 0.5001, 0.51, 0.7, 0.97, 0.9999];

  it('log normaliser matches the closed form, also next to λ = ½', () => {
    const l = tf.tensor1d(lambdas.map(logit));
    const got = cbLogNormalizer(l).dataSync();
    lambdas.forEach((p, i) => {
      expect(Math.abs(got[i] - logCRef(p))).toBeLessThan(2e-5);
    });
    tf.dispose(l);
  });

  it('the density integrates to 1 and the mean matches the integral of x·p(x)', () => {
    const l = tf.tensor1d(lambdas.map(logit));
    const logC = cbLogNormalizer(l).dataSync();
    const mean = cbMean(l).dataSync();
    lambdas.forEach((p, i) => {
      // midpoint rule over [0, 1] of C λˣ (1 − λ)¹⁻ˣ
      const n = 20_000;
      let mass = 0;
      let first = 0;
      for (let j = 0; j < n; j++) {
        const x = (j + 0.5) / n;
        const d = Math.exp(logC[i] + x * Math.log(p) + (1 - x) * Math.log(1 - p)) / n;
        mass += d;
        first += x * d;
      }
      expect(mass).toBeCloseTo(1, 3);
      expect(mean[i]).toBeCloseTo(first, 3);
    });
    tf.dispose(l);
  });

  it('log normaliser and mean are leak-free', async () => {
    const l = tf.tensor1d([-3, 0, 0.001, 4]);
    await expectNoLeak(() => cbLogNormalizer(l));
    await expectNoLeak(() => cbMean(l));
    l.dispose();
  });

  it('its gradient is finite at λ = ½ and the likelihood adds log C to the Bernoulli one', () => {
    const cb = VaeModel.create({ preset: 'tiny-conv', likelihood: 'continuous-bernoulli' });
    const x = tf.fill([1, 8, 8, 1], 0.3);
    const raw = tf.zeros([1, 8, 8, 1]);
    const ll = cb.logLikelihood(x, raw).dataSync()[0];
    // λ = ½: each pixel contributes log ½ + log 2 = 0
    expect(Math.abs(ll)).toBeLessThan(1e-4);
    const g = tf.grad((r: tf.Tensor) => tf.sum(cb.logLikelihood(x, r)))(raw);
    expect(Array.from(g.dataSync()).every(Number.isFinite)).toBe(true);
    tf.dispose([x, raw, g]);
    cb.dispose();
  });
});

describe('conv VAE', () => {
  it('encodes [B, 8, 8, 1] through stride-2 convs and decodes back; config round-trips', () => {
    const m = VaeModel.create('tiny-conv', { seed: 1 });
    const x = fixture();
    const q = m.encode(x) as DiagonalNormal;
    expect(q.shape).toEqual([8, 4]);
    const y = m.decode(q.mean);
    expect(y.shape).toEqual([8, 8, 8, 1]);
    const twin = VaeModel.fromConfig(JSON.parse(JSON.stringify(m.getConfig())));
    expect(twin.getConfig()).toEqual(m.getConfig());
    expect(twin.parameterCount).toBe(m.parameterCount);
    const mnist = VaeModel.fromConfig(VaeModel.create('mnist-conv').getConfig());
    expect(mnist.getConfig().arch).toBe('conv');
    tf.dispose([x, y]);
    q.dispose();
    [m, twin, mnist].forEach((v) => {
      v.dispose();
    });
  });

  it('learns: −ELBO falls well below its start in seconds', async () => {
    const m = VaeModel.create('tiny-conv', { seed: 1 });
    const tr = new VaeTrainer(m, { learningRate: 5e-3, klWarmupSteps: 20, seed: 2 });
    const x = fixture();
    const before = (await evaluateBounds(m, x, new Rng(5))).negElbo;
    for (let i = 0; i < 150; i++) await tr.step(x);
    const after = await evaluateBounds(m, x, new Rng(5), { k: 20 });
    expect(before).toBeGreaterThan(40);
    expect(after.negElbo).toBeLessThan(0.5 * before);
    tf.dispose(x);
    tr.dispose();
    m.dispose();
  });

  it('the conv autoencoder (kind ae) encodes to a code tensor and learns to reconstruct', async () => {
    const m = VaeModel.create({ preset: 'tiny-conv', kind: 'ae' }, { seed: 1 });
    const tr = new VaeTrainer(m, { learningRate: 5e-3, seed: 2 });
    const x = fixture();
    const z = m.encode(x) as tf.Tensor;
    expect(z).toBeInstanceOf(tf.Tensor);
    expect(z.shape).toEqual([8, 4]);
    const first = (await tr.step(x)).terms;
    expect(first.kl).toBe(0);
    let last = first;
    for (let i = 0; i < 150; i++) last = (await tr.step(x)).terms;
    expect(-last.recon).toBeLessThan(0.5 * -first.recon);
    tf.dispose([x, z]);
    tr.dispose();
    m.dispose();
  });

  it('save → load gives identical reconstructions (continuous Bernoulli)', async () => {
    const m = VaeModel.create(
      { preset: 'tiny-conv', likelihood: 'continuous-bernoulli' },
      { seed: 3 },
    );
    const x = fixture();
    await m.save(join(dir, 'conv'));
    const l = await VaeModel.load(join(dir, 'conv'));
    const a = reconstruct(m, x);
    const b = reconstruct(l, x);
    expect(Array.from(b.dataSync())).toEqual(Array.from(a.dataSync()));
    tf.dispose([a, b, x]);
    m.dispose();
    l.dispose();
  });

  it('train step, encode, decode, sample and bounds are leak-free', async () => {
    const m = VaeModel.create(
      { preset: 'tiny-conv', likelihood: 'continuous-bernoulli' },
      { seed: 1 },
    );
    const tr = new VaeTrainer(m);
    const x = fixture();
    await tr.step(x);
    await expectNoLeak(() => tr.step(x));
    await expectNoLeak(() => reconstruct(m, x));
    await expectNoLeak(() => samplePrior(m, 3, new Rng(1)));
    await expectNoLeak(() => evaluateBounds(m, x, new Rng(1), { k: 3 }));
    tf.dispose(x);
    tr.dispose();
    m.dispose();
  });

  it('rejects images whose size does not halve per conv, and wrong image shapes', () => {
    expect(() => vaeConfig({ preset: 'tiny-conv', imageShape: [6, 6, 1] })).toThrow(
      /divisible by 2\^2.*got 6×6/,
    );
    expect(() => vaeConfig({ preset: 'tiny-conv', convChannels: [] })).toThrow(SculptError);
    expect(() => vaeConfig({ likelihood: 'poisson' as never })).toThrow(/continuous-bernoulli/);
    const m = VaeModel.create('tiny-conv');
    const wrong = tf.zeros([2, 28, 28, 1]);
    expect(() => m.encode(wrong)).toThrow(/\[B, 8, 8, 1\]/);
    tf.dispose(wrong);
    m.dispose();
  });
});
