// layerNormOp and gelu through @sculpt/native's fused kernels (wasm) against
// the tfjs ops on tfjs's cpu backend: values, gradients, no leaks, and the
// GPT really running the fused kernels.
import { initBackend } from '@sculpt/backend';
import { FUSED_KERNELS, hasFusedKernel, Rng } from '@sculpt/core';
import { expectNoLeak } from '@sculpt/core/testing';
import { registerNativeKernels, unregisterNativeKernels } from '@sculpt/native';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gelu, layerNormOp } from './gpt.js';
import { charTokenizer, GptModel } from './index.js';

beforeAll(async () => {
  await initBackend('wasm');
  registerNativeKernels();
});
afterAll(async () => {
  unregisterNativeKernels();
  await tf.setBackend('wasm');
});

/** LayerNorm's value and its gradients for x, g (and b) under a fixed upstream weight, on `backend`. */
async function valueAndGrads(backend: string, withBias: boolean, shape: [number, number]) {
  await tf.setBackend(backend);
  return tf.tidy(() => {
    const rng = new Rng(3);
    const x = tf.add(tf.mul(rng.normal(shape), 2), 0.5);
    const g = rng.normal([shape[1]]);
    const b = rng.normal([shape[1]]);
    const w = rng.normal(shape);
    const f = (...ts: tf.Tensor[]) =>
      ts.length === 3 ? layerNormOp(ts[0], ts[1], ts[2]) : layerNormOp(ts[0], ts[1]);
    const inputs = withBias ? [x, g, b] : [x, g];
    const value = f(...inputs);
    const grads = tf.grads((...ts: tf.Tensor[]) => tf.sum(tf.mul(f(...ts), w)))(inputs);
    return [value, ...grads].map((t) => t.dataSync() as Float32Array);
  });
}

describe('layerNormOp and gelu with the fused native kernels', () => {
  it('are the kernels the wasm backend uses after registerNativeKernels()', () => {
    expect(hasFusedKernel(FUSED_KERNELS.layerNorm)).toBe(true);
    expect(hasFusedKernel(FUSED_KERNELS.gelu)).toBe(true);
  });

  for (const withBias of [true, false]) {
    for (const shape of [
      [3, 5],
      [700, 160],
    ] as [number, number][]) {
      it(`matches cpu's tfjs ops in value and gradients (${withBias ? 'with' : 'without'} β, [${shape}])`, async () => {
        const want = await valueAndGrads('cpu', withBias, shape);
        const got = await valueAndGrads('wasm', withBias, shape);
        expect(got.length).toBe(want.length);
        want.forEach((w, i) => {
          let worst = 0;
          for (let j = 0; j < w.length; j++)
            worst = Math.max(worst, Math.abs(got[i][j] - w[j]) / (1 + Math.abs(w[j])));
          expect(worst, `output ${i}`).toBeLessThan(1e-4);
        });
      });
    }
  }

  it('gelu matches cpu in value and gradient, into both tails', async () => {
    const once = async (backend: string) => {
      await tf.setBackend(backend);
      return tf.tidy(() => {
        const x = tf.mul(new Rng(4).normal([50, 64]), 4); // tanh saturates past |x| ≈ 3
        const w = new Rng(5).normal([50, 64]);
        const [dx] = tf.grads((xs: tf.Tensor) => tf.sum(tf.mul(gelu(xs), w)))([x]);
        return [gelu(x), dx].map((t) => t.dataSync() as Float32Array);
      });
    };
    const want = await once('cpu');
    const got = await once('wasm');
    want.forEach((w, i) => {
      let worst = 0;
      for (let j = 0; j < w.length; j++) worst = Math.max(worst, Math.abs(got[i][j] - w[j]));
      expect(worst, `output ${i}`).toBeLessThan(1e-5);
    });
  });

  it('leaks nothing, forward and backward', async () => {
    await tf.setBackend('wasm');
    const x = tf.randomNormal([16, 32], 0, 1, 'float32', 1);
    const g = tf.ones([32]);
    const b = tf.zeros([32]);
    await expectNoLeak(() => {
      tf.tidy(() => layerNormOp(x, g, b)).dispose();
      tf.dispose(tf.grads((xs: tf.Tensor) => tf.sum(layerNormOp(xs, g, b)))([x]));
      tf.tidy(() => gelu(x)).dispose();
      tf.dispose(tf.grads((xs: tf.Tensor) => tf.sum(gelu(xs)))([x]));
    });
    tf.dispose([x, g, b]);
  });

  it('run inside GPT generation (one fused call per LayerNorm and per GELU) without leaking', async () => {
    await tf.setBackend('wasm');
    const tokenizer = charTokenizer({ text: 'abcdefgh ' });
    const model = GptModel.create({ tokenizer, preset: 'tiny', seed: 0 });
    const info = await tf.profile(() =>
      tf.tidy(() => model.forward(tf.tensor2d([[1, 2, 3]], [1, 3], 'int32'))),
    );
    tf.dispose(info.result as tf.Tensor);
    const count = (name: string) => info.kernels.filter((k) => k.name === name).length;
    expect(count(FUSED_KERNELS.layerNorm)).toBe(2 * model.config.numLayers + 1);
    expect(count(FUSED_KERNELS.gelu)).toBe(model.config.numLayers);
    await expectNoLeak(async () => {
      const out = await model.generate({ prompt: 'abc', maxNewTokens: 5, seed: 1 });
      expect(out.tokens.length).toBe(5);
    });
    model.dispose();
  });
});
