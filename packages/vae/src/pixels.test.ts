// The trainers' pixel check makes no read of its own (it rides in core's one
// read per step) and still refuses NaN/±Infinity pixels with a SculptError.
import { initBackend } from '@sculpt/backend';
import { NonFiniteLossError, Rng, SculptError } from '@sculpt/core';
import { expectNoLeak } from '@sculpt/core/testing';
import * as tf from '@tensorflow/tfjs-core';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { barsFixture } from './fixture.test-util.js';
import { evaluateBounds, VaeModel, VaeTrainer, VqVaeModel, VqVaeTrainer } from './index.js';

beforeAll(async () => {
  await initBackend('wasm');
});
afterEach(() => {
  vi.restoreAllMocks();
});

/** The bars fixture with one pixel set to `value`. */
function poisoned(value: number): tf.Tensor4D {
  return tf.tidy(() => {
    const x = barsFixture();
    const mask = tf.oneHot(tf.tensor1d([3], 'int32'), 8 * 8 * 8 * 1);
    const bad = tf.reshape(tf.cast(mask, 'float32'), x.shape);
    return tf.where(tf.cast(bad, 'bool'), tf.fill(x.shape, value), x) as tf.Tensor4D;
  });
}

/** Counts `dataSync` calls made by `fn`. */
async function syncReads(fn: () => Promise<unknown>): Promise<number> {
  const spy = vi.spyOn(tf.Tensor.prototype, 'dataSync');
  await fn();
  const n = spy.mock.calls.length;
  spy.mockRestore();
  return n;
}

/** A copy of every parameter's values. */
function snapshot(params: Record<string, tf.Variable>): number[][] {
  return Object.values(params).map((v) => Array.from(v.dataSync()));
}

describe('VaeTrainer pixel check', () => {
  it('a train step reads nothing synchronously (conv and MLP)', async () => {
    for (const preset of ['tiny', 'tiny-conv'] as const) {
      const m = VaeModel.create(preset, { seed: 1 });
      const tr = new VaeTrainer(m, { binarize: 'dynamic' });
      const x = barsFixture();
      const result = await tr.step(x);
      expect(await syncReads(() => tr.step(x))).toBe(0);
      expect(result.terms.nonFinitePixels).toBe(0);
      x.dispose();
      tr.dispose();
      m.dispose();
    }
  });

  it.each([
    ['NaN', 'none', Number.NaN],
    ['+Infinity', 'none', Number.POSITIVE_INFINITY],
    ['NaN', 'dynamic', Number.NaN],
    ['-Infinity', 'dynamic', Number.NEGATIVE_INFINITY],
  ] as const)(
    'refuses a batch with a %s pixel (binarize %s): SculptError, no update, no leak',
    async (_name, binarize, value) => {
      const m = VaeModel.create('tiny', { seed: 2 });
      const tr = new VaeTrainer(m, { binarize });
      const good = barsFixture();
      await tr.step(good);
      const x = poisoned(value);
      const before = snapshot(m.params);
      const tensors = tf.memory().numTensors;
      const error = await tr.step(x).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(SculptError);
      expect(String(error)).toMatch(
        /VaeTrainer\.step: expected finite pixels, got NaN or ±Infinity/,
      );
      expect(String(error)).toMatch(/Fix: clean the data/);
      expect(tf.memory().numTensors).toBe(tensors);
      expect(tr.stepCount).toBe(1);
      expect(snapshot(m.params)).toEqual(before);
      await tr.step(good); // the trainer stays usable
      expect(tr.stepCount).toBe(2);
      tf.dispose([good, x]);
      tr.dispose();
      m.dispose();
    },
  );

  it('fit names the pixels too', async () => {
    const m = VaeModel.create('tiny', { seed: 3 });
    const tr = new VaeTrainer(m);
    const data = (step: number) => (step === 2 ? poisoned(Number.NaN) : barsFixture());
    await expect(tr.fit({ data, steps: 4 })).rejects.toThrow(
      /VaeTrainer\.fit: expected finite pixels/,
    );
    expect(tr.stepCount).toBe(2);
    tr.dispose();
    m.dispose();
  });

  it('checkPixels: false drops the term; core still refuses the NaN loss', async () => {
    const m = VaeModel.create('tiny', { seed: 4 });
    const tr = new VaeTrainer(m, { checkPixels: false });
    const x = barsFixture();
    const result = await tr.step(x);
    expect(Object.keys(result.terms).sort()).toEqual(['kl', 'negElbo', 'recon']);
    const bad = poisoned(Number.NaN);
    await expect(tr.step(bad)).rejects.toBeInstanceOf(NonFiniteLossError);
    expect(tr.stepCount).toBe(1);
    tf.dispose([x, bad]);
    tr.dispose();
    m.dispose();
  });

  it('encodeParams with checkPixels: false checks the shape only, reads nothing, leaks nothing', async () => {
    const m = VaeModel.create('tiny', { seed: 5 });
    const x = barsFixture();
    expect(
      await syncReads(async () =>
        tf.dispose(Object.values(m.encodeParams(x, { checkPixels: false }))),
      ),
    ).toBe(0);
    await expectNoLeak(() => m.encodeParams(x, { checkPixels: false }));
    const wrong = tf.zeros([2, 7, 8, 1]);
    expect(() => m.encodeParams(wrong, { checkPixels: false })).toThrow(/\[B, 8, 8, 1\]/);
    const nan = poisoned(Number.NaN);
    expect(() => m.encodeParams(nan)).toThrow(/NaN/);
    tf.dispose([x, wrong, nan]);
    m.dispose();
  });

  it('evaluateBounds refuses NaN pixels with an awaited read', async () => {
    const m = VaeModel.create('tiny', { seed: 6 });
    const nan = poisoned(Number.NaN);
    await expect(evaluateBounds(m, nan, new Rng(0), { k: 2 })).rejects.toThrow(
      /evaluateBounds: expected finite pixels/,
    );
    nan.dispose();
    m.dispose();
  });
});

describe('VqVaeTrainer pixel check', () => {
  it('steps after the first read nothing synchronously; NaN pixels give a SculptError, no update, no leak', async () => {
    const m = VqVaeModel.create('tiny-vq', { seed: 1 });
    const tr = new VqVaeTrainer(m);
    const x = barsFixture();
    await tr.step(x); // the first step also initialises the codebook by k-means
    expect(await syncReads(() => tr.step(x))).toBe(0);
    const bad = poisoned(Number.POSITIVE_INFINITY);
    const before = snapshot(m.params);
    const tensors = tf.memory().numTensors;
    await expect(tr.step(bad)).rejects.toThrow(/VqVaeTrainer\.step: expected finite pixels/);
    expect(tf.memory().numTensors).toBe(tensors);
    expect(snapshot(m.params)).toEqual(before);
    expect(tr.stepCount).toBe(2);
    tf.dispose([x, bad]);
    tr.dispose();
    m.dispose();
  });
});
