import '@tensorflow/tfjs-layers'; // registers tfjs-core's gradients (the Node build ships none)
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initBackend } from '@sculpt/backend';
import { NonFiniteLossError, type Rng, SculptError } from '@sculpt/core';
import { expectNoLeak } from '@sculpt/core/testing';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type GanBatch,
  GanModel,
  type GanStepResult,
  GanTrainer,
  type GanTrainOptions,
} from './index.js';

let dir: string;
let real: tf.Tensor4D;
beforeAll(async () => {
  await initBackend('wasm');
  dir = await mkdtemp(join(tmpdir(), 'sculpt-gan-train-'));
  // Four 8×8 images in [−1, 1]: a row, a column, the diagonal, another row (labels 0, 1, 2, 0).
  const px = new Float32Array(4 * 64).fill(-1);
  for (let i = 0; i < 8; i++) {
    px[0 * 64 + 3 * 8 + i] = 1;
    px[1 * 64 + i * 8 + 4] = 1;
    px[2 * 64 + i * 8 + i] = 1;
    px[3 * 64 + 6 * 8 + i] = 1;
  }
  real = tf.tensor4d(px, [4, 8, 8, 1]);
});
afterAll(async () => {
  real.dispose();
  await rm(dir, { recursive: true, force: true });
});

const LABELS = [0, 1, 2, 0];

/** A batch of `n` fixture images drawn with replacement by the trainer's batch Rng. */
function batches(n: number, conditional = false) {
  return (_step: number, rng: Rng): GanBatch => {
    const idx = rng.integers(n, 0, 4);
    const images = tf.tidy(() => tf.gather(real, tf.tensor1d(idx, 'int32')) as tf.Tensor4D);
    return conditional ? { images, labels: Array.from(idx, (i) => LABELS[i]) } : { images };
  };
}

/** Mean over samples of the squared distance to the nearest fixture image. */
function nearestRealDistance(x: tf.Tensor4D): number {
  return tf.tidy(() => {
    const a = tf.reshape(x, [-1, 1, 64]);
    const b = tf.reshape(real, [1, 4, 64]);
    return tf.mean(tf.min(tf.mean(tf.square(tf.sub(a, b)), 2), 1)).dataSync()[0];
  });
}

const FAST: GanTrainOptions = {
  discriminatorLearningRate: 2e-3,
  generatorLearningRate: 2e-3,
  seed: 2,
};

