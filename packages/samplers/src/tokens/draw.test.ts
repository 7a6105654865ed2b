import '@tensorflow/tfjs-backend-cpu';
import type { LogitsProcessor } from '@sculpt/core';
import { Rng, SculptError } from '@sculpt/core';
import { expectNoLeak } from '@sculpt/core/testing';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { composeProcessors } from './compose.js';
import { createTokenSampler, greedy, sampleTokens } from './draw.js';
import { temperatureProcessor, topKProcessor, topPProcessor } from './filters.js';
import { bannedTokensProcessor, repetitionPenaltyProcessor } from './penalties.js';

const N = 20000;

/** N copies of one row of logits. */
function tiled(row: number[]): tf.Tensor2D {
  return tf.tidy(() => tf.tile(tf.tensor2d([row]), [N, 1]) as tf.Tensor2D);
}

/** Empirical frequencies of the ids in `draws` over V classes; disposes `draws`. */
function frequencies(draws: tf.Tensor1D, v: number): number[] {
  const ids = draws.dataSync();
  draws.dispose();
  const f = new Array<number>(v).fill(0);
  for (const id of ids) f[id] += 1 / ids.length;
  return f;
}

function softmax(z: number[]): number[] {
  const m = Math.max(...z);
  const e = z.map((v) => (Number.isFinite(v) ? Math.exp(v - m) : 0));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
}

/** Every frequency within 5 binomial standard errors of its probability. */
function expectMatches(freq: number[], probs: number[]): void {
  probs.forEach((p, i) => {
    const sigma = Math.sqrt((p * (1 - p)) / N);
    expect(Math.abs(freq[i] - p), `token ${i}: freq ${freq[i]} vs p ${p}`).toBeLessThanOrEqual(
      5 * sigma + 1e-12,
    );
  });
}

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('greedy', () => {
  it('takes the argmax of each row as int32', () => {
    const z = tf.tensor2d([
      [1, 3, 2],
      [5, 0, 1],
      [-Infinity, -1, -Infinity],
    ]);
    const ids = greedy(z);
    expect(ids.dtype).toBe('int32');
    expect(ids.shape).toEqual([3]);
    expect(Array.from(ids.dataSync())).toEqual([1, 0, 1]);
    ids.dispose();
    z.dispose();
  });
  it('leaks nothing and rejects rank ≠ 2', async () => {
    const z = tf.tensor2d([[1, 3, 2]]);
    await expectNoLeak(() => greedy(z));
    z.dispose();
    const bad = tf.tensor1d([1, 2]);
    expect(() => greedy(bad as unknown as tf.Tensor2D)).toThrow(/greedy: logits must be rank 2/);
    bad.dispose();
  });
});

describe('sampleTokens', () => {
  const z = [Math.log(0.1), Math.log(0.2), Math.log(0.3), Math.log(0.4)];
  it('draws with frequencies that match softmax(logits)', () => {
    const logits = tiled(z.map((v) => v + 3)); // unnormalised on purpose
    const freq = frequencies(sampleTokens(logits, new Rng(7)), 4);
    logits.dispose();
    expectMatches(freq, [0.1, 0.2, 0.3, 0.4]);
  });
  it('never draws a filtered token and matches the renormalised distribution', () => {
    const logits = tiled(z);
    const filtered = topPProcessor({ topP: 0.6 })(logits, { tokens: [], step: 0 }); // keeps 0.4 and 0.3
    const freq = frequencies(sampleTokens(filtered, new Rng(11)), 4);
    tf.dispose([logits, filtered]);
    expect(freq[0]).toBe(0);
    expect(freq[1]).toBe(0);
    expectMatches(freq, [0, 0, 3 / 7, 4 / 7]);
  });
  it('is reproducible for a seed and differs across seeds', () => {
    const logits = tf.tensor2d(Array.from({ length: 64 }, () => [0, 0, 0, 0, 0, 0, 0, 0]));
    const draw = (seed: number): number[] =>
      Array.from(frequenciesRaw(sampleTokens(logits, new Rng(seed))));
    expect(draw(1)).toEqual(draw(1));
    expect(draw(1)).not.toEqual(draw(2));
    expect(draw(0)).toEqual(draw(0)); // seed 0 is a seed, not "unseeded"
    logits.dispose();
  });
  it('leaks nothing and rejects a missing rng or rank ≠ 2', async () => {
    const logits = tf.tensor2d([z, z]);
    await expectNoLeak(() => sampleTokens(logits, new Rng(1)));
    expect(() => sampleTokens(logits, undefined as unknown as Rng)).toThrow(
      /sampleTokens: rng must be an Rng/,
    );
    logits.dispose();
    const bad = tf.tensor3d([[[1]]]);
    expect(() => sampleTokens(bad as unknown as tf.Tensor2D, new Rng(1))).toThrow(SculptError);
    bad.dispose();
  });
});

