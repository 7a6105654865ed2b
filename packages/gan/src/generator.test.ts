import '@tensorflow/tfjs-layers'; // registers tfjs-core's gradients (the Node build ships none)
import { initBackend } from '@sculpt/backend';
import { CheckpointError, Rng, SculptError } from '@sculpt/core';
import { expectNoLeak } from '@sculpt/core/testing';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { GanGenerator, GanModel } from './index.js';

beforeAll(async () => {
  await initBackend('wasm');
});

const values = (t: tf.Tensor): number[] => Array.from(t.dataSync());

/** A model whose tracked mean w is not zero, so truncation depends on the exported w̄. */
function styleModel(): GanModel {
  const gan = GanModel.create({ preset: 'tiny-style', numClasses: 3 }, { seed: 5 });
  const avg = gan.meanStyle.avg;
  tf.tidy(() => avg.assign(new Rng(9).normal(avg.shape) as tf.Tensor1D));
  return gan;
}

describe('GanGenerator (generator-only export)', () => {
  it('draws exactly the model’s samples for a seed (DCGAN, conditional)', async () => {
    const gan = GanModel.create({ preset: 'tiny', numClasses: 2 }, { seed: 7 });
    const g = GanGenerator.fromBytes(await gan.exportGenerator());
    expect(g.getConfig()).toEqual(gan.getConfig());
    const a = gan.sample({ labels: [0, 1, 1, 0], seed: 11 });
    const b = g.sample({ labels: [0, 1, 1, 0], seed: 11 });
    expect(values(b)).toEqual(values(a));
    const z = new Rng(3).normal([2, 8]) as tf.Tensor2D;
    const ga = gan.generate(z, [1, 0]);
    const gb = g.generate(z, [1, 0]);
    expect(values(gb)).toEqual(values(ga));
    tf.dispose([a, b, z, ga, gb]);
    g.dispose();
    gan.dispose();
  });

  it('keeps the style controls: truncation (with the tracked mean w) and mixing', async () => {
    const gan = styleModel();
    const g = GanGenerator.fromBytes(new Uint8Array(await gan.exportGenerator()));
    for (const options of [
      { numSamples: 3, seed: 2, truncation: 0.5 },
      { numSamples: 3, seed: 2, mixing: { seed: 4, crossover: 1 } },
      { numSamples: 3, seed: 2, truncation: 0 },
    ]) {
      const a = gan.sample(options);
      const b = g.sample(options);
      expect(values(b)).toEqual(values(a));
      tf.dispose([a, b]);
    }
    g.dispose();
    gan.dispose();
  });

  it('holds G only: its float32 weights and a small header, no D weight', async () => {
    const gan = GanModel.create('cdcgan-mnist', { seed: 0 });
    const exported = await gan.exportGenerator();
    const gBytes = 4 * Object.values(gan.generator).reduce((n, v) => n + v.size, 0);
    expect(exported.byteLength).toBeGreaterThan(gBytes);
    expect(exported.byteLength).toBeLessThan(gBytes + 16_384);
    expect(exported.byteLength).toBeLessThan((await gan.toBytes()).byteLength);
    const g = GanGenerator.fromBytes(exported);
    expect(Object.keys(g.weights).every((k) => k.startsWith('g/'))).toBe(true);
    expect(Object.keys(g.weights)).toEqual(
      Object.keys(gan.weights).filter((k) => k.startsWith('g/')),
    );
    g.dispose();
    gan.dispose();
  });

  it('samples and generates without leaking; load and dispose free every tensor', async () => {
    const gan = styleModel();
    const bytes = await gan.exportGenerator();
    const before = tf.memory().numTensors;
    GanGenerator.fromBytes(bytes).dispose();
    expect(tf.memory().numTensors).toBe(before);
    const g = GanGenerator.fromBytes(bytes);
    await expectNoLeak(() => g.sample({ numSamples: 2, seed: 1, truncation: 0.7 }));
    const z = tf.zeros([2, 8]) as tf.Tensor2D;
    await expectNoLeak(() => g.generate(z, [0, 2]));
    z.dispose();
    g.dispose();
    gan.dispose();
  });

  it('rejects bad input with an error naming the fix', async () => {
    const gan = styleModel();
    const g = GanGenerator.fromBytes(await gan.exportGenerator());
    expect(() => g.sample({ numSamples: 2, truncation: 1.5 })).toThrow(/truncation ψ in \[0, 1\]/);
    expect(() => g.sample({ labels: [0, 3] })).toThrow(/integers in \[0, 2\]/);
    expect(() => g.sample({ numSamples: 2, mixing: { seed: 1, crossover: 0 } })).toThrow(
      SculptError,
    );
    const z = tf.zeros([2, 5]) as tf.Tensor2D;
    expect(() => g.generate(z, [0, 1])).toThrow(/z of shape \[B, 8\]/);
    z.dispose();
    // A full GAN checkpoint is not a generator export, and torn bytes are refused.
    expect(() => GanGenerator.fromBytes(new Uint8Array(0))).toThrow(CheckpointError);
    const full = new Uint8Array(await gan.toBytes());
    expect(() => GanGenerator.fromBytes(full)).toThrow(/sculpt-gan-generator/);
    const exported = new Uint8Array(await gan.exportGenerator());
    expect(() => GanGenerator.fromBytes(exported.slice(0, exported.length - 7))).toThrow(
      CheckpointError,
    );
    g.dispose();
    gan.dispose();
  });
});
