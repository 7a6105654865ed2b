import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { expectNoLeak } from '@sculpt/core/testing';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  bitsPerDim,
  importanceWeightedBound,
  languageModelScores,
  negativeElbo,
  tokenNll,
} from './likelihood.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('ELBO and the importance-weighted bound', () => {
  it('negative ELBO is the mean reconstruction plus the mean KL', () => {
    expect(negativeElbo({ reconstruction: [80, 100], kl: [20, 30] })).toEqual({
      negativeElbo: 115,
      reconstruction: 90,
      kl: 25,
    });
  });

  it('IWAE: log of the mean weight, exact with the true posterior, and ≥ the ELBO', () => {
    // log w = [0, ln 3] → log((1 + 3) / 2) = ln 2.
    expect(importanceWeightedBound([0, Math.log(3)], 2).bound).toBeCloseTo(Math.LN2, 12);
    // With q = the true posterior every weight equals p(x): the bound is log p(x) for any K.
    expect(importanceWeightedBound([-5, -5, -5, -5, -2, -2, -2, -2], 4).perExample).toEqual(
      Float64Array.from([-5, -2]),
    );
    // Jensen: log mean w ≥ mean log w (the K = 1 ELBO).
    const logW = [-90, -85, -100, -87];
    expect(importanceWeightedBound(logW, 4).bound).toBeGreaterThan(
      logW.reduce((s, v) => s + v, 0) / 4,
    );
    // Stable for very negative log-weights (no underflow to −∞).
    expect(importanceWeightedBound([-1000, -1000], 2).bound).toBeCloseTo(-1000, 9);
    expect(() => importanceWeightedBound([1, 2, 3], 2)).toThrow(
      /multiple of numSamples = 2, got 3/,
    );
  });

  it('bits/dim: nats / (D ln 2), plus 8 bits for data scaled by 1/256', () => {
    expect(bitsPerDim(784 * Math.LN2, 784)).toBeCloseTo(1, 12);
    expect(bitsPerDim([784 * Math.LN2, 3 * 784 * Math.LN2], 784)).toBeCloseTo(2, 12);
    expect(bitsPerDim(784 * Math.LN2, 784, { dataScale: 256 })).toBeCloseTo(9, 12);
  });
});

describe('perplexity', () => {
  it('matches exp(entropy) when targets follow the model distribution exactly', async () => {
    // p = (1/2, 1/4, 1/8, 1/8): H = 1.75 bits; 8 targets in exact proportions.
    const p = [0.5, 0.25, 0.125, 0.125];
    const logits = tf.tensor2d(
      Array.from({ length: 8 }, () => p.map((v) => Math.log(v) + 3)),
      [8, 4],
    );
    const targets = tf.tensor1d([0, 0, 0, 0, 1, 1, 2, 3], 'int32');
    const scores = languageModelScores(await tokenNll(logits, targets));
    expect(scores.bitsPerToken).toBeCloseTo(1.75, 6);
    expect(scores.perplexity).toBeCloseTo(2 ** 1.75, 5);
    tf.dispose([logits, targets]);
  });

  it('uniform over V tokens has perplexity V; per-character scores divide by characters', async () => {
    const logits = tf.zeros([5, 7]) as tf.Tensor2D;
    const targets = tf.tensor1d([0, 6, 3, 2, 1], 'int32');
    const totals = await tokenNll(logits, targets);
    expect(languageModelScores(totals).perplexity).toBeCloseTo(7, 5);
    const perChar = languageModelScores({ ...totals, numCharacters: 10 });
    expect(perChar.natsPerCharacter).toBeCloseTo((5 * Math.log(7)) / 10, 6);
    await expectNoLeak(() => tokenNll(logits, targets));
    tf.dispose([logits, targets]);
  });
});