function frequenciesRaw(draws: tf.Tensor1D): Int32Array {
  const ids = draws.dataSync() as Int32Array;
  draws.dispose();
  return ids;
}

describe('createTokenSampler', () => {
  const z = [2, 1, 0.5, 0, -1];
  it('samples from softmax(z/T) restricted to the top k', () => {
    const sampler = createTokenSampler({ rng: new Rng(3), temperature: 2, topK: 3 });
    const logits = tiled(z);
    const tokens = Array.from({ length: N }, () => [] as number[]);
    const freq = frequencies(sampler.sample(logits, { tokens, step: 0 }), 5);
    logits.dispose();
    const p = softmax([1, 0.5, 0.25, -Infinity, -Infinity]);
    expectMatches(freq, p);
  });
  it('builds the chain in transformers order (penalties before temperature before filters)', () => {
    const options = {
      rng: new Rng(1),
      repetitionPenalty: 1.5,
      bannedTokenIds: [4],
      temperature: 0.7,
      topK: 3,
      topP: 0.8,
    };
    const expected = composeProcessors(
      repetitionPenaltyProcessor({ penalty: 1.5 }),
      bannedTokensProcessor({ tokenIds: [4] }),
      temperatureProcessor({ temperature: 0.7 }),
      topKProcessor({ topK: 3 }),
      topPProcessor({ topP: 0.8 }),
    );
    const logits = tf.tensor2d([z, [0, 3, 1, 2, 5]]);
    const ctx = { tokens: [[0], [1, 3]], step: 2 };
    const a = createTokenSampler(options).process(logits, ctx);
    const b = expected(logits, ctx);
    expect(a.arraySync()).toEqual(b.arraySync());
    tf.dispose([a, b, logits]);
  });
  it("'greedy' applies the penalties but takes the argmax", () => {
    const sampler = createTokenSampler({
      strategy: 'greedy',
      bannedTokenIds: [0],
      temperature: 0.5,
      topK: 1,
    });
    const logits = tf.tensor2d([z]);
    const ids = sampler.sample(logits, { tokens: [[]], step: 0 });
    expect(Array.from(ids.dataSync())).toEqual([1]);
    tf.dispose([ids, logits]);
  });
  it('leaks nothing per draw', async () => {
    const extra: LogitsProcessor = (x) => tf.clone(x);
    const sampler = createTokenSampler({
      rng: new Rng(9),
      temperature: 0.8,
      topK: 4,
      topP: 0.9,
      minP: 0.05,
      typicalP: 0.95,
      epsilon: 1e-4,
      eta: 1e-3,
      repetitionPenalty: 1.1,
      frequencyPenalty: 0.1,
      presencePenalty: 0.1,
      noRepeatNGramSize: 2,
      processors: [extra],
    });
    const logits = tf.tensor2d([z, z]);
    await expectNoLeak(() => sampler.sample(logits, { tokens: [[1, 2, 1], [0]], step: 3 }));
    await expectNoLeak(() => sampler.process(logits, { tokens: [[1, 2, 1], [0]], step: 3 }));
    expect(logits.isDisposed).toBe(false);
    logits.dispose();
  });
  it('rejects bad options when it is built', () => {
    expect(() => createTokenSampler({ temperature: 1 })).toThrow(/strategy 'sample' needs an rng/);
    expect(() => createTokenSampler({ strategy: 'beam' as 'greedy' })).toThrow(
      /strategy must be 'sample' or 'greedy'/,
    );
    const rng = new Rng(1);
    expect(() => createTokenSampler({ rng, temperature: 0 })).toThrow(
      /temperature must be a finite number > 0/,
    );
    expect(() => createTokenSampler({ rng, topK: 0 })).toThrow(/topK must be an integer ≥ 1/);
    expect(() => createTokenSampler({ rng, topP: 1.5 })).toThrow(/topP must be in \(0, 1\]/);
    expect(() => createTokenSampler({ rng, minP: 0 })).toThrow(/minP must be in \(0, 1\]/);
    expect(() => createTokenSampler({ rng, typicalP: -1 })).toThrow(/typicalP must be in \(0, 1\]/);
    expect(() => createTokenSampler({ rng, repetitionPenalty: 0 })).toThrow(
      /penalty must be a finite number > 0/,
    );
    expect(() => createTokenSampler({ rng, noRepeatNGramSize: 0 })).toThrow(
      /ngramSize must be an integer ≥ 1/,
    );
    expect(() => createTokenSampler({ strategy: 'greedy', topK: 0 })).toThrow(SculptError); // validated even when unused
    expect(() => createTokenSampler({ rng, guidanceScale: 1.5 })).toThrow(
      /guidanceScale and unconditional must be given together/,
    );
  });
});
