import { initBackend } from '@sculpt/backend';
import { FUSED_KERNELS, hasFusedKernel, Rng, SculptError } from '@sculpt/core';
import { expectNoLeak } from '@sculpt/core/testing';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerNativeKernels, unregisterNativeKernels } from './index.js';

interface Case {
  batch: number;
  heads: number;
  past: number;
  d: number;
}

/** The tfjs ops a GPT runs for one new token (split heads, append to the cache, attend, merge). */
function reference(
  qkv: tf.Tensor2D,
  k: tf.Tensor4D | undefined,
  v: tf.Tensor4D | undefined,
  c: Case,
) {
  const { batch, heads, d } = c;
  const parts = tf.unstack(tf.transpose(tf.reshape(qkv, [batch, 1, 3, heads, d]), [2, 0, 3, 1, 4]));
  const [q, kNew, vNew] = parts as tf.Tensor4D[]; // [B, H, 1, D]
  const keys = k ? tf.concat([k, kNew], 2) : kNew;
  const vals = v ? tf.concat([v, vNew], 2) : vNew;
  const scores = tf.matMul(tf.mul(q, 1 / Math.sqrt(d)), keys, false, true); // [B, H, 1, S]
  const y = tf.matMul(tf.softmax(scores), vals); // [B, H, 1, D]
  return [tf.reshape(tf.transpose(y, [0, 2, 1, 3]), [batch, heads * d]), keys, vals];
}

/** Inputs of one case, made from the same values on every backend. */
function inputs(c: Case) {
  const { batch, heads, past, d } = c;
  const rng = new Rng(1);
  const cached = (scale: number) =>
    past > 0
      ? (rng.uniform([batch, heads, past, d], { min: -scale, max: scale }) as tf.Tensor4D)
      : undefined;
  const qkv = rng.uniform([batch, 3 * heads * d], { min: -2, max: 2 }) as tf.Tensor2D;
  return { qkv, k: cached(2), v: cached(1) };
}

async function outputs(backend: string, c: Case, fused: boolean): Promise<Float32Array[]> {
  await tf.setBackend(backend);
  return tf.tidy(() => {
    const { qkv, k, v } = inputs(c);
    const out = fused
      ? (tf.engine().runKernel(FUSED_KERNELS.cachedAttention, k && v ? { qkv, k, v } : { qkv }, {
          numHeads: c.heads,
        }) as tf.Tensor[])
      : reference(qkv, k, v, c);
    return out.map((t) => t.dataSync() as Float32Array);
  });
}

beforeAll(async () => {
  await initBackend('wasm');
  registerNativeKernels();
});
afterAll(() => unregisterNativeKernels());

describe('SculptCachedAttention', () => {
  const cases: Case[] = [
    { batch: 1, heads: 4, past: 7, d: 8 },
    { batch: 3, heads: 2, past: 0, d: 5 },
    // Past the addon's grain: the heads split over its threads.
    { batch: 8, heads: 4, past: 127, d: 40 },
  ];
  for (const c of cases) {
    it(`matches the tfjs ops on cpu for B=${c.batch}, H=${c.heads}, P=${c.past}, D=${c.d}`, async () => {
      const want = await outputs('cpu', c, false);
      const got = await outputs('wasm', c, true);
      expect(got.map((t) => t.length)).toEqual(want.map((t) => t.length));
      expect(want[1].length).toBe(c.batch * c.heads * (c.past + 1) * c.d);
      got.forEach((g, i) => {
        let worst = 0;
        for (let j = 0; j < g.length; j++) worst = Math.max(worst, Math.abs(g[j] - want[i][j]));
        expect(worst, `output ${i}`).toBeLessThan(1e-5);
      });
    });
  }

  it('is registered on wasm and leaves no tensor behind', async () => {
    await tf.setBackend('wasm');
    expect(hasFusedKernel(FUSED_KERNELS.cachedAttention)).toBe(true);
    const c = { batch: 2, heads: 2, past: 3, d: 4 };
    const { qkv, k, v } = inputs(c);
    await expectNoLeak(() =>
      tf.engine().runKernel(FUSED_KERNELS.cachedAttention, { qkv, k, v } as tf.NamedTensorMap, {
        numHeads: 2,
      }),
    );
    tf.dispose([qkv, k as tf.Tensor, v as tf.Tensor]);
  });

  it('names what it got and the fix for inputs it does not take', async () => {
    await tf.setBackend('wasm');
    const qkv = tf.zeros([1, 24]);
    const k = tf.zeros([1, 2, 3, 5]);
    const run = (inputs: tf.NamedTensorMap, numHeads: number) => () =>
      tf.engine().runKernel(FUSED_KERNELS.cachedAttention, inputs, { numHeads });
    expect(run({ qkv }, 5)).toThrow(SculptError);
    expect(run({ qkv }, 5)).toThrow(/numHeads must divide C = 8.*got qkv float32 \[1,24\]/);
    expect(run({ qkv, k, v: k }, 2)).toThrow(
      /k and v must be float32 \[1, 2, P, 4\].*use the tfjs ops/,
    );
    expect(run({ qkv, k }, 2)).toThrow(/both cached k and v/);
    tf.dispose([qkv, k]);
  });
});
