// Every processor and the draw give the same result on the wasm and cpu
// backends (wasm's gather with batchDims is wrong in tfjs 4.22; this catches
// any kernel like it).
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import type { LogitsProcessor } from '@sculpt/core';
import { Rng } from '@sculpt/core';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { createTokenSampler, greedy, sampleTokens } from './draw.js';
import {
  epsilonProcessor,
  etaProcessor,
  minPProcessor,
  temperatureProcessor,
  topKProcessor,
  topPProcessor,
  typicalProcessor,
} from './filters.js';
import { cfgProcessor } from './guidance.js';
import {
  bannedTokensProcessor,
  frequencyPenaltyProcessor,
  noRepeatNGramProcessor,
  presencePenaltyProcessor,
  repetitionPenaltyProcessor,
} from './penalties.js';

const B = 3;
const V = 500;
const logits = new Rng(4).normalArray(B * V, 0, 2.5);
const uncond = new Rng(5).normalArray(B * V, 0, 2.5);
const tokens = Array.from({ length: B }, (_, b) =>
  Array.from({ length: 40 }, (_, i) => (i * 37 + b * 11) % 60),
);
const ctx = { tokens, step: 40 };

const processors: [string, () => LogitsProcessor][] = [
  ['temperature', () => temperatureProcessor({ temperature: 0.7 })],
  ['topK', () => topKProcessor({ topK: 20 })],
  ['topP', () => topPProcessor({ topP: 0.85 })],
  ['minP', () => minPProcessor({ minP: 0.05 })],
  ['typical', () => typicalProcessor({ typicalP: 0.8 })],
  ['epsilon', () => epsilonProcessor({ epsilon: 1e-3 })],
  ['eta', () => etaProcessor({ eta: 2e-3 })],
  ['repetition', () => repetitionPenaltyProcessor({ penalty: 1.3 })],
  ['frequency', () => frequencyPenaltyProcessor({ frequencyPenalty: 0.4 })],
  ['presence', () => presencePenaltyProcessor({ presencePenalty: 0.4 })],
  ['noRepeatNGram', () => noRepeatNGramProcessor({ ngramSize: 2 })],
  ['banned', () => bannedTokensProcessor({ tokenIds: [3, 4], sequences: [[37, 74]] })],
  [
    'cfg',
    () => cfgProcessor({ guidanceScale: 1.5, unconditional: () => tf.tensor2d(uncond, [B, V]) }),
  ],
];

async function onBackend<T>(name: string, fn: (z: tf.Tensor2D) => Promise<T>): Promise<T> {
  await tf.setBackend(name);
  await tf.ready();
  const z = tf.tensor2d(logits, [B, V]);
  try {
    return await fn(z);
  } finally {
    z.dispose();
  }
}

async function processed(backend: string, make: () => LogitsProcessor): Promise<Float32Array> {
  return onBackend(backend, async (z) => {
    const out = make()(z, ctx);
    const data = (await out.data()) as Float32Array;
    out.dispose();
    return data;
  });
}

describe('wasm matches cpu', () => {
  it.each(processors)('%s', async (_, make) => {
    const a = await processed('cpu', make);
    const b = await processed('wasm', make);
    let kept = 0;
    for (let i = 0; i < a.length; i++) {
      expect(Number.isFinite(b[i]), `index ${i}`).toBe(Number.isFinite(a[i]));
      if (Number.isFinite(a[i])) {
        kept++;
        expect(Math.abs(a[i] - b[i])).toBeLessThan(1e-4);
      }
    }
    expect(kept).toBeGreaterThan(B); // the filter left something to compare
  });

  it('draws the same tokens for the same seed', async () => {
    const draw = (backend: string): Promise<number[]> =>
      onBackend(backend, async (z) => {
        const sampler = createTokenSampler({ rng: new Rng(8), temperature: 0.9, topP: 0.95 });
        const out = [sampler.sample(z, ctx), sampleTokens(z, new Rng(9)), greedy(z)];
        const ids = (await Promise.all(out.map((t) => t.data()))).flatMap((d) => Array.from(d));
        tf.dispose(out);
        return ids;
      });
    expect(await draw('wasm')).toEqual(await draw('cpu'));
  });
});
