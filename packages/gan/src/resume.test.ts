// GanTrainer.resume is bit-exact on cpu and on wasm, for the DCGAN and the
// StyleGAN-style generator: k steps, save, resume, the rest == all straight
// (weights, the last step's losses, and EMA samples). CycleGAN's twin is in
// cycle/cycle.test.ts.
import '@tensorflow/tfjs-layers'; // registers tfjs-core's gradients (the Node build ships none)
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initBackend } from '@sculpt/backend';
import { Rng } from '@sculpt/core';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type GanBatch,
  type GanConfigInput,
  GanModel,
  GanTrainer,
  type GanTrainOptions,
} from './index.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sculpt-gan-resume-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

const OPTIONS: GanTrainOptions = {
  discriminatorLearningRate: 2e-3,
  generatorLearningRate: 2e-3,
  seed: 2,
  r1Gamma: 1,
  r1Every: 2,
  ema: { decay: 0.9 },
};

/** Batches of 8×8 images drawn from a fixed seeded set by the trainer's Rng. */
function batches(real: tf.Tensor4D) {
  return (_step: number, rng: Rng): GanBatch => {
    const idx = rng.integers(4, 0, real.shape[0]);
    return { images: tf.tidy(() => tf.gather(real, tf.tensor1d(idx, 'int32')) as tf.Tensor4D) };
  };
}

const CASES: [string, 'cpu' | 'wasm', GanConfigInput][] = (['cpu', 'wasm'] as const).flatMap(
  (backend) => [
    ['dcgan', backend, { preset: 'tiny' }] as [string, 'cpu' | 'wasm', GanConfigInput],
    ['style', backend, { preset: 'tiny-style' }] as [string, 'cpu' | 'wasm', GanConfigInput],
  ],
);

describe('GanTrainer.resume', () => {
  it.each(CASES)(
    '%s on %s: 3 steps, save, resume, 2 more == 5 straight',
    async (name, backend, config) => {
      await initBackend(backend);
      const real = tf.tidy(
        () => tf.sub(tf.mul(new Rng(9).uniform([8, 8, 8, 1]), 2), 1) as tf.Tensor4D,
      );
      const straight = GanModel.create(config, { seed: 4 });
      const t1 = new GanTrainer(straight, OPTIONS);
      const last1 = await t1.fit({ data: batches(real), steps: 5 });

      const first = GanModel.create(config, { seed: 4 });
      const t2 = new GanTrainer(first, OPTIONS);
      await t2.fit({ data: batches(real), steps: 3 });
      const path = join(dir, `${name}-${backend}`);
      await t2.save(path);
      t2.dispose();
      first.dispose();
      const { model: resumed, trainer: t3 } = await GanTrainer.resume(path);
      expect(t3.stepCount).toBe(3);
      expect(await t3.fit({ data: batches(real), steps: 2 })).toEqual(last1);
      for (const [w, v] of Object.entries(straight.weights))
        expect(Array.from(resumed.weights[w].dataSync()), w).toEqual(Array.from(v.dataSync()));
      const a = await t1.withEma(() => straight.sample({ numSamples: 2, seed: 5 }));
      const b = await t3.withEma(() => resumed.sample({ numSamples: 2, seed: 5 }));
      expect(Array.from(b.dataSync())).toEqual(Array.from(a.dataSync()));
      tf.dispose([a, b, real]);
      for (const x of [t1, t3, straight, resumed]) x.dispose();
    },
  );
});
