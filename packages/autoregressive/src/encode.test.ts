import { initBackend } from '@sculpt/backend';
import { expectNoLeak } from '@sculpt/core/testing';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { gptConfig, gptEncode, initGptParams } from './index.js';

beforeAll(async () => {
  await initBackend('wasm');
});

const config = gptConfig('tiny', {
  vocabSize: 10,
  contextLength: 6,
  embedDim: 16,
  numHeads: 2,
  numLayers: 2,
});
const ids = (rows: number[][]) =>
  tf.tensor2d(Int32Array.from(rows.flat()), [rows.length, rows[0].length], 'int32');
const maxDiff = (a: tf.Tensor, b: tf.Tensor) =>
  tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]);

describe('gptEncode (bidirectional blocks)', () => {
  it('lets the first position see later tokens, and ignores padded keys', async () => {
    const p = initGptParams(config, 1);
    const a = gptEncode(config, p, ids([[1, 2, 3, 0, 0, 0]]));
    const b = gptEncode(config, p, ids([[1, 2, 4, 0, 0, 0]]));
    expect(a.shape).toEqual([1, 6, 16]);
    const first = (t: tf.Tensor) => tf.slice(t, [0, 0, 0], [1, 1, 16]);
    expect(maxDiff(first(a), first(b))).toBeGreaterThan(1e-4); // not causal
    const keyMask = tf.tensor2d([[1, 1, 1, 0, 0, 0]]);
    const c = gptEncode(config, p, ids([[1, 2, 3, 0, 0, 0]]), { keyMask });
    const d = gptEncode(config, p, ids([[1, 2, 3, 7, 8, 9]]), { keyMask });
    const head = (t: tf.Tensor) => tf.slice(t, [0, 0, 0], [1, 3, 16]);
    expect(maxDiff(head(c), head(d))).toBeLessThan(1e-5);
    const tokens = ids([[1, 2, 3, 0, 0, 0]]);
    await expectNoLeak(() => gptEncode(config, p, tokens, { keyMask }), { label: 'gptEncode' });
    tf.dispose([a, b, c, d, keyMask, tokens, ...Object.values(p)]);
  });
});
