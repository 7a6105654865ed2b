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

/** A GPT block's inputs for SculptGptBlockDecode (biases left out when `bias` is false). */
function blockInputs(c: Case, bias: boolean): tf.NamedTensorMap {
  const { qkv, k, v } = inputs(c);
  const C = c.heads * c.d;
  const rng = new Rng(2);
  const w = (shape: number[]) => rng.normal(shape, { std: 0.3 });
  const named: Record<string, tf.Tensor | undefined> = {
    x: tf.slice(qkv, [0, 0], [c.batch, C]),
    ...{ ln1Gamma: w([C]), ln1Beta: bias ? w([C]) : undefined, attnW: w([C, 3 * C]) },
    ...{ attnB: bias ? w([3 * C]) : undefined, attnProjW: w([C, C]) },
    ...{
      attnProjB: bias ? w([C]) : undefined,
      ln2Gamma: w([C]),
      ln2Beta: bias ? w([C]) : undefined,
    },
    ...{ fcW: w([C, 4 * C]), fcB: bias ? w([4 * C]) : undefined, mlpProjW: w([4 * C, C]) },
    ...{ mlpProjB: bias ? w([C]) : undefined, k, v },
  };
  const out: tf.NamedTensorMap = {};
  for (const [name, t] of Object.entries(named)) if (t) out[name] = t;
  return out;
}

/** The tfjs ops of one pre-LayerNorm GPT-2 block (gpt.ts's path) for one new token per sequence. */
function blockReference(t: tf.NamedTensorMap, c: Case): tf.Tensor[] {
  const norm = (x: tf.Tensor, g: tf.Tensor, b?: tf.Tensor) => {
    const { mean, variance } = tf.moments(x, -1, true);
    const y = tf.mul(tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, 1e-5))), g);
    return b ? tf.add(y, b) : y;
  };
  const linear = (x: tf.Tensor, w: tf.Tensor, b?: tf.Tensor) => {
    const y = tf.matMul(x as tf.Tensor2D, w as tf.Tensor2D);
    return b ? tf.add(y, b) : y;
  };
  const qkv = linear(norm(t.x, t.ln1Gamma, t.ln1Beta), t.attnW, t.attnB) as tf.Tensor2D;
  const [y, k, v] = reference(qkv, t.k as tf.Tensor4D, t.v as tf.Tensor4D, c);
  const x1 = tf.add(t.x, linear(y, t.attnProjW, t.attnProjB));
  const h = linear(norm(x1, t.ln2Gamma, t.ln2Beta), t.fcW, t.fcB);
  const u = tf.mul(tf.add(h, tf.mul(tf.pow(h, 3), 0.044715)), Math.sqrt(2 / Math.PI));
  const gelu = tf.mul(tf.mul(h, 0.5), tf.add(tf.tanh(u), 1));
  return [tf.add(x1, linear(gelu, t.mlpProjW, t.mlpProjB)), k, v];
}

async function blockOutputs(backend: string, c: Case, bias: boolean, fused: boolean) {
  await tf.setBackend(backend);
  return tf.tidy(() => {
    const t = blockInputs(c, bias);
    const out = fused
      ? (tf.engine().runKernel(FUSED_KERNELS.gptBlockDecode, t, {
          numHeads: c.heads,
          epsilon: 1e-5,
        }) as tf.Tensor[])
      : blockReference(t, c);
    return out.map((o) => o.dataSync() as Float32Array);
  });
}

describe('SculptGptBlockDecode', () => {
  const cases: [Case, boolean][] = [
    [{ batch: 1, heads: 4, past: 9, d: 8 }, true],
    [{ batch: 3, heads: 2, past: 0, d: 6 }, false],
  ];
  for (const [c, bias] of cases) {
    it(`matches the tfjs ops on cpu for B=${c.batch}, H=${c.heads}, P=${c.past}, D=${c.d}, bias ${bias}`, async () => {
      const want = await blockOutputs('cpu', c, bias, false);
      const got = await blockOutputs('wasm', c, bias, true);
      expect(got.map((t) => t.length)).toEqual(want.map((t) => t.length));
      got.forEach((g, i) => {
        let worst = 0;
        for (let j = 0; j < g.length; j++)
          worst = Math.max(worst, Math.abs(g[j] - want[i][j]) / (1 + Math.abs(want[i][j])));
        expect(worst, `output ${i}`).toBeLessThan(1e-5);
      });
    });
  }

  it('leaves no tensor behind, and names what it got and the fix for inputs it does not take', async () => {
    await tf.setBackend('wasm');
    const c = { batch: 1, heads: 2, past: 3, d: 4 };
    const t = blockInputs(c, true);
    const run =
      (inputs: tf.NamedTensorMap, numHeads = 2) =>
      () =>
        tf.engine().runKernel(FUSED_KERNELS.gptBlockDecode, inputs, { numHeads, epsilon: 1e-5 });
    await expectNoLeak(run(t));
    expect(run({ ...t, fcW: t.attnW })).toThrow(/fcW \[8,32\].*got .*fcW \[8,24\].*one GPT block/);
    expect(run(t, 3)).toThrow(SculptError);
    const { v: _, ...noValues } = t;
    expect(run(noValues)).toThrow(/v none/);
    tf.dispose(Object.values(t));
  });
});
