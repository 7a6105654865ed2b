import { initBackend } from '@sculpt/backend';
import { loadCheckpoint, SculptError, saveCheckpoint } from '@sculpt/core';
import { expectNoLeak } from '@sculpt/core/testing';
import { VqVaeModel } from '@sculpt/vae';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-layers';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CodePrior, codePriorConfig, vqPrior } from './index.js';

// Two classes, each one fixed 2×2 grid of the tiny VQ-VAE's 8 codes: the prior
// must learn which grid its prefix token asks for.
const GRIDS = [
  [1, 2, 3, 4],
  [5, 6, 7, 0],
];
const N = 64;
const LABELS = Array.from({ length: N }, (_, i) => i % 2);
let vqvae: VqVaeModel;
let prior: CodePrior;
let codes: tf.Tensor3D;
let losses: number[];

const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;

beforeAll(async () => {
  await initBackend('wasm');
  vqvae = VqVaeModel.create('tiny-vq', { seed: 0 });
  codes = tf.tensor3d(
    LABELS.flatMap((l) => GRIDS[l]),
    [N, 2, 2],
    'int32',
  );
  prior = CodePrior.create(codePriorConfig({ vqvae, numClasses: 2, preset: 'tiny' }), { seed: 0 });
  losses = [];
  await prior.train({
    codes,
    labels: LABELS,
    steps: 150,
    batchSize: 16,
    learningRate: 1e-2,
    callbacks: { onStep: (r) => void losses.push(r.loss) },
  });
}, 60_000);

afterAll(() => {
  prior.dispose();
  vqvae.dispose();
  codes.dispose();
});

describe('CodePrior + vqPrior', () => {
  it('learns the class-conditional code grids (loss from ~ln 11 to below 0.25)', async () => {
    expect(losses[0]).toBeGreaterThan(1.5);
    expect(mean(losses.slice(-10))).toBeLessThan(0.25);
    const labels = Array.from({ length: 20 }, (_, i) => i % 2);
    const grids = prior.sampleCodes({ numSamples: 20, labels, seed: 1 });
    const got = Array.from(await grids.data());
    grids.dispose();
    const hits = got.filter((c, j) => c === GRIDS[labels[Math.floor(j / 4)]][j % 4]).length;
    expect(hits / got.length).toBeGreaterThan(0.9);
  });

  it('samples images through the VQ-VAE, prompts naming the class', async () => {
    const pipeline = vqPrior({ vqvae, prior });
    const x = await pipeline.sample({
      numSamples: 3,
      prompts: ['a one', 'the digit 0', ''],
      seed: 2,
    });
    expect(x.shape).toEqual([3, 8, 8, 1]);
    const v = await x.data();
    expect(v.every((p) => p >= 0 && p <= 1)).toBe(true);
    x.dispose();
  });

  it('save → load gives identical samples for a seed', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sculpt-code-prior-'));
    try {
      await saveCheckpoint(dir, prior.toCheckpoint());
      const ckpt = await loadCheckpoint(dir);
      const loaded = CodePrior.fromCheckpoint('test', ckpt);
      tf.dispose(Object.values(ckpt.tensors));
      expect(loaded.config).toEqual(prior.config);
      const [a, b] = [prior, loaded].map((p) =>
        p.sampleCodes({
          numSamples: 8,
          labels: [0, 1, -1, 0, 1, -1, 0, 1],
          seed: 5,
          temperature: 1.5,
        }),
      );
      expect(Array.from(await b.data())).toEqual(Array.from(await a.data()));
      tf.dispose([a, b]);
      loaded.dispose();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('trains, samples and decodes without leaking', async () => {
    await expectNoLeak(async () => {
      await prior.train({ codes, labels: LABELS, steps: 2, batchSize: 8 });
      tf.dispose(prior.sampleCodes({ numSamples: 2, labels: [0, 1], seed: 0 }));
      tf.dispose(await vqPrior({ vqvae, prior }).sample({ numSamples: 2, seed: 0 }));
    });
  });

  it('refuses bad input with SculptErrors naming the fix', async () => {
    const other = VqVaeModel.create({ preset: 'tiny-vq', numCodes: 16 }, { seed: 0 });
    expect(() => vqPrior({ vqvae: other, prior })).toThrow(
      /2×2 grids of 16 codes.*codePriorConfig/s,
    );
    other.dispose();
    const floats = tf.zeros([4, 2, 2]) as tf.Tensor3D;
    await expect(prior.train({ codes: floats, steps: 1 })).rejects.toThrow(
      /int32 code grids.*encodeCodes/s,
    );
    floats.dispose();
    expect(() => prior.sampleCodes({ numSamples: 1, labels: [2] })).toThrow(SculptError);
    expect(() => prior.sampleCodes({ numSamples: 1, labels: [2] })).toThrow(
      /class labels in \[0, 1\]/,
    );
    await expect(
      vqPrior({ vqvae, prior }).sample({ numSamples: 1, prompts: ['a purple cat'] }),
    ).rejects.toThrow(/name a digit/);
  });
});