describe('GanTrainer', () => {
  it('learns: D(real) and D(fake) move apart, then G lands on the real images', async () => {
    const gan = GanModel.create('tiny', { seed: 1 });
    const trainer = new GanTrainer(gan, { ...FAST, r1Gamma: 1, r1Every: 4 });
    const s0 = gan.sample({ numSamples: 64, seed: 9 });
    const before = nearestRealDistance(s0);
    s0.dispose();
    const log: GanStepResult[] = [];
    await trainer.fit({
      data: batches(16),
      steps: 150,
      callbacks: { onStep: (r) => void log.push(r) },
    });
    const early = log.slice(10, 50);
    const gap = early.reduce((s, r) => s + r.dReal - r.dFake, 0) / early.length;
    expect(gap).toBeGreaterThan(0.5); // D separates real from fake
    expect(log.filter((r) => r.r1 !== undefined).length).toBe(38); // steps 0, 4, …, 148
    const s1 = await trainer.withEma(() => gan.sample({ numSamples: 64, seed: 9 }));
    const after = nearestRealDistance(s1);
    s1.dispose();
    expect(before).toBeGreaterThan(0.9);
    expect(after).toBeLessThan(0.4); // samples sit near the four bars
    trainer.dispose();
    gan.dispose();
  });

  it('runs every loss, spectral norm and the conditional model leak-free', async () => {
    const b = batches(4, true)(0, new (await import('@sculpt/core')).Rng(0));
    for (const loss of ['non-saturating', 'hinge', 'wgan-gp'] as const) {
      const gan = GanModel.create({
        preset: 'tiny',
        numClasses: 3,
        spectralNorm: loss === 'hinge',
        auxiliaryClassifier: loss !== 'wgan-gp',
      });
      const trainer = new GanTrainer(gan, {
        loss,
        r1Gamma: loss === 'non-saturating' ? 1 : 0,
        r1Every: 1,
      });
      await trainer.step(b); // optimizer slots are created on the first step
      let result: GanStepResult | undefined;
      await expectNoLeak(async () => {
        result = await trainer.step(b);
      });
      expect(Number.isFinite(result?.discriminatorLoss)).toBe(true);
      if (loss === 'wgan-gp') expect(result?.gradientPenalty).toBeGreaterThanOrEqual(0);
      if (loss === 'non-saturating') expect(result?.r1).toBeGreaterThan(0);
      expect(result?.classLossReal === undefined).toBe(loss === 'wgan-gp');
      await expectNoLeak(() => trainer.withEma(() => gan.sample({ numSamples: 2, seed: 1 })));
      trainer.dispose();
      gan.dispose();
    }
    tf.dispose(b.images);
  });

  it('trains the class head: D learns the classes of the real images, G makes fakes D reads as theirs', async () => {
    const gan = GanModel.create(
      { preset: 'tiny', numClasses: 3, auxiliaryClassifier: true },
      { seed: 1 },
    );
    const trainer = new GanTrainer(gan, FAST);
    const log: GanStepResult[] = [];
    await trainer.fit({
      data: batches(16, true),
      steps: 80,
      callbacks: { onStep: (r) => void log.push(r) },
    });
    const mean = (rs: GanStepResult[], key: 'classLossReal' | 'classLossFake') =>
      rs.reduce((s, r) => s + (r[key] ?? Number.NaN), 0) / rs.length;
    expect(mean(log.slice(0, 5), 'classLossReal')).toBeGreaterThan(0.7); // ≈ log 3 untrained
    expect(mean(log.slice(-10), 'classLossReal')).toBeLessThan(0.1);
    expect(mean(log.slice(-10), 'classLossFake')).toBeLessThan(0.3);
    trainer.dispose();
    gan.dispose();
  });

  it('resumes exactly: 4 steps, save, resume, 3 more == 7 straight', async () => {
    const options: GanTrainOptions = { ...FAST, r1Gamma: 1, r1Every: 2, ema: { decay: 0.9 } };
    const config = {
      preset: 'tiny',
      numClasses: 3,
      spectralNorm: true,
      auxiliaryClassifier: true,
    } as const;
    const straight = GanModel.create(config, { seed: 4 });
    const t1 = new GanTrainer(straight, options);
    const last1 = await t1.fit({ data: batches(8, true), steps: 7 });

    const first = GanModel.create(config, { seed: 4 });
    const t2 = new GanTrainer(first, options);
    await t2.fit({ data: batches(8, true), steps: 4 });
    await t2.save(join(dir, 'resume'));
    t2.dispose();
    first.dispose();
    const { model: resumed, trainer: t3 } = await GanTrainer.resume(join(dir, 'resume'));
    expect(t3.stepCount).toBe(4);
    const last3 = await t3.fit({ data: batches(8, true), steps: 3 });
    expect(last3).toEqual(last1);
    for (const [name, v] of Object.entries(straight.weights))
      expect(Array.from(resumed.weights[name].dataSync()), name).toEqual(Array.from(v.dataSync()));
    const a = await t1.withEma(() => straight.sample({ numSamples: 3, seed: 5 }));
    const b = await t3.withEma(() => resumed.sample({ numSamples: 3, seed: 5 }));
    expect(Array.from(b.dataSync())).toEqual(Array.from(a.dataSync()));
    tf.dispose([a, b]);
    for (const x of [t1, t3, straight, resumed]) x.dispose();
  });

  it('guards against NaN: no update, a NonFiniteLossError', async () => {
    const gan = GanModel.create('tiny');
    const trainer = new GanTrainer(gan);
    const bad = tf.fill([2, 8, 8, 1], Number.NaN) as tf.Tensor4D;
    const w = gan.discriminator['c1.w'].dataSync().slice();
    await expect(trainer.step({ images: bad })).rejects.toThrow(NonFiniteLossError);
    expect(Array.from(gan.discriminator['c1.w'].dataSync())).toEqual(Array.from(w));
    expect(trainer.stepCount).toBe(0);
    bad.dispose();
    trainer.dispose();
    gan.dispose();
  });

  it('rejects bad options and batches with a SculptError naming the fix', async () => {
    const gan = GanModel.create({ preset: 'tiny', numClasses: 3 });
    expect(() => new GanTrainer(gan, { loss: 'lsgan' as 'hinge' })).toThrow(/expected loss/);
    expect(() => new GanTrainer(gan, { r1Every: 0 })).toThrow(SculptError);
    expect(() => new GanTrainer(gan, { r1Gamma: -1 })).toThrow(/r1Gamma/);
    expect(() => new GanTrainer(gan, { classWeight: Number.NaN })).toThrow(/classWeight/);
    const trainer = new GanTrainer(gan);
    const images = tf.slice(real, 0, 2) as tf.Tensor4D;
    await expect(trainer.step({ images })).rejects.toThrow(/labels/);
    await expect(trainer.step({ images, labels: [0, 5] })).rejects.toThrow(/\[0, 2\]/);
    images.dispose();
    trainer.dispose();
    gan.dispose();
  });
});
