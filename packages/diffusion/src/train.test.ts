import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initBackend } from '@sculpt/backend';
import { Rng, warmupCosineLr } from '@sculpt/core';
import { expectNoLeak } from '@sculpt/core/testing';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DiffusionModel, DiffusionTrainer } from './index.js';

let dir: string;
beforeAll(async () => {
  await initBackend('wasm');
  dir = await mkdtemp(join(tmpdir(), 'sculpt-diffusion-train-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Four 8×8 images (three bars and a diagonal) in [−1, 1], labels 0, 1, 2, 0. */
function fixture(): { images: tf.Tensor4D; labels: Int32Array } {
  const px = new Float32Array(4 * 64).fill(-1);
  for (let i = 0; i < 8; i++) {
    px[0 * 64 + 3 * 8 + i] = 1;
    px[1 * 64 + i * 8 + 4] = 1;
    px[2 * 64 + i * 8 + i] = 1;
    px[3 * 64 + 6 * 8 + i] = 1;
  }
  return { images: tf.tensor4d(px, [4, 8, 8, 1]), labels: Int32Array.from([0, 1, 2, 0]) };
}

/** Mean loss over a fixed set of noise draws (same timesteps and ε every call). */
function evalLoss(trainer: DiffusionTrainer, batch: ReturnType<typeof fixture>): number {
  const r = new Rng(5);
  let total = 0;
  for (let i = 0; i < 8; i++) {
    const l = trainer.loss(batch, r);
    total += l.dataSync()[0];
    l.dispose();
  }
  return total / 8;
}

describe('DiffusionTrainer', () => {
  it('the tiny preset overfits four images in seconds (loss < 0.35 × initial)', async () => {
    const model = DiffusionModel.create({ preset: 'tiny', prediction: 'epsilon' }, { seed: 1 });
    const trainer = new DiffusionTrainer(model, {
      learningRate: 4e-3,
      ema: false,
      conditionDropout: 0,
      seed: 2,
    });
    const batch = fixture();
    const before = evalLoss(trainer, batch);
    for (let i = 0; i < 100; i++) await trainer.step(batch);
    const after = evalLoss(trainer, batch);
    tf.dispose(batch.images);
    trainer.dispose();
    model.dispose();
    expect(after).toBeLessThan(0.35 * before);
  });

  it.each([
    ['v', 'discrete'],
    ['sample', 'discrete'],
    ['epsilon', 'edm'],
  ] as const)(
    'a %s / %s train step is finite and leak-free',
    async (prediction, preconditioning) => {
      const model = DiffusionModel.create(
        { preset: 'tiny', prediction, preconditioning },
        { seed: 1 },
      );
      const trainer = new DiffusionTrainer(model, { seed: 3 });
      const batch = fixture();
      await trainer.step(batch); // creates the optimizer and EMA slots (owned by the trainer)
      await expectNoLeak(async () => {
        const r = await trainer.step(batch);
        expect(Number.isFinite(r.loss) && r.loss > 0).toBe(true);
      });
      tf.dispose(batch.images);
      trainer.dispose();
      model.dispose();
    },
  );

  it('resume continues exactly where save stopped (weights, Adam, EMA, Rng)', async () => {
    const batch = fixture();
    const model = DiffusionModel.create('tiny', { seed: 4 });
    // A schedule (not the default rate): resume must restore it from the checkpoint alone.
    const learningRate = warmupCosineLr({ peak: 3e-3, warmupSteps: 2, totalSteps: 10 });
    const trainer = new DiffusionTrainer(model, { learningRate, seed: 6 });
    for (let i = 0; i < 3; i++) await trainer.step(batch);
    await expectNoLeak(() => trainer.save(join(dir, 'ckpt')), { label: 'DiffusionTrainer.save' });
    const a = [(await trainer.step(batch)).loss, (await trainer.step(batch)).loss];
    const resumed = await DiffusionTrainer.resume(join(dir, 'ckpt'));
    expect(resumed.trainer.stepCount).toBe(3);
    const b = [(await resumed.trainer.step(batch)).loss, (await resumed.trainer.step(batch)).loss];
    expect(b).toEqual(a);
    trainer.applyEma();
    resumed.trainer.applyEma();
    const w1 = model.params['stem/kernel'].dataSync();
    const w2 = resumed.model.params['stem/kernel'].dataSync();
    expect(Array.from(w2)).toEqual(Array.from(w1));
    tf.dispose(batch.images);
    for (const t of [trainer, resumed.trainer]) t.dispose();
    for (const m of [model, resumed.model]) m.dispose();
  });

  it('resume asks again for a learning-rate function of your own (a checkpoint cannot hold it)', async () => {
    const model = DiffusionModel.create('tiny', { seed: 4 });
    const own = (step: number) => 1e-3 / (1 + step);
    const trainer = new DiffusionTrainer(model, { learningRate: own });
    await trainer.save(join(dir, 'own-lr'));
    await expect(DiffusionTrainer.resume(join(dir, 'own-lr'))).rejects.toThrow(
      /expected options.learningRate.*pass the same schedule again/s,
    );
    const resumed = await DiffusionTrainer.resume(join(dir, 'own-lr'), { learningRate: own });
    expect(resumed.trainer.learningRate).toBe(own);
    for (const t of [trainer, resumed.trainer]) t.dispose();
    for (const m of [model, resumed.model]) m.dispose();
  });

  it('rejects bad batches and options', async () => {
    const model = DiffusionModel.create('tiny');
    const trainer = new DiffusionTrainer(model);
    const wrong = tf.zeros([2, 28, 28, 1]) as tf.Tensor4D;
    await expect(trainer.step({ images: wrong, labels: Int32Array.from([0, 1]) })).rejects.toThrow(
      /expected images of shape \[N, 8, 8, 1\]/,
    );
    const ok = tf.zeros([2, 8, 8, 1]) as tf.Tensor4D;
    await expect(trainer.step({ images: ok, labels: Int32Array.from([0, 7]) })).rejects.toThrow(
      /labels\[1\] = 7/,
    );
    expect(() => new DiffusionTrainer(model, { lossWeighting: 'snr' as never })).toThrow(
      /lossWeighting/,
    );
    tf.dispose([wrong, ok]);
    trainer.dispose();
    model.dispose();
  });
});
