import { initBackend } from '@sculpt/backend';
import { disposeTrainerTensors, SculptError } from '@sculpt/core';
import { expectNoLeak } from '@sculpt/core/testing';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-layers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LatentDiffusionModel, LatentTrainer } from './index.js';

// 8×8 images: a bright top half ("one") or a bright bottom half ("two").
const N = 32;
const CAPTIONS = Array.from({ length: N }, (_, i) => (i % 2 ? 'a two' : 'a one'));
const OPTIONS = { autoencoderSteps: 5, batchSize: 8, seed: 3 };
let images: tf.Tensor4D;

beforeAll(async () => {
  await initBackend('wasm');
  images = tf.tidy(() => {
    const top = tf.concat([tf.ones([4, 8]), tf.fill([4, 8], -1)], 0);
    const rows = Array.from({ length: N }, (_, i) => (i % 2 ? tf.reverse(top, 0) : top));
    return tf.reshape(tf.stack(rows), [N, 8, 8, 1]) as tf.Tensor4D;
  });
});

afterAll(() => images.dispose());

async function weightsOf(model: LatentDiffusionModel): Promise<Record<string, Float32Array>> {
  const out: Record<string, Float32Array> = {};
  for (const [k, v] of Object.entries(model.namedWeights()))
    out[k] = (await v.data()) as Float32Array;
  return out;
}

/** Trains 12 steps, stopping (checkpoint → fromCheckpoint) after each count in `stops`. */
async function run(
  stops: number[],
): Promise<{ weights: Record<string, Float32Array>; losses: number[]; scale: number }> {
  let model = LatentDiffusionModel.create('tiny', { seed: 0 });
  let trainer = new LatentTrainer(model, OPTIONS);
  const losses: number[] = [];
  const onStep = (r: { step: number; loss: number }) => {
    losses[r.step - 1] = r.loss;
  };
  let done = 0;
  for (const until of [...stops, 12]) {
    await trainer.fit({ images, captions: CAPTIONS, steps: until - done, callbacks: { onStep } });
    done = until;
    if (until === 12) break;
    const ckpt = trainer.checkpoint();
    const restored = LatentTrainer.fromCheckpoint('test', ckpt);
    disposeTrainerTensors(ckpt);
    trainer.dispose();
    model.dispose();
    ({ model, trainer } = restored);
  }
  expect(trainer.stepCount).toBe(12);
  const out = { weights: await weightsOf(model), losses, scale: model.autoencoder.scaleFactor };
  trainer.dispose();
  model.dispose();
  return out;
}

describe('LatentTrainer', () => {
  it('switches stages at autoencoderSteps and measures the scale factor in between', async () => {
    const model = LatentDiffusionModel.create('tiny', { seed: 0 });
    const trainer = new LatentTrainer(model, OPTIONS);
    expect(trainer.stage).toBe('autoencoder');
    await trainer.fit({ images, captions: CAPTIONS, steps: 5 });
    expect(trainer.stage).toBe('denoiser');
    expect(model.autoencoder.scaleFactor).toBe(1);
    await trainer.fit({ images, captions: CAPTIONS, steps: 1 });
    expect(model.autoencoder.scaleFactor).not.toBe(1);
    expect(trainer.stepCount).toBe(6);
    trainer.dispose();
    model.dispose();
  });

  it('resumes bit-identically from either stage (stopped at 3, at 5 and at 8)', async () => {
    const straight = await run([]);
    const resumed = await run([3, 5, 8]);
    expect(resumed.losses).toEqual(straight.losses);
    expect(resumed.scale).toBe(straight.scale);
    for (const [k, v] of Object.entries(straight.weights))
      expect(Buffer.from(resumed.weights[k].buffer).equals(Buffer.from(v.buffer)), k).toBe(true);
  }, 60_000);

  it('fits across both stages, checkpoints and restores without leaking', async () => {
    const model = LatentDiffusionModel.create('tiny', { seed: 0 });
    const trainer = new LatentTrainer(model, OPTIONS);
    // The optimizers' moments are made at their first step: take one step of each stage first.
    await trainer.fit({ images, captions: CAPTIONS, steps: 6 });
    await expectNoLeak(async () => {
      await trainer.fit({ images, captions: CAPTIONS, steps: 2 });
      const ckpt = trainer.checkpoint();
      const restored = LatentTrainer.fromCheckpoint('test', ckpt);
      disposeTrainerTensors(ckpt);
      restored.trainer.dispose();
      restored.model.dispose();
    });
    trainer.dispose();
    model.dispose();
  });

  it('refuses a model-only checkpoint, naming the fix', () => {
    const model = LatentDiffusionModel.create('tiny', { seed: 0 });
    expect(() => LatentTrainer.fromCheckpoint('test', model.toCheckpoint())).toThrow(
      /model-only checkpoint.*LatentDiffusionModel\.load/s,
    );
    expect(() => new LatentTrainer(model, { autoencoderSteps: -1 })).toThrow(SculptError);
    model.dispose();
  });
});
