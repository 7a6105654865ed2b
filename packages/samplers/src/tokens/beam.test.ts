import '@tensorflow/tfjs-backend-cpu';
import { AbortError, Rng, SculptError } from '@sculpt/core';
import { expectNoLeak } from '@sculpt/core/testing';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Beam, NextLogitsFn } from './beam.js';
import { beamSearch, diverseBeamSearch } from './beam.js';
import { greedy } from './draw.js';
import { noRepeatNGramProcessor } from './penalties.js';

/** A first-order Markov chain: P[state][next]; the state is the last token of the sequence. */
function markov(P: number[][]): { next: NextLogitsFn; logp: (seq: number[]) => number } {
  const logP = P.map((row) => row.map((p) => Math.log(Math.max(p, 1e-30))));
  const next: NextLogitsFn = (seqs) => tf.tensor2d(seqs.map((s) => logP[s[s.length - 1]]));
  const logp = (seq: number[]): number => {
    let total = 0;
    for (let i = 1; i < seq.length; i++) total += logP[seq[i - 1]][seq[i]];
    return total;
  };
  return { next, logp };
}

// Tokens: 0 = A, 1 = B, 2 = C (unused by name), 3 = EOS, 4 = BOS (never generated).
const A = 0;
const B = 1;
const EOS = 3;
const BOS = 4;
const CHAIN = [
  /* A */ [0.2, 0.2, 0.2, 0.4, 0],
  /* B */ [0.05, 0.025, 0.025, 0.9, 0],
  /* C */ [0.25, 0.25, 0.25, 0.25, 0],
  /* EOS */ [0.25, 0.25, 0.25, 0.25, 0],
  /* BOS */ [0.6, 0.4, 0, 0, 0],
];

