import '@tensorflow/tfjs-layers'; // registers tfjs-core's gradients (the Node build ships none)
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initBackend } from '@sculpt/backend';
import { Rng, SculptError } from '@sculpt/core';
import { expectNoLeak } from '@sculpt/core/testing';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GanModel } from './index.js';

let dir: string;
beforeAll(async () => {
  await initBackend('wasm');
  dir = await mkdtemp(join(tmpdir(), 'sculpt-gan-model-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('GanModel', () => {
  it('generates [B, H, W, C] in (−1, 1) and discriminates to [B] logits', () => {
    const gan = GanModel.create('tiny', { seed: 1 });
    const z = new Rng(2).normal([3, 8]) as tf.Tensor2D;
    const x = gan.generate(z);
    expect(x.shape).toEqual([3, 8, 8, 1]);
    expect(Math.max(...tf.abs(x).dataSync())).toBeLessThan(1);
    const logits = gan.discriminate(x);
    expect(logits.shape).toEqual([3]);
    tf.dispose([z, x, logits]);
    gan.dispose();
  });

  it('builds the bench DCGAN as the dcgan-mnist preset', () => {
    const gan = GanModel.create('dcgan-mnist');
    expect(gan.generator['fc.w'].shape).toEqual([100, 7 * 7 * 128]);
    expect(gan.generator['up1.w'].shape).toEqual([4, 4, 64, 128]);
    expect(gan.discriminator['c2.w'].shape).toEqual([4, 4, 64, 128]);
    expect(gan.discriminator['fc.w'].shape).toEqual([7 * 7 * 128, 1]);
    gan.dispose();
  });

  it('conditions on labels: different classes, different images for the same z', () => {
    const gan = GanModel.create({ preset: 'tiny', numClasses: 3 }, { seed: 1 });
    const a = gan.sample({ labels: [0, 0], seed: 5 });
    const b = gan.sample({ labels: [2, 2], seed: 5 });
    expect(tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]).toBeGreaterThan(1e-3);
    const logits = gan.discriminate(a, [0, 1]);
    expect(logits.shape).toEqual([2]);
    tf.dispose([a, b, logits]);
    gan.dispose();
  });

  it('rejects bad input with a SculptError naming the fix', () => {
    const cond = GanModel.create({ preset: 'tiny', numClasses: 3 });
    const plain = GanModel.create('tiny');
    expect(() => cond.sample({ labels: [0, 3] })).toThrow(/integers in \[0, 2\]/);
    expect(() => plain.sample({ labels: [0] })).toThrow(/unconditional/);
    const z = tf.zeros([2, 5]) as tf.Tensor2D;
    expect(() => plain.generate(z)).toThrow(SculptError);
    const wrong = tf.zeros([1, 9, 9, 1]) as tf.Tensor4D;
    expect(() => plain.discriminate(wrong)).toThrow(/\[N, 8, 8, 1\]/);
    expect(() => plain.sample({ numSamples: 0 })).toThrow(/numSamples/);
    tf.dispose([z, wrong]);
    cond.dispose();
    plain.dispose();
  });

  it('spectral norm brings σ(W/σ) to 1 after power iterations', () => {
    const gan = GanModel.create({ preset: 'tiny', spectralNorm: true }, { seed: 3 });
    for (let i = 0; i < 30; i++) gan.updateSpectralNorm();
    const w = gan.discriminator['c2.w'];
    const mat = tf.reshape(w, [-1, w.shape[3] as number]) as tf.Tensor2D;
    // σ_max(W) by many power iterations on WᵀW, for reference
    let v = tf.ones([w.shape[3] as number, 1]) as tf.Tensor2D;
    for (let i = 0; i < 200; i++) {
      const next = tf.tidy(() => {
        const wv = tf.matMul(tf.matMul(mat, v), mat, true, false);
        const t = tf.transpose(wv) as tf.Tensor2D;
        return tf.div(t, tf.norm(t)) as tf.Tensor2D;
      });
      v.dispose();
      v = next;
    }
    const sigma = tf.norm(tf.matMul(mat, v)).dataSync()[0];
    const u = gan.spectral['c2.w.u'] as tf.Tensor2D;
    const vv = gan.spectral['c2.w.v'] as tf.Tensor2D;
    const estimate = tf.sum(tf.mul(u, tf.matMul(mat, vv))).dataSync()[0];
    expect(estimate / sigma).toBeGreaterThan(0.98);
    expect(estimate / sigma).toBeLessThan(1.0001);
    tf.dispose([mat, v]);
    gan.dispose();
  });

  it('round-trips config and weights: save → load gives identical samples for a seed', async () => {
    const gan = GanModel.create({ preset: 'tiny', numClasses: 2, spectralNorm: true }, { seed: 7 });
    gan.updateSpectralNorm();
    expect(GanModel.fromConfig(gan.getConfig()).getConfig()).toEqual(gan.getConfig());
    await gan.save(join(dir, 'm'));
    const loaded = await GanModel.load(join(dir, 'm'));
    const fromBytes = GanModel.fromBytes(await gan.toBytes());
    const a = gan.sample({ numSamples: 4, seed: 11 });
    for (const other of [loaded, fromBytes]) {
      const b = other.sample({ numSamples: 4, seed: 11 });
      expect(Array.from(b.dataSync())).toEqual(Array.from(a.dataSync()));
      const da = gan.discriminate(a, [0, 1, 0, 1]);
      const db = other.discriminate(a, [0, 1, 0, 1]);
      expect(Array.from(db.dataSync())).toEqual(Array.from(da.dataSync()));
      tf.dispose([b, da, db]);
      other.dispose();
    }
    a.dispose();
    gan.dispose();
  });

  it('samples, generates and discriminates without leaking', async () => {
    const gan = GanModel.create({ preset: 'tiny', numClasses: 2, spectralNorm: true });
    await expectNoLeak(() => gan.sample({ numSamples: 3, seed: 1 }));
    const x = gan.sample({ numSamples: 2 });
    await expectNoLeak(() => gan.discriminate(x, [1, 0]));
    await expectNoLeak(() => gan.updateSpectralNorm());
    x.dispose();
    const before = tf.memory().numTensors;
    GanModel.create('tiny').dispose();
    expect(tf.memory().numTensors).toBe(before);
    gan.dispose();
  });
});
