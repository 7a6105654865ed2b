import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initBackend } from '@sculpt/backend';
import { Rng, SculptError } from '@sculpt/core';
import { expectNoLeak } from '@sculpt/core/testing';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { barsFixture } from './fixture.test-util.js';
import { codebookUsage, quantize, VqVaeModel, VqVaeTrainer, vqVaeConfig } from './index.js';
import { restartDeadCodes } from './quantizer.js';

let dir: string;
beforeAll(async () => {
  await initBackend('wasm');
  dir = await mkdtemp(join(tmpdir(), 'sculpt-vq-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Adam keeps two slots per trainable weight after its first step. */
const optimizerSlots = (m: VqVaeModel) => 2 * Object.keys(m.params).length;

const data = (m: VqVaeModel) => Object.values(m.allTensors()).map((v) => Array.from(v.dataSync()));

describe('VqVaeModel', () => {
  it('codes are an int32 [B, 2, 2] grid and decodeCodes gives images; config round-trips', () => {
    const m = VqVaeModel.create('tiny-vq', { seed: 1 });
    const x = barsFixture();
    const codes = m.encodeCodes(x);
    expect(codes.dtype).toBe('int32');
    expect(codes.shape).toEqual([8, 2, 2]);
    const y = m.decodeCodes(codes);
    expect(y.shape).toEqual([8, 8, 8, 1]);
    const z = m.encode(x);
    expect(z.shape).toEqual([8, ...m.latentShape]);
    const twin = VqVaeModel.fromConfig(JSON.parse(JSON.stringify(m.getConfig())));
    expect(twin.getConfig()).toEqual(m.getConfig());
    expect(twin.parameterCount).toBe(m.parameterCount);
    expect(VqVaeModel.create('mnist-vq').gridShape).toEqual([7, 7]);
    tf.dispose([x, codes, y, z]);
    m.dispose();
    twin.dispose();
  });

  it('rejects wrong shapes, NaN pixels and out-of-range codes with a SculptError', () => {
    const m = VqVaeModel.create('tiny-vq');
    const wrong = tf.zeros([2, 28, 28, 1]);
    expect(() => m.encodeCodes(wrong)).toThrow(/\[B, 8, 8, 1\].*\n?.*28/);
    const nan = tf.fill([1, 8, 8, 1], Number.NaN);
    expect(() => m.encodeCodes(nan)).toThrow(/NaN/);
    const big = tf.fill([1, 2, 2], 8, 'int32');
    expect(() => m.decodeCodes(big)).toThrow(/\[0, 8\).*\n?.*8 to 8/);
    const neg = tf.fill([1, 2, 2], -1, 'int32');
    expect(() => m.decodeCodes(neg)).toThrow(SculptError);
    const grid = tf.zeros([1, 3, 3], 'int32');
    expect(() => m.decodeCodes(grid)).toThrow(/\[B, 2, 2\]/);
    expect(() => vqVaeConfig({ numCodes: 1 })).toThrow(/numCodes/);
    expect(() => vqVaeConfig({ emaDecay: 1 })).toThrow(/emaDecay/);
    tf.dispose([wrong, nan, big, neg, grid]);
    m.dispose();
  });
});

describe('VqVaeTrainer', () => {
  it('straight-through gradients reach the encoder', () => {
    const m = VqVaeModel.create('tiny-vq', { seed: 2 });
    const tr = new VqVaeTrainer(m);
    const x = barsFixture();
    const enc = Object.entries(m.params).filter(([k]) => k.startsWith('enc/'));
    const { value, grads } = tf.variableGrads(
      () => tr.loss(x).loss,
      enc.map(([, v]) => v),
    );
    for (const [name, v] of enc) {
      const g = tf.sum(tf.abs(grads[v.name]));
      expect(g.dataSync()[0], name).toBeGreaterThan(0);
      g.dispose();
    }
    tf.dispose([value, x, ...Object.values(grads)]);
    tr.dispose();
    m.dispose();
  });

  it('learns: reconstruction loss falls well below its start; usage is counted per epoch', async () => {
    const m = VqVaeModel.create('tiny-vq', { seed: 1 });
    const tr = new VqVaeTrainer(m, { learningRate: 5e-3, seed: 2 });
    const x = barsFixture();
    const first = await tr.step(x);
    let last = first;
    for (let i = 0; i < 149; i++) last = await tr.step(x);
    expect(first.terms.recon).toBeGreaterThan(30);
    expect(last.terms.recon).toBeLessThan(0.5 * first.terms.recon);
    const usage = await tr.takeUsage();
    expect(usage.total).toBe(150 * 8 * 2 * 2);
    expect(usage.codesUsed).toBeGreaterThan(1);
    expect(usage.perplexity).toBeGreaterThan(1);
    expect(usage.perplexity).toBeLessThanOrEqual(8 + 1e-9);
    expect((await tr.takeUsage()).total).toBe(0); // reset
    tf.dispose(x);
    tr.dispose();
    m.dispose();
  });

  it('codebookUsage: perplexity and the share of codes used', () => {
    const u = codebookUsage([5, 5, 0, 0]);
    expect(u.perplexity).toBeCloseTo(2, 10);
    expect(u.fractionUsed).toBe(0.5);
    expect(codebookUsage([1, 1, 1, 1]).perplexity).toBeCloseTo(4, 10);
  });

  it('restarts dead codes on encoder outputs', async () => {
    const m = VqVaeModel.create('tiny-vq', { seed: 1 });
    const z = tf.tensor2d([
      [9, 9, 9, 9],
      [7, 7, 7, 7],
    ]);
    const usage = tf.tensor1d([3, 0, 1, 1, 0, 2, 2, 2]);
    const n = await restartDeadCodes(m.ema, usage, z, new Rng(1));
    expect(n).toBe(2);
    const book = m.ema.codebook.arraySync() as number[][];
    for (const dead of [1, 4]) expect([7, 9]).toContain(book[dead][0]);
    expect(book[0][0]).not.toBe(9);
    expect(m.ema.counts.dataSync()[1]).toBe(1);
    tf.dispose([z, usage]);
    m.dispose();
  });

  it('save → load gives identical decodeCodes; resume continues exactly', async () => {
    const x = barsFixture();
    const make = () => new VqVaeTrainer(VqVaeModel.create('tiny-vq', { seed: 7 }), { seed: 3 });
    const a = make();
    for (let i = 0; i < 24; i++) await a.step(x); // crosses a restart window (20)
    const b = make();
    for (let i = 0; i < 12; i++) await b.step(x);
    await b.save(join(dir, 'resume'));
    await b.model.save(join(dir, 'model'));
    const loaded = await VqVaeModel.load(join(dir, 'model'));
    const codes = b.model.encodeCodes(x);
    const [p, q] = [b.model.decodeCodes(codes), loaded.decodeCodes(codes)];
    expect(Array.from(q.dataSync())).toEqual(Array.from(p.dataSync()));
    tf.dispose([codes, p, q]);
    loaded.dispose();
    b.dispose();
    b.model.dispose();
    const { model, trainer } = await VqVaeTrainer.resume(join(dir, 'resume'));
    for (let i = 0; i < 12; i++) await trainer.step(x);
    expect(data(model)).toEqual(data(a.model));
    expect(await trainer.takeUsage()).toEqual(await a.takeUsage());
    tf.dispose(x);
    [a, trainer].forEach((t) => {
      t.dispose();
    });
    a.model.dispose();
    model.dispose();
  });

  it('train step, encodeCodes, decodeCodes, encode/decode and usage are leak-free', async () => {
    const m = VqVaeModel.create('tiny-vq', { seed: 1 });
    const tr = new VqVaeTrainer(m);
    const x = barsFixture();
    // the first step also initialises the codebook by k-means
    const before = tf.memory().numTensors;
    await tr.step(x);
    expect(tf.memory().numTensors - before).toBe(optimizerSlots(m));
    await expectNoLeak(() => tr.step(x));
    await expectNoLeak(() => tr.takeUsage());
    const codes = m.encodeCodes(x);
    await expectNoLeak(() => m.encodeCodes(x));
    await expectNoLeak(() => m.decodeCodes(codes));
    await expectNoLeak(() => {
      const z = m.encode(x);
      const y = m.decode(z);
      z.dispose();
      return y;
    });
    const z = tf.tensor2d([
      [0.1, 0.2, 0.3, 0.4],
      [1, 1, 1, 1],
    ]);
    await expectNoLeak(() => quantize(z, m.ema.codebook as tf.Tensor2D));
    tf.dispose([x, codes, z]);
    tr.dispose();
    m.dispose();
  });
});

describe('VqVaeTrainer.fit', () => {
  it('runs the steps it is given and stops with an AbortError when aborted', async () => {
    const m = VqVaeModel.create('tiny-vq', { seed: 1 });
    const tr = new VqVaeTrainer(m);
    const last = await tr.fit({ data: () => barsFixture(), steps: 3 });
    expect(last?.step).toBe(3);
    const stop = new AbortController();
    const run = tr.fit({
      data: () => barsFixture(),
      steps: 5,
      onStep: (r) => {
        if (r.step === 4) stop.abort();
      },
      signal: stop.signal,
    });
    await expect(run).rejects.toThrow(/aborted after 1/);
    expect(tr.stepCount).toBe(4);
    tr.dispose();
    m.dispose();
  });
});
