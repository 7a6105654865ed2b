import '@tensorflow/tfjs-backend-cpu';
import type { LogitsProcessor, TokenContext } from '@sculpt/core';
import { Rng, SculptError } from '@sculpt/core';
import { expectNoLeak } from '@sculpt/core/testing';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  epsilonProcessor,
  etaProcessor,
  minPProcessor,
  temperatureProcessor,
  topKProcessor,
  topPProcessor,
  typicalProcessor,
} from './filters.js';

const ctx: TokenContext = { tokens: [[]], step: 0 };
const P = [0.5, 0.3, 0.15, 0.05];

/** Runs a processor on rows of logits and returns the result as arrays. */
function run(
  p: LogitsProcessor,
  rows: number[][],
  c: TokenContext = { tokens: rows.map(() => []), step: 0 },
): number[][] {
  const z = tf.tensor2d(rows);
  const out = p(z, c);
  const values = out.arraySync();
  z.dispose();
  out.dispose();
  return values;
}

/** Indices of the finite entries of each row. */
function kept(rows: number[][]): number[][] {
  return rows.map((r) => r.flatMap((v, i) => (Number.isFinite(v) ? [i] : [])));
}

const logOf = (ps: number[]): number[] => ps.map(Math.log);

/** CPU reference of the nucleus rule over a ranking: a token is kept iff the mass strictly before it (in rank order) is < mass. */
function nucleusRef(probs: number[], rankScore: number[], mass: number): number[] {
  const order = probs.map((_, i) => i).sort((a, b) => rankScore[b] - rankScore[a]);
  const keep: number[] = [];
  let before = 0;
  for (const i of order) {
    if (before < mass) keep.push(i);
    before += probs[i];
  }
  return keep.sort((a, b) => a - b);
}

