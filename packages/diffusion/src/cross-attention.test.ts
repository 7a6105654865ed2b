import { initBackend } from '@sculpt/backend';
import { Rng, SculptError } from '@sculpt/core';
import { expectNoLeak } from '@sculpt/core/testing';
import { classifierFreeGuidance } from '@sculpt/samplers';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DiffusionModel, DiffusionTrainer } from './index.js';

const L = 4;
const D = 6;
let model: DiffusionModel;
let plain: DiffusionModel;

beforeAll(async () => {
  await initBackend('wasm');
  model = DiffusionModel.create(
    { preset: 'tiny', unet: { numClasses: 0, contextDim: D, contextLength: L } },
    { seed: 1 },
  );
  plain = DiffusionModel.create('tiny', { seed: 1 });
  // Give the zero-initialised output convs and projections weights, so the context matters from the start.
  const rng = new Rng(5);
  for (const [name, v] of Object.entries(model.params)) {
    if (/(proj_kernel|out_conv\/kernel|_conv2\/kernel)$/.test(name))
      tf.tidy(() => v.assign(tf.mul(rng.normal(v.shape), 0.3)));
  }
});

afterAll(() => {
  model.dispose();
  plain.dispose();
});

const x = () => new Rng(2).normal([2, 8, 8, 1]);
const sigma = () => tf.tensor1d([1.5, 0.7]);

describe('cross-attention in the U-Net', () => {
  it('adds context inputs only when contextDim is set (old configs build as before)', () => {
    expect(plain.net.inputNames).toEqual(['image', 'timestep', 'label']);
    expect(model.net.inputNames).toEqual(['image', 'timestep', 'context', 'context_mask']);
    expect(Object.keys(plain.params).some((n) => n.includes('xattn'))).toBe(false);
  });

  it('follows the context and ignores padded keys', async () => {
    const ctxA = new Rng(3).normal([2, L, D]);
    const ctxB = new Rng(4).normal([2, L, D]);
    // Same first two tokens, different padding.
    const ctxC = tf.concat(
      [tf.slice(ctxA, [0, 0, 0], [2, 2, D]), tf.slice(ctxB, [0, 2, 0], [2, 2, D])],
      1,
    );
    const mask = tf.tensor2d([1, 1, 0, 0, 1, 1, 0, 0], [2, L]);
    const [xs, s] = [x(), sigma()];
    const out = (context: tf.Tensor, contextMask?: tf.Tensor) =>
      model.denoiser(xs, s as tf.Tensor1D, { context, ...(contextMask ? { contextMask } : {}) });
    const diff = (a: tf.Tensor, b: tf.Tensor) => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0];
    expect(diff(out(ctxA), out(ctxB))).toBeGreaterThan(1e-3);
    expect(diff(out(ctxA, mask), out(ctxC, mask))).toBeLessThan(1e-5);
    tf.dispose([ctxA, ctxB, ctxC, mask, xs, s]);
  });

  it('stacks the context through classifier-free guidance; guidance 0 = the null context', () => {
    const [xs, s] = [x(), sigma()];
    const context = new Rng(3).normal([2, L, D]);
    const nullContext = tf.zeros([2, L, D]);
    const guided = classifierFreeGuidance(model.denoiser, {
      guidanceScale: 0,
      uncond: { context: nullContext },
    });
    const a = guided(xs, s as tf.Tensor1D, { context });
    const b = model.denoiser(xs, s as tf.Tensor1D, { context: nullContext });
    expect(tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]).toBeLessThan(1e-4);
    tf.dispose([xs, s, context, nullContext, a, b]);
  });

  it('rejects a context of the wrong shape with the fix', () => {
    const [xs, s] = [x(), sigma()];
    const context = tf.zeros([2, L + 1, D]);
    expect(() => model.denoiser(xs, s as tf.Tensor1D, { context })).toThrow(SculptError);
    expect(() => model.denoiser(xs, s as tf.Tensor1D, { context })).toThrow(/contextLength/);
    tf.dispose([xs, s, context]);
  });

  it('learns to read the context: loss falls, and is lower with the right context than a shuffled one', async () => {
    const m = DiffusionModel.create(
      {
        preset: 'tiny',
        prediction: 'sample',
        unet: { numClasses: 0, contextDim: D, contextLength: L },
      },
      { seed: 2 },
    );
    const trainer = new DiffusionTrainer(m, { learningRate: 4e-3, ema: false, seed: 3 });
    // 16 flat images, each +1 or −1; the context says which (a token of all +1s or all −1s).
    const signs = Float32Array.from({ length: 16 }, (_, i) => (i % 2 ? 1 : -1));
    const batch = (s: Float32Array) => ({
      images: tf.tidy(() =>
        tf.mul(tf.ones([16, 8, 8, 1]), tf.tensor4d(signs, [16, 1, 1, 1])),
      ) as tf.Tensor4D,
      context: tf.tidy(() =>
        tf.mul(tf.ones([16, L, D]), tf.tensor3d(s, [16, 1, 1])),
      ) as tf.Tensor3D,
    });
    const right = batch(signs);
    const wrong = batch(signs.map((v) => -v));
    const evalLoss = (b: typeof right) => tf.tidy(() => trainer.loss(b, new Rng(11)).dataSync()[0]);
    const before = evalLoss(right);
    for (let i = 0; i < 60; i++) await trainer.step(right);
    const after = evalLoss(right);
    expect(after).toBeLessThan(0.5 * before);
    expect(after).toBeLessThan(0.7 * evalLoss(wrong));
    await expectNoLeak(() => trainer.step(right), { label: 'DiffusionTrainer.step with context' });
    tf.dispose([right.images, right.context, wrong.images, wrong.context]);
    trainer.dispose();
    m.dispose();
  });
});