/** Greedy decoding with the same next-token function, for comparison. */
async function greedyDecode(
  next: NextLogitsFn,
  prompt: number[],
  eos: number,
  max: number,
): Promise<number[]> {
  const seq = [...prompt];
  for (let i = 0; i < max; i++) {
    const logits = await next([seq]);
    const ids = greedy(logits);
    const [t] = await ids.data();
    tf.dispose([logits, ids]);
    seq.push(t);
    if (t === eos) break;
  }
  return seq.slice(prompt.length);
}

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('beamSearch', () => {
  it('finds the best sequence that greedy misses on a hand-built Markov chain', async () => {
    const { next } = markov(CHAIN);
    // Greedy: A (0.6) then EOS (0.4): p = 0.24. Best: B (0.4) then EOS (0.9): p = 0.36.
    expect(await greedyDecode(next, [BOS], EOS, 5)).toEqual([A, EOS]);
    const beams = await beamSearch(next, {
      prompt: [BOS],
      numBeams: 2,
      eosTokenId: EOS,
      maxNewTokens: 5,
    });
    expect(beams[0].tokens).toEqual([B, EOS]);
    expect(beams[0].logProb).toBeCloseTo(Math.log(0.36), 5);
    expect(beams[0].score).toBeCloseTo(Math.log(0.36) / 2, 5);
    expect(beams[0].finished).toBe(true);
    expect(beams[1].tokens).toEqual([A, EOS]);
    expect(beams[1].score).toBeCloseTo(Math.log(0.24) / 2, 5);
  });

  it('with one beam is greedy', async () => {
    const { next } = markov(CHAIN);
    const beams = await beamSearch(next, {
      prompt: [BOS],
      numBeams: 1,
      eosTokenId: EOS,
      maxNewTokens: 5,
    });
    expect(beams.map((b) => b.tokens)).toEqual([[A, EOS]]);
  });

  it('with enough beams returns every sequence, exactly ranked (exhaustive check)', async () => {
    // Random chain over 3 tokens + EOS; lengthPenalty 0 → score = Σ log p.
    const rng = new Rng(21);
    const P = Array.from({ length: 5 }, () => {
      const w = Array.from(rng.uniformArray(4, 0.05, 1));
      const s = w.reduce((a, b) => a + b, 0);
      return [...w.map((x) => x / s), 0];
    });
    const { next, logp } = markov(P);
    const all: { tokens: number[]; score: number }[] = [];
    const grow = (seq: number[]): void => {
      for (let t = 0; t < 4; t++) {
        const s = [...seq, t];
        if (t === 3 || s.length === 3) all.push({ tokens: s, score: logp([4, ...s]) });
        else grow(s);
      }
    };
    grow([]);
    all.sort((a, b) => b.score - a.score);
    expect(all.length).toBe(40); // 1 + 3 + 9 finished, 27 at the length limit
    const beams = await beamSearch(next, {
      prompt: [4],
      numBeams: 40,
      eosTokenId: 3,
      maxNewTokens: 3,
      lengthPenalty: 0,
      earlyStopping: 'never',
    });
    expect(beams.length).toBe(40);
    beams.forEach((b, i) => {
      expect(b.tokens).toEqual(all[i].tokens);
      expect(b.score).toBeCloseTo(all[i].score, 4);
      expect(b.logProb).toBeCloseTo(all[i].score, 4);
      expect(b.finished).toBe(b.tokens[b.tokens.length - 1] === 3);
    });
    const top3 = await beamSearch(next, {
      prompt: [4],
      numBeams: 40,
      numReturnSequences: 3,
      eosTokenId: 3,
      maxNewTokens: 3,
      lengthPenalty: 0,
      earlyStopping: 'never',
    });
    expect(top3.map((b) => b.tokens)).toEqual(all.slice(0, 3).map((b) => b.tokens));
  });

  it('length penalty trades likelihood for length', async () => {
    // From BOS: EOS right away (0.5) or A (0.5) then EOS (0.9). Σ log p: −0.69 vs −0.80;
    // divided by L^α with α = 1: −0.69 vs −0.40, so the longer one wins; with α = 0 the shorter one.
    const P = [
      [0, 0, 0.9, 0.1],
      [0, 0, 0, 1],
      [1, 0, 0, 0],
      [0.5, 0, 0.5, 0],
    ];
    const { next } = markov(P); // tokens: 0 = A, 2 = EOS, 3 = BOS
    const short = await beamSearch(next, {
      prompt: [3],
      numBeams: 2,
      eosTokenId: 2,
      maxNewTokens: 4,
      lengthPenalty: 0,
      earlyStopping: true,
    });
    const long = await beamSearch(next, {
      prompt: [3],
      numBeams: 2,
      eosTokenId: 2,
      maxNewTokens: 4,
      lengthPenalty: 1,
      earlyStopping: 'never',
    });
    expect(short[0].tokens).toEqual([2]);
    expect(long[0].tokens).toEqual([0, 2]);
  });

  it('runs every beam to maxNewTokens without eos, calls nextLogits with prompt + beam, accepts async models', async () => {
    const seen: number[][][] = [];
    const { next } = markov(CHAIN);
    const asyncNext: NextLogitsFn = async (seqs) => {
      seen.push(seqs.map((s) => [...s]));
      return next(seqs);
    };
    const beams = await beamSearch(asyncNext, { prompt: [BOS], numBeams: 3, maxNewTokens: 3 });
    expect(beams.length).toBe(3);
    for (const b of beams) {
      expect(b.tokens.length).toBe(3);
      expect(b.finished).toBe(false);
    }
    expect(seen.length).toBe(3);
    expect(seen[0]).toEqual([[BOS]]); // one row at the first step
    expect(seen[1].every((s) => s[0] === BOS && s.length === 2)).toBe(true);
  });

  it('applies a processor to the log-probabilities', async () => {
    // Uniform chain over 3 tokens: no-repeat bigram forbids repeating any pair.
    const { next } = markov([
      [1 / 3, 1 / 3, 1 / 3],
      [1 / 3, 1 / 3, 1 / 3],
      [1 / 3, 1 / 3, 1 / 3],
    ]);
    const beams = await beamSearch(next, {
      prompt: [0],
      numBeams: 3,
      maxNewTokens: 6,
      processor: noRepeatNGramProcessor({ ngramSize: 2 }),
    });
    expect(beams.length).toBe(3);
    for (const b of beams) {
      expect(b.tokens.length).toBe(6);
      const seq = [0, ...b.tokens];
      const pairs = seq.slice(1).map((t, i) => `${seq[i]},${t}`);
      expect(new Set(pairs).size).toBe(pairs.length);
    }
  });

  it('leaks nothing', async () => {
    const { next } = markov(CHAIN);
    await expectNoLeak(() =>
      beamSearch(next, { prompt: [BOS], numBeams: 3, eosTokenId: EOS, maxNewTokens: 6 }),
    );
    await expectNoLeak(() =>
      diverseBeamSearch(next, {
        prompt: [BOS],
        numBeams: 4,
        numBeamGroups: 2,
        diversityPenalty: 1,
        eosTokenId: EOS,
        maxNewTokens: 6,
        processor: noRepeatNGramProcessor({ ngramSize: 2 }),
      }),
    );
    // Also when the model returns a wrongly shaped tensor.
    await expectNoLeak(async () => {
      await expect(
        beamSearch(() => tf.zeros([7, 5]) as tf.Tensor2D, { numBeams: 2 }),
      ).rejects.toThrow(/nextLogits must return a Tensor2D \[1, V\]/);
    });
  });

  it('rejects bad options and stops on an aborted signal', async () => {
    const { next } = markov(CHAIN);
    const bad = async (o: Parameters<typeof beamSearch>[1], re: RegExp): Promise<void> => {
      await expect(beamSearch(next, o)).rejects.toThrow(re);
    };
    await bad({ numBeams: 0 }, /beamSearch: numBeams must be an integer ≥ 1, got 0/);
    await bad({ numBeams: 2.5 }, /numBeams must be an integer/);
    await bad({ maxNewTokens: 0 }, /maxNewTokens must be an integer ≥ 1/);
    await bad({ lengthPenalty: Number.NaN }, /lengthPenalty must be a finite number/);
    await bad(
      { earlyStopping: 'sometimes' as 'never' },
      /earlyStopping must be true, false or 'never'/,
    );
    await bad(
      { numBeams: 2, numReturnSequences: 3 },
      /numReturnSequences must be ≤ numBeams \(2\), got 3/,
    );
    await bad({ eosTokenId: -1 }, /token ids must be an integer ≥ 0/);
    await bad({ prompt: [1.5] }, /token ids must be an integer ≥ 0/);
    await expect(beamSearch(3 as unknown as NextLogitsFn)).rejects.toThrow(
      /nextLogits must be a function/,
    );
    const controller = new AbortController();
    controller.abort();
    await expect(beamSearch(next, { prompt: [BOS], signal: controller.signal })).rejects.toThrow(
      AbortError,
    );
  });
});

