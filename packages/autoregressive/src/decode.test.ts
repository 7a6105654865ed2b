// The cached decoding step through @sculpt/native's fused kernels (wasm)
// (one SculptGptBlockDecode per layer) against the full forward pass of the tfjs ops (tfjs's cpu backend): the same
// logits, the same cache, the same generated tokens; fewer kernel calls; no leaks.
import { initBackend } from '@sculpt/backend';
import { FUSED_KERNELS } from '@sculpt/core';
import { expectNoLeak } from '@sculpt/core/testing';
import { registerNativeKernels, unregisterNativeKernels } from '@sculpt/native';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canDecode } from './decode.js';
import { charTokenizer, type GptConfigInput, GptModel, KvCache } from './index.js';

const tokenizer = charTokenizer({ text: 'abcdefghijklmnopqrstuvwxyz .,' });
const row = Array.from(tokenizer.encode('the quick brown fox jumps over'));
const ids2d = (rows: number[][]) =>
  tf.tensor2d(Int32Array.from(rows.flat()), [rows.length, rows[0].length], 'int32');

beforeAll(async () => {
  await initBackend('wasm');
  registerNativeKernels();
});
afterAll(async () => {
  unregisterNativeKernels();
  await tf.setBackend('wasm');
});

/** Logits of `row`: the whole row at once, and a 10-token prompt then one token at a time through the cache. */
async function logits(backend: string, config: Partial<GptConfigInput>) {
  await tf.setBackend(backend);
  const model = GptModel.create({ tokenizer, preset: 'tiny', seed: 4, config });
  const rows = [row, [...row].reverse()];
  const full = tf.tidy(() => model.forward(ids2d(rows)).dataSync() as Float32Array);
  const cache = new KvCache();
  const parts = [model.forward(ids2d(rows.map((r) => r.slice(0, 10))), { cache })];
  for (let t = 10; t < row.length; t++)
    parts.push(model.forward(ids2d(rows.map((r) => [r[t]])), { cache }));
  const stitched = tf.tidy(() => tf.concat(parts, 1).dataSync() as Float32Array);
  const keys = cache.layers[1].k.dataSync() as Float32Array;
  tf.dispose(parts);
  cache.dispose();
  model.dispose();
  return { full, stitched, keys };
}

function worst(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let w = 0;
  for (let i = 0; i < a.length; i++) w = Math.max(w, Math.abs(a[i] - b[i]));
  return w;
}

describe('the fused cached decoding step', () => {
  it('runs on wasm with the native kernels, for one new token and learned positions only', async () => {
    await tf.setBackend('wasm');
    const model = GptModel.create({ tokenizer, preset: 'tiny', seed: 0 });
    const one = tf.zeros([2, 1], 'int32') as tf.Tensor2D;
    const two = tf.zeros([2, 2], 'int32') as tf.Tensor2D;
    expect(canDecode(model.config, one)).toBe(true);
    expect(canDecode(model.config, two)).toBe(false);
    expect(canDecode({ ...model.config, positions: 'rotary' }, one)).toBe(false);
    await tf.setBackend('cpu');
    expect(canDecode(model.config, one)).toBe(false);
    tf.dispose([one, two]);
    model.dispose();
  });

  for (const config of [{}, { bias: false, tieWeights: false }]) {
    it(`gives cpu's uncached logits and cache, batch 2 (${JSON.stringify(config)})`, async () => {
      const want = await logits('cpu', config);
      const got = await logits('wasm', config);
      expect(worst(want.full, want.stitched)).toBeLessThan(1e-4); // the reference agrees with itself
      expect(worst(got.stitched, want.full)).toBeLessThan(1e-4);
      expect(worst(got.keys, want.keys)).toBeLessThan(1e-5);
    });
  }

  it('runs one block kernel per layer and under a quarter of the kernels of the tfjs path', async () => {
    const count = async (fused: boolean) => {
      await tf.setBackend(fused ? 'wasm' : 'cpu');
      const model = GptModel.create({ tokenizer, preset: 'tiny', seed: 0 });
      const cache = new KvCache();
      model.forward(ids2d([row.slice(0, 5)]), { cache }).dispose();
      const info = await tf.profile(() => model.forward(ids2d([[row[5]]]), { cache }));
      tf.dispose(info.result as tf.Tensor);
      cache.dispose();
      model.dispose();
      const blocks = info.kernels.filter((k) => k.name === FUSED_KERNELS.gptBlockDecode);
      return { calls: info.kernels.length, blocks: blocks.length };
    };
    const fused = await count(true);
    const plain = await count(false);
    expect(fused.blocks).toBe(2); // tiny: 2 layers
    expect(plain.blocks).toBe(0);
    expect(fused.calls).toBeLessThan(plain.calls / 4);
  });

  it('generates the tokens cpu generates, past a full context, without leaking', async () => {
    const opts = { prompt: 'the dog', maxNewTokens: 50, seed: 9, temperature: 0.9 };
    const tokens: number[][] = [];
    for (const backend of ['cpu', 'wasm']) {
      await tf.setBackend(backend);
      const model = GptModel.create({ tokenizer, preset: 'tiny', seed: 6 });
      await expectNoLeak(async () => {
        tokens.push((await model.generate(opts)).tokens);
      });
      model.dispose();
    }
    expect(tokens[1]).toEqual(tokens[0]);
  });
});
