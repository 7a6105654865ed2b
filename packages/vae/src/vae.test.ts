import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initBackend } from '@sculpt/backend';
import { DiagonalNormal, Rng, SculptError } from '@sculpt/core';
import { expectNoLeak } from '@sculpt/core/testing';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { barsFixture } from './fixture.test-util.js';
import {
  elboTerms,
  evaluateBounds,
  interpolate,
  latentGrid2d,
  reconstruct,
  samplePrior,
  VaeModel,
  VaeTrainer,
  vaeConfig,
} from './index.js';

let dir: string;
beforeAll(async () => {
  await initBackend('wasm');
  dir = await mkdtemp(join(tmpdir(), 'sculpt-vae-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const fixture = barsFixture;

describe('ownership', () => {
  it('create + dispose frees every tensor (initial values included)', async () => {
    await expectNoLeak(() => VaeModel.create('mnist-mlp', { seed: 1 }).dispose());
  });
});

describe('VaeModel', () => {
  it('encodes to a DiagonalNormal and decodes to images of the right shape', () => {
    const m = VaeModel.create('tiny', { seed: 1 });
    const x = fixture();
    const q = m.encode(x);
    expect(q).toBeInstanceOf(DiagonalNormal);
    expect((q as DiagonalNormal).shape).toEqual([8, 4]);
    const y = m.decode((q as DiagonalNormal).mean);
    expect(y.shape).toEqual([8, 8, 8, 1]);
    const v = y.dataSync();
    expect(Math.min(...v)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...v)).toBeLessThanOrEqual(1);
    tf.dispose([x, y]);
    q.dispose();
    m.dispose();
  });

  it('the AE returns a latent tensor; config round-trips', () => {
    const m = VaeModel.create({ preset: 'tiny', kind: 'ae' });
    const x = fixture();
    const z = m.encode(x) as tf.Tensor;
    expect(z.shape).toEqual([8, 4]);
    const twin = VaeModel.fromConfig(JSON.parse(JSON.stringify(m.getConfig())));
    expect(twin.getConfig()).toEqual(m.getConfig());
    expect(twin.parameterCount).toBe(m.parameterCount);
    tf.dispose([x, z]);
    m.dispose();
    twin.dispose();
  });

  it('rejects bad input with a SculptError naming what arrived', () => {
    const m = VaeModel.create('tiny');
    const wrong = tf.zeros([2, 7, 8, 1]);
    expect(() => m.encode(wrong)).toThrow(
      /VaeModel\.encode: expected images of shape \[B, 8, 8, 1\], got \[2, 7, 8, 1\]\. Fix: /,
    );
    expect(() => m.encode(wrong)).toThrow(SculptError);
    const nan = tf.fill([1, 8, 8, 1], Number.NaN);
    expect(() => m.encode(nan)).toThrow(
      /expected finite pixels, got NaN or ±Infinity\. Fix: clean/,
    );
    const z = tf.zeros([2, 3]);
    expect(() => m.decode(z)).toThrow(SculptError);
    expect(() => m.decode(z)).toThrow(
      /VaeModel\.decode: expected a latent of shape \[B, 4\], got \[2, 3\]\. Fix: /,
    );
    expect(() => vaeConfig({ latentDim: 0 })).toThrow(/latentDim/);
    expect(() => new VaeTrainer(m, { beta: -1 })).toThrow(
      /VaeTrainer: expected beta ≥ 0, got -1\. Fix: /,
    );
    tf.dispose([wrong, nan, z]);
    m.dispose();
  });

  it('save → load gives identical reconstructions', async () => {
    const m = VaeModel.create('tiny', { seed: 3 });
    const x = fixture();
    await m.save(join(dir, 'model'));
    const l = await VaeModel.load(join(dir, 'model'));
    const a = reconstruct(m, x);
    const b = reconstruct(l, x);
    expect(Array.from(b.dataSync())).toEqual(Array.from(a.dataSync()));
    tf.dispose([a, b, x]);
    m.dispose();
    l.dispose();
  });
});

describe('objectives', () => {
  it('the analytic KL matches core closed form; learned Gaussian variance works', () => {
    const m = VaeModel.create(
      { preset: 'tiny', likelihood: 'gaussian', decoderStd: 'learned' },
      { seed: 2 },
    );
    const x = fixture();
    const q = m.encode(x) as DiagonalNormal;
    const t = elboTerms(m, x, new Rng(1));
    const ref = q.klStandardNormal();
    const a = t.kl.dataSync();
    const b = ref.dataSync();
    for (let i = 0; i < a.length; i++) expect(a[i]).toBeCloseTo(b[i], 4);
    expect(Number.isFinite(t.recon.dataSync()[0])).toBe(true);
    tf.dispose([t.recon, t.kl, t.klDims, ref, x]);
    q.dispose();
    m.dispose();
  });

  it('IWAE ≥ ELBO and rises with k; bounds are leak-free and reject k < 1', async () => {
    const m = VaeModel.create('tiny', { seed: 4 });
    const x = fixture();
    const r1 = await evaluateBounds(m, x, new Rng(9), { k: 1 });
    const r50 = await evaluateBounds(m, x, new Rng(9), { k: 50, maxDecodes: 64 });
    expect(r50.negIwae).toBeLessThan(r1.negIwae);
    expect(r50.negIwae).toBeLessThan(r50.negElbo);
    expect(r50.bitsPerDim).toBeCloseTo(r50.negIwae / (64 * Math.LN2), 6);
    await expectNoLeak(() => evaluateBounds(m, x, new Rng(1), { k: 7, maxDecodes: 16 }));
    await expect(evaluateBounds(m, x, new Rng(1), { k: 0 })).rejects.toThrow(/k an integer/);
    tf.dispose(x);
    m.dispose();
  });
});

describe('VaeTrainer', () => {
  it('learns: held −ELBO falls well below its start in seconds', async () => {
    const m = VaeModel.create('tiny', { seed: 1 });
    const tr = new VaeTrainer(m, { learningRate: 5e-3, klWarmupSteps: 20, seed: 2 });
    const x = fixture();
    const before = (await evaluateBounds(m, x, new Rng(5))).negElbo;
    for (let i = 0; i < 150; i++) await tr.step(x);
    const after = await evaluateBounds(m, x, new Rng(5), { k: 20 });
    expect(before).toBeGreaterThan(40);
    expect(after.negElbo).toBeLessThan(0.5 * before);
    expect(after.negIwae).toBeLessThanOrEqual(after.negElbo + 1e-3);
    tf.dispose(x);
    tr.dispose();
    m.dispose();
  });

  it('train step, encode, decode, sample and latent tools are leak-free', async () => {
    const m = VaeModel.create({ preset: 'tiny', latentDim: 2 }, { seed: 1 });
    const tr = new VaeTrainer(m, { binarize: 'dynamic', freeBits: 0.1 });
    const x = fixture();
    await tr.step(x); // optimizer slots exist after the first step
    await expectNoLeak(() => tr.step(x));
    await expectNoLeak(() => tr.fit({ data: () => fixture(), steps: 2 }));
    await expectNoLeak(() => m.encode(x).dispose()); // the DiagonalNormal owns its tensors
    await expectNoLeak(() => reconstruct(m, x));
    await expectNoLeak(() => samplePrior(m, 3, new Rng(1), 0.7));
    await expectNoLeak(() => {
      const g = latentGrid2d(4);
      const y = m.decode(g);
      g.dispose();
      return y;
    });
    const a = tf.tensor1d([1, 0]);
    const b = tf.tensor1d([0, 1]);
    const s = interpolate(a, b, 3, 'slerp');
    const v = s.dataSync();
    expect(Math.hypot(v[2], v[3])).toBeCloseTo(1, 5); // slerp keeps the norm
    const l = interpolate(a, b, 3, 'lerp');
    expect(l.dataSync()[2]).toBeCloseTo(0.5, 6);
    tf.dispose([a, b, s, l, x]);
    tr.dispose();
    m.dispose();
  });

  it('resumes exactly: train n, save, resume, train m == train n + m', async () => {
    const x = fixture();
    const run = async (): Promise<VaeTrainer> => {
      const m = VaeModel.create('tiny', { seed: 7 });
      return new VaeTrainer(m, { binarize: 'dynamic', klWarmupSteps: 5, seed: 3 });
    };
    const a = await run();
    for (let i = 0; i < 6; i++) await a.step(x);
    const b = await run();
    for (let i = 0; i < 3; i++) await b.step(x);
    await b.save(join(dir, 'resume'));
    b.dispose();
    b.model.dispose();
    const { model, trainer } = await VaeTrainer.resume(join(dir, 'resume'));
    expect(trainer.stepCount).toBe(3);
    for (let i = 0; i < 3; i++) await trainer.step(x);
    for (const [k, v] of Object.entries(a.model.params))
      expect(Array.from(model.params[k].dataSync())).toEqual(Array.from(v.dataSync()));
    tf.dispose(x);
    a.dispose();
    a.model.dispose();
    trainer.dispose();
    model.dispose();
  });
});