describe('diverseBeamSearch', () => {
  // A random chain over 6 tokens (log-prob spread < 8 nats), no EOS, 4 steps.
  const rng = new Rng(99);
  const P = Array.from({ length: 6 }, () => {
    const w = Array.from(rng.uniformArray(6, 0.02, 1));
    const s = w.reduce((a, b) => a + b, 0);
    return w.map((x) => x / s);
  });
  const { next, logp } = markov(P);
  const byGroup = (beams: Beam[], g: number): number[][] =>
    beams.filter((b) => b.group === g).map((b) => b.tokens);

  it('with λ = 0 every group repeats plain beam search', async () => {
    const plain = await beamSearch(next, { prompt: [0], numBeams: 2, maxNewTokens: 4 });
    const beams = await diverseBeamSearch(next, {
      prompt: [0],
      numBeams: 6,
      numBeamGroups: 3,
      diversityPenalty: 0,
      maxNewTokens: 4,
    });
    for (let g = 0; g < 3; g++) expect(byGroup(beams, g)).toEqual(plain.map((b) => b.tokens));
  });

  it('with a large λ groups never pick the same token at the same step (Hamming diversity)', async () => {
    const beams = await diverseBeamSearch(next, {
      prompt: [0],
      numBeams: 6,
      numBeamGroups: 3,
      diversityPenalty: 20,
      maxNewTokens: 4,
    });
    expect(beams.length).toBe(6);
    const groups = [0, 1, 2].map((g) => byGroup(beams, g));
    for (const g of groups) expect(g.length).toBe(2);
    // Group 0 is plain beam search.
    const plain = await beamSearch(next, { prompt: [0], numBeams: 2, maxNewTokens: 4 });
    expect(groups[0]).toEqual(plain.map((b) => b.tokens));
    for (let a = 0; a < 3; a++) {
      for (let b = a + 1; b < 3; b++) {
        for (const x of groups[a]) {
          for (const y of groups[b]) {
            for (let i = 0; i < x.length; i++) expect(x[i]).not.toBe(y[i]);
          }
        }
      }
    }
    // No overlap was paid for, so score = logProb / L; logProb is the model's own log-probability.
    for (const b of beams) {
      expect(b.logProb).toBeCloseTo(logp([0, ...b.tokens]), 4);
      expect(b.score).toBeCloseTo(b.logProb / b.tokens.length, 4);
    }
  });

  it('with a small λ keeps logProb penalty-free while the score pays for overlaps', async () => {
    const beams = await diverseBeamSearch(next, {
      prompt: [0],
      numBeams: 4,
      numBeamGroups: 2,
      diversityPenalty: 0.3,
      maxNewTokens: 4,
    });
    let paid = 0;
    for (const b of beams) {
      expect(b.logProb).toBeCloseTo(logp([0, ...b.tokens]), 4);
      const penalty = b.logProb - b.score * b.tokens.length; // λ · (number of overlaps)
      expect(penalty).toBeGreaterThanOrEqual(-1e-4);
      expect(Math.abs(penalty / 0.3 - Math.round(penalty / 0.3))).toBeLessThan(1e-3);
      if (b.group === 0) expect(penalty).toBeCloseTo(0, 4);
      paid += penalty;
    }
    expect(paid).toBeGreaterThan(0);
  });

  it('rejects groups that do not divide the beams and negative penalties', async () => {
    await expect(diverseBeamSearch(next, { numBeams: 4, numBeamGroups: 3 })).rejects.toThrow(
      /numBeamGroups must divide numBeams, got numBeams 4, numBeamGroups 3/,
    );
    await expect(diverseBeamSearch(next, { numBeams: 4, numBeamGroups: 0 })).rejects.toThrow(
      /numBeamGroups must be an integer ≥ 1/,
    );
    await expect(diverseBeamSearch(next, { diversityPenalty: -1 })).rejects.toThrow(
      /diversityPenalty must be ≥ 0/,
    );
    await expect(diverseBeamSearch(next, { diversityPenalty: Infinity })).rejects.toThrow(
      SculptError,
    );
  });
});
