// Each package's own `Trainer.resume(dir)` on one backend: train n + m steps
// straight, or n, save, resume, m; every weight must be equal bit for bit.
// Shared by reliability.trainers.{cpu,wasm}.test.ts.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { charTokenizer, GptModel, GptTrainer } from '@sculpt/autoregressive';
import { initBackend } from '@sculpt/backend';
import { Rng } from '@sculpt/core';
import { textWindows } from '@sculpt/datasets';
import { DiffusionModel, DiffusionTrainer } from '@sculpt/diffusion';
import { VaeModel, VaeTrainer, VqVaeModel, VqVaeTrainer } from '@sculpt/vae';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

interface Pair {
  model: { dispose(): void };
  trainer: { dispose(): void };
}
interface Case {
  name: string;
  make(): Pair;
  train(pair: Pair, steps: number): Promise<void>;
  save(pair: Pair, dir: string): Promise<void>;
  resume(dir: string): Promise<Pair>;
  weights(pair: Pair): Record<string, tf.Tensor>;
}

const images = (range: '0,1' | '-1,1') =>
  tf.tidy(() => {
    const u = new Rng(9).uniform([4, 8, 8, 1]);
    return (range === '0,1' ? u : tf.sub(tf.mul(u, 2), 1)) as tf.Tensor4D;
  });
const TEXT = 'the quick brown fox jumps over the lazy dog. '.repeat(8);
const tokenizer = charTokenizer({ text: TEXT });

/** Steps `n` times on one fixed batch (its tensors made and freed here). */
async function stepOn(
  step: (x: tf.Tensor4D) => Promise<unknown>,
  range: '0,1' | '-1,1',
  n: number,
) {
  const x = images(range);
  for (let i = 0; i < n; i++) await step(x);
  x.dispose();
}

type D = { model: DiffusionModel; trainer: DiffusionTrainer };
type V = { model: VaeModel; trainer: VaeTrainer };
type Q = { model: VqVaeModel; trainer: VqVaeTrainer };
type G = { model: GptModel; trainer: GptTrainer };

const CASES: Case[] = [
  {
    name: 'DiffusionTrainer',
    make: () => {
      const model = DiffusionModel.create('tiny', { seed: 4 });
      return { model, trainer: new DiffusionTrainer(model, { learningRate: 2e-3, seed: 6 }) };
    },
    train: (p, n) => stepOn((x) => (p as D).trainer.step({ images: x }), '-1,1', n),
    save: (p, dir) => (p as D).trainer.save(dir),
    resume: (dir) => DiffusionTrainer.resume(dir),
    weights: (p) => (p as D).model.params,
  },
  {
    name: 'VaeTrainer',
    make: () => {
      const model = VaeModel.create('tiny', { seed: 7 });
      return { model, trainer: new VaeTrainer(model, { binarize: 'dynamic', seed: 3 }) };
    },
    train: (p, n) => stepOn((x) => (p as V).trainer.step(x), '0,1', n),
    save: (p, dir) => (p as V).trainer.save(dir),
    resume: (dir) => VaeTrainer.resume(dir),
    weights: (p) => (p as V).model.params,
  },
  {
    name: 'VqVaeTrainer',
    make: () => {
      const model = VqVaeModel.create('tiny-vq', { seed: 7 });
      return { model, trainer: new VqVaeTrainer(model, { seed: 3 }) };
    },
    train: (p, n) => stepOn((x) => (p as Q).trainer.step(x), '0,1', n),
    save: (p, dir) => (p as Q).trainer.save(dir),
    resume: (dir) => VqVaeTrainer.resume(dir),
    weights: (p) => (p as Q).model.allTensors(),
  },
  {
    name: 'GptTrainer',
    make: () => {
      const model = GptModel.create({ tokenizer, preset: 'tiny', seed: 7 });
      return { model, trainer: new GptTrainer(model, { learningRate: 3e-3, seed: 7 }) };
    },
    train: async (p, n) => {
      const ids = tokenizer.encode(TEXT);
      const data = (_s: number, rng: Rng) => textWindows(ids, { batchSize: 4, blockSize: 16, rng });
      await (p as G).trainer.fit({ data, steps: n });
    },
    save: (p, dir) => (p as G).trainer.save(dir),
    resume: (dir) => GptTrainer.resume(dir),
    weights: (p) => (p as G).model.params,
  },
];

function dispose(p: Pair): void {
  p.trainer.dispose();
  p.model.dispose();
}

/** Registers the suite for one backend (call at a test file's top level). */
export function trainerResumeSuite(backend: 'cpu' | 'wasm'): void {
  let root: string;
  beforeAll(async () => {
    await initBackend(backend);
    root = mkdtempSync(join(tmpdir(), `sculpt-trainers-${backend}-`));
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  describe.each(CASES.map((c) => [c.name, c] as const))(`%s.resume on ${backend}`, (name, c) => {
    it('3 steps, save, resume, 2 more == 5 straight, every weight bit for bit', async () => {
      const straight = c.make();
      await c.train(straight, 5);
      const first = c.make();
      await c.train(first, 3);
      await c.save(first, join(root, name));
      dispose(first);
      const resumed = await c.resume(join(root, name));
      await c.train(resumed, 2);
      const [want, got] = [c.weights(straight), c.weights(resumed)];
      expect(Object.keys(got).sort()).toEqual(Object.keys(want).sort());
      for (const [k, v] of Object.entries(want))
        expect(
          Buffer.from((await got[k].data()).buffer).equals(Buffer.from((await v.data()).buffer)),
          k,
        ).toBe(true);
      dispose(straight);
      dispose(resumed);
    }, 60_000);
  });
}
