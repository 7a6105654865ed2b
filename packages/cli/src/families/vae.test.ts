// The VAE family's presets map onto @sculpt/vae's: `mnist-2d` is the 2-D latent of the docs' map demo.
import '@tensorflow/tfjs-backend-cpu';
import { initBackend } from '@sculpt/backend';
import { Rng } from '@sculpt/core';
import { shapeImages } from '@sculpt/datasets';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import type { TrainingData } from '../family.js';
import { vaeFamily } from './vae.js';

const set = shapeImages({ count: 16, rng: new Rng(0), size: 28 });
const data: TrainingData = {
  kind: 'images',
  spec: 'shapes',
  train: set,
  heldOut: set,
  classNames: ['0', '1', '2'],
};

describe('vae family presets', () => {
  beforeAll(async () => {
    await initBackend('cpu');
  });

  it.each([
    ['tiny', 4, [32]],
    ['mlp', 32, [512, 256]],
    ['mnist-2d', 2, [512, 256]],
  ])(
    '%s builds latentDim %i with hidden %j, trains a step and frees everything',
    async (preset, latentDim, hidden) => {
      const before = tf.memory().numTensors;
      const run = await vaeFamily.create({ preset, data, batchSize: 4, seed: 0, totalSteps: 1 });
      expect(run.config).toMatchObject({ latentDim, hidden, imageShape: [28, 28, 1] });
      const losses: number[] = [];
      await run.train({ steps: 1, onStep: (r) => void losses.push(r.loss) });
      expect(Number.isFinite(losses[0])).toBe(true);
      run.dispose();
      expect(tf.memory().numTensors).toBe(before);
    },
  );
});