function softmax(z: number[]): number[] {
  const m = Math.max(...z);
  const e = z.map((v) => Math.exp(v - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
}

function entropy(p: number[]): number {
  return -p.reduce((a, q) => a + (q > 0 ? q * Math.log(q) : 0), 0);
}

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('temperatureProcessor', () => {
  it('divides the logits by T and keeps −∞', () => {
    const out = run(temperatureProcessor({ temperature: 2 }), [[1, 2, -Infinity, -3]]);
    expect(out[0]).toEqual([0.5, 1, -Infinity, -1.5]);
  });
  it('rejects T ≤ 0 and non-finite T', () => {
    for (const t of [0, -1, Number.NaN, Infinity]) {
      expect(() => temperatureProcessor({ temperature: t })).toThrow(SculptError);
    }
    expect(() => temperatureProcessor({ temperature: 0 })).toThrow(
      /temperatureProcessor: temperature must be a finite number > 0, got 0\. Fix:/,
    );
  });
});

describe('topKProcessor', () => {
  it('keeps the k largest per row (ties with the k-th kept)', () => {
    const out = run(topKProcessor({ topK: 2 }), [
      [1, 5, 3, 4],
      [2, 2, 1, 0],
    ]);
    expect(out[0]).toEqual([-Infinity, 5, -Infinity, 4]);
    expect(out[1]).toEqual([2, 2, -Infinity, -Infinity]);
  });
  it('keeps everything when k ≥ V and honours minTokensToKeep', () => {
    expect(kept(run(topKProcessor({ topK: 10 }), [[1, 5, 3, 4]]))).toEqual([[0, 1, 2, 3]]);
    expect(kept(run(topKProcessor({ topK: 1, minTokensToKeep: 3 }), [[1, 5, 3, 4]]))).toEqual([
      [1, 2, 3],
    ]);
  });
  it('rejects topK < 1 or non-integer and a bad minTokensToKeep', () => {
    for (const k of [0, -2, 1.5, Number.NaN])
      expect(() => topKProcessor({ topK: k })).toThrow(SculptError);
    expect(() => topKProcessor({ topK: 2, minTokensToKeep: 0 })).toThrow(
      /minTokensToKeep must be an integer ≥ 1/,
    );
  });
});

describe('topPProcessor', () => {
  it('over [0.5, 0.3, 0.15, 0.05] with p = 0.8 keeps exactly the first two (any order)', () => {
    // Shuffled: positions of 0.15, 0.5, 0.05, 0.3.
    const out = run(topPProcessor({ topP: 0.8 }), [logOf([0.15, 0.5, 0.05, 0.3]), logOf(P)]);
    expect(kept(out)).toEqual([
      [1, 3],
      [0, 1],
    ]);
    expect(out[1][0]).toBeCloseTo(Math.log(0.5), 6); // kept logits unchanged
  });
  it('moves the boundary with p', () => {
    expect(kept(run(topPProcessor({ topP: 0.5 }), [logOf(P)]))).toEqual([[0]]);
    expect(kept(run(topPProcessor({ topP: 0.81 }), [logOf(P)]))).toEqual([[0, 1, 2]]);
    expect(kept(run(topPProcessor({ topP: 0.96 }), [logOf(P)]))).toEqual([[0, 1, 2, 3]]);
    expect(kept(run(topPProcessor({ topP: 1 }), [logOf(P)]))).toEqual([[0, 1, 2, 3]]);
    expect(kept(run(topPProcessor({ topP: 0.1, minTokensToKeep: 2 }), [logOf(P)]))).toEqual([
      [0, 1],
    ]);
  });
  it('matches a CPU reference on random logits', () => {
    const rng = new Rng(3);
    for (const width of [12, 400]) {
      const rows = Array.from({ length: 4 }, () => Array.from(rng.normalArray(width, 0, 2)));
      for (const p of [0.3, 0.7, 0.9, 0.99]) {
        const expected = rows.map((z) => nucleusRef(softmax(z), z, p));
        expect(kept(run(topPProcessor({ topP: p }), rows))).toEqual(expected);
      }
    }
  });
  it('rejects topP outside (0, 1]', () => {
    for (const p of [0, -0.1, 1.1, Number.NaN])
      expect(() => topPProcessor({ topP: p })).toThrow(SculptError);
  });
});

describe('minPProcessor', () => {
  it('keeps p_i ≥ p_base · max p', () => {
    expect(kept(run(minPProcessor({ minP: 0.25 }), [logOf(P)]))).toEqual([[0, 1, 2]]); // threshold 0.125
    expect(kept(run(minPProcessor({ minP: 0.5 }), [logOf(P)]))).toEqual([[0, 1]]); // threshold 0.25
    expect(kept(run(minPProcessor({ minP: 1 }), [logOf(P)]))).toEqual([[0]]);
    expect(kept(run(minPProcessor({ minP: 1, minTokensToKeep: 3 }), [logOf(P)]))).toEqual([
      [0, 1, 2],
    ]);
  });
  it('is invariant to a shift of the logits', () => {
    const shifted = logOf(P).map((v) => v + 7);
    expect(kept(run(minPProcessor({ minP: 0.25 }), [shifted]))).toEqual([[0, 1, 2]]);
  });
  it('rejects minP outside (0, 1]', () => {
    for (const p of [0, -1, 1.5, Number.NaN])
      expect(() => minPProcessor({ minP: p })).toThrow(SculptError);
  });
});

describe('typicalProcessor', () => {
  // p = [0.4, 0.3, 0.2, 0.1]: H = 1.2799; |−ln p − H| = [0.364, 0.076, 0.330, 1.023],
  // so the typical order is 0.3, 0.2, 0.4, 0.1.
  const Q = [0.4, 0.3, 0.2, 0.1];
  it('keeps the most typical tokens until the mass reaches τ (hand-computed)', () => {
    expect(kept(run(typicalProcessor({ typicalP: 0.25 }), [logOf(Q)]))).toEqual([[1]]);
    expect(kept(run(typicalProcessor({ typicalP: 0.45 }), [logOf(Q)]))).toEqual([[1, 2]]);
    expect(kept(run(typicalProcessor({ typicalP: 0.6 }), [logOf(Q)]))).toEqual([[0, 1, 2]]);
    expect(kept(run(typicalProcessor({ typicalP: 0.95 }), [logOf(Q)]))).toEqual([[0, 1, 2, 3]]);
  });
  it('matches a CPU reference on random logits, including −∞ entries', () => {
    const rng = new Rng(5);
    for (const width of [10, 400]) {
      const rows = Array.from({ length: 4 }, () => Array.from(rng.normalArray(width, 0, 1.5)));
      rows[0][3] = -Infinity;
      rows[2][7] = -Infinity;
      for (const tau of [0.2, 0.5, 0.9, 0.99]) {
        const expected = rows.map((z) => {
          const p = softmax(z);
          const h = entropy(p);
          return nucleusRef(
            p,
            p.map((q) => (q > 0 ? -Math.abs(-Math.log(q) - h) : -Infinity)),
            tau,
          );
        });
        expect(kept(run(typicalProcessor({ typicalP: tau }), rows))).toEqual(expected);
      }
    }
  });
  it('rejects typicalP outside (0, 1]', () => {
    for (const p of [0, 2, -0.5, Number.NaN])
      expect(() => typicalProcessor({ typicalP: p })).toThrow(SculptError);
  });
});

describe('epsilonProcessor', () => {
  it('drops p_i < ε', () => {
    expect(kept(run(epsilonProcessor({ epsilon: 0.1 }), [logOf(P)]))).toEqual([[0, 1, 2]]);
    expect(kept(run(epsilonProcessor({ epsilon: 0.2 }), [logOf(P)]))).toEqual([[0, 1]]);
    expect(kept(run(epsilonProcessor({ epsilon: 0.9, minTokensToKeep: 2 }), [logOf(P)]))).toEqual([
      [0, 1],
    ]);
  });
  it('rejects ε outside (0, 1)', () => {
    for (const e of [0, 1, -0.1, Number.NaN])
      expect(() => epsilonProcessor({ epsilon: e })).toThrow(SculptError);
  });
});

describe('etaProcessor', () => {
  it('uses the entropy-adaptive threshold min(η, √η·e^{−H})', () => {
    // H(P) = 1.1422, e^{−H} = 0.3191. η = 0.2: threshold min(0.2, 0.1427) = 0.1427, so 0.15 survives
    // (plain ε = 0.2 would drop it). η = 0.1: threshold min(0.1, 0.1009) = 0.1.
    const h = entropy(P);
    expect(Math.min(0.2, Math.sqrt(0.2) * Math.exp(-h))).toBeCloseTo(0.1427, 3);
    expect(kept(run(etaProcessor({ eta: 0.2 }), [logOf(P)]))).toEqual([[0, 1, 2]]);
    expect(kept(run(etaProcessor({ eta: 0.1 }), [logOf(P)]))).toEqual([[0, 1, 2]]);
    expect(kept(run(etaProcessor({ eta: 0.5 }), [logOf(P)]))).toEqual([[0, 1]]); // min(0.5, 0.2256)
  });
  it('rejects η outside (0, 1)', () => {
    for (const e of [0, 1, 3, Number.NaN])
      expect(() => etaProcessor({ eta: e })).toThrow(SculptError);
  });
});

describe('all filters', () => {
  const processors: [string, LogitsProcessor][] = [
    ['temperature', temperatureProcessor({ temperature: 0.7 })],
    ['topK', topKProcessor({ topK: 3 })],
    ['topP', topPProcessor({ topP: 0.9 })],
    ['minP', minPProcessor({ minP: 0.1 })],
    ['typical', typicalProcessor({ typicalP: 0.9 })],
    ['epsilon', epsilonProcessor({ epsilon: 0.05 })],
    ['eta', etaProcessor({ eta: 0.05 })],
  ];
  it.each(processors)('%s leaks nothing and never disposes its input', async (_, p) => {
    const z = tf.tensor2d([logOf(P), [0, 1, 2, 3]]);
    await expectNoLeak(() => p(z, { tokens: [[], []], step: 0 }));
    expect(z.isDisposed).toBe(false);
    z.dispose();
  });
  it.each(processors)('%s rejects logits that are not rank 2', (_, p) => {
    const z = tf.tensor1d([1, 2, 3]);
    expect(() => p(z as unknown as tf.Tensor2D, ctx)).toThrow(/logits must be rank 2/);
    z.dispose();
  });
});
