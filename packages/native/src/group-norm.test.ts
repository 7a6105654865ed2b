import { initBackend } from '@sculpt/backend';
import { FUSED_KERNELS, SculptError } from '@sculpt/core';
import { expectNoLeak } from '@sculpt/core/testing';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-core/dist/register_all_gradients'; // the Node build of tfjs-core registers none
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerNativeKernels, unregisterNativeKernels } from './index.js';
import { worstRelative } from './test-values.js';

/** Deterministic values in [-scale, scale) + shift. */
function values(n: number, seed: number, scale = 1, shift = 0): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = (s / 2 ** 31 - 1) * scale + shift;
  }
  return out;
}

interface Case {
  shape: [number, number, number, number];
  groups: number;
  silu: boolean;
}

// groups 1 and 8, channels not a multiple of 4 (6, 10), batch 1, and one past the addon's grain.
const CASES: Case[] = [
  { shape: [2, 5, 3, 8], groups: 8, silu: false },
  { shape: [2, 5, 3, 8], groups: 8, silu: true },
  { shape: [1, 4, 4, 6], groups: 1, silu: true },
  { shape: [3, 3, 5, 10], groups: 2, silu: false },
  { shape: [1, 7, 7, 10], groups: 5, silu: true },
  { shape: [48, 14, 14, 64], groups: 8, silu: true },
];

/** The reference: the tfjs ops chain (moments, normalise, affine, x·σ(x)) under autodiff. */
function reference(x: tf.Tensor4D, gamma: tf.Tensor, beta: tf.Tensor, c: Case): tf.Tensor {
  const [b, h, w, ch] = x.shape;
  const g = tf.reshape(x, [b, h, w, c.groups, ch / c.groups]);
  const { mean, variance } = tf.moments(g, [1, 2, 4], true);
  const normed = tf.reshape(tf.mul(tf.sub(g, mean), tf.rsqrt(tf.add(variance, 1e-5))), x.shape);
  const z = tf.add(tf.mul(normed, gamma), beta);
  return c.silu ? tf.mul(z, tf.sigmoid(z)) : z;
}

/** Inputs of one case: x off-centre (mean 0.5), γ and β away from 1 and 0, and a dy. */
function inputs(c: Case): Record<'x' | 'gamma' | 'beta' | 'dy', tf.Tensor> {
  const n = c.shape.reduce((a, b) => a * b, 1);
  const ch = c.shape[3];
  return {
    x: tf.tensor(values(n, 11, 2, 0.5), c.shape),
    gamma: tf.tensor(values(ch, 12, 0.5, 1), [ch]),
    beta: tf.tensor(values(ch, 13, 0.5), [ch]),
    dy: tf.tensor(values(n, 14), c.shape),
  };
}

/** [y, dx, dγ, dβ] on cpu through the reference's autodiff. */
async function onCpu(c: Case): Promise<Float32Array[]> {
  await tf.setBackend('cpu');
  return tf.tidy(() => {
    const { x, gamma, beta, dy } = inputs(c);
    const f = (a: tf.Tensor, g: tf.Tensor, b: tf.Tensor) =>
      tf.sum(tf.mul(reference(a as tf.Tensor4D, g, b, c), dy));
    const grads = tf.grads(f)([x, gamma, beta]);
    return [reference(x as tf.Tensor4D, gamma, beta, c), ...grads].map(
      (t) => t.dataSync() as Float32Array,
    );
  });
}

/** [y, dx, dγ, dβ] on wasm through the two native kernels. */
async function onNative(c: Case): Promise<Float32Array[]> {
  await tf.setBackend('wasm');
  return tf.tidy(() => {
    const { x, gamma, beta, dy } = inputs(c);
    const attrs = { groups: c.groups, epsilon: 1e-5, silu: c.silu };
    const [y, mean, rstd] = tf
      .engine()
      .runKernel(FUSED_KERNELS.groupNorm, { x, gamma, beta }, attrs) as tf.Tensor[];
    expect(mean.shape).toEqual([c.shape[0], c.groups]);
    const grads = tf
      .engine()
      .runKernel(
        FUSED_KERNELS.groupNormGrad,
        { dy, x, gamma, beta, mean, rstd },
        { groups: c.groups, silu: c.silu },
      ) as tf.Tensor[];
    return [y, ...grads].map((t) => t.dataSync() as Float32Array);
  });
}

beforeAll(async () => {
  await initBackend('wasm');
  registerNativeKernels();
});
afterAll(() => unregisterNativeKernels());

describe('fused GroupNorm', () => {
  for (const c of CASES) {
    it(`[${c.shape}] groups ${c.groups}${c.silu ? ' + SiLU' : ''}: y, dx, dγ, dβ match cpu`, async () => {
      const want = await onCpu(c);
      const got = await onNative(c);
      const names = ['y', 'dx', 'dgamma', 'dbeta'];
      // dγ and dβ sum B·H·W terms: their rounding grows with the count.
      const tol = [1e-4, 1e-4, 2e-4, 2e-4];
      names.forEach((name, i) => {
        expect(worstRelative(got[i], want[i]), name).toBeLessThan(tol[i]);
      });
    });
  }

  it('leaks no tensor, forward or backward', async () => {
    await tf.setBackend('wasm');
    const { x, gamma, beta, dy } = inputs(CASES[1]);
    const attrs = { groups: 8, epsilon: 1e-5, silu: true };
    await expectNoLeak(() => {
      const [y, mean, rstd] = tf
        .engine()
        .runKernel(FUSED_KERNELS.groupNorm, { x, gamma, beta }, attrs) as tf.Tensor[];
      const grads = tf
        .engine()
        .runKernel(
          FUSED_KERNELS.groupNormGrad,
          { dy, x, gamma, beta, mean, rstd },
          { groups: 8, silu: true },
        ) as tf.Tensor[];
      return [y, mean, rstd, ...grads];
    });
    tf.dispose([x, gamma, beta, dy]);
  });

  it('names what it got and the fix for inputs it does not take', async () => {
    await tf.setBackend('wasm');
    const x = tf.ones([2, 3, 3, 6]);
    const gamma = tf.ones([6]);
    const beta = tf.zeros([6]);
    const run =
      (groups: number, b = beta) =>
      () =>
        tf.engine().runKernel(FUSED_KERNELS.groupNorm, { x, gamma, beta: b }, { groups });
    expect(run(4)).toThrow(SculptError);
    expect(run(4)).toThrow(
      /groups dividing C.*got x float32 \[2,3,3,6\].*groups 4.*use the tfjs ops/,
    );
    const short = tf.zeros([3]);
    expect(run(3, short)).toThrow(/beta float32 \[3\]/);
    const mean = tf.zeros([2, 2]);
    expect(() =>
      tf
        .engine()
        .runKernel(
          FUSED_KERNELS.groupNormGrad,
          { dy: tf.ones([2, 3, 3, 6]), x, gamma, beta, mean, rstd: mean },
          { groups: 3 },
        ),
    ).toThrow(/mean, rstd \[2,3\].*got dy \[2,3,3,6\], mean \[2,2\]/);
    tf.dispose([x, gamma, beta, short, mean]);
  });
});
