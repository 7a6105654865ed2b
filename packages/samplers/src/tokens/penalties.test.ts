import '@tensorflow/tfjs-backend-cpu';
import type { LogitsProcessor, TokenContext } from '@sculpt/core';
import { SculptError } from '@sculpt/core';
import { expectNoLeak } from '@sculpt/core/testing';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { composeProcessors } from './compose.js';
import { temperatureProcessor, topKProcessor } from './filters.js';
import { cfgProcessor } from './guidance.js';
import {
  bannedTokensProcessor,
  frequencyPenaltyProcessor,
  noRepeatNGramProcessor,
  presencePenaltyProcessor,
  repetitionPenaltyProcessor,
} from './penalties.js';

function run(p: LogitsProcessor, rows: number[][], tokens: number[][]): number[][] {
  const z = tf.tensor2d(rows);
  const out = p(z, { tokens, step: 0 });
  const values = out.arraySync();
  z.dispose();
  out.dispose();
  return values;
}

function expectClose(actual: number[][], expected: number[][]): void {
  expect(actual.length).toBe(expected.length);
  actual.forEach((row, i) => {
    row.forEach((v, j) => {
      if (Number.isFinite(expected[i][j])) expect(v).toBeCloseTo(expected[i][j], 5);
      else expect(v).toBe(expected[i][j]);
    });
  });
}

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('repetitionPenaltyProcessor', () => {
  it('divides positive and multiplies negative logits of seen tokens (CTRL)', () => {
    const out = run(
      repetitionPenaltyProcessor({ penalty: 2 }),
      [
        [2, -1, 0.5, 3],
        [2, -1, 0.5, 3],
      ],
      [[0, 1, 1], [3]],
    );
    expectClose(out, [
      [1, -2, 0.5, 3],
      [2, -1, 0.5, 1.5],
    ]);
  });
  it('rejects penalty ≤ 0 or non-finite', () => {
    for (const p of [0, -1.2, Number.NaN, Infinity])
      expect(() => repetitionPenaltyProcessor({ penalty: p })).toThrow(SculptError);
  });
  it('rejects a context that does not match the batch or holds out-of-range ids', () => {
    const p = repetitionPenaltyProcessor({ penalty: 1.2 });
    expect(() => run(p, [[1, 2, 3]], [])).toThrow(/one token array per batch row \(1\), got 0/);
    expect(() => run(p, [[1, 2, 3]], [[3]])).toThrow(
      /token ids must be integers in \[0, 3\), got 3/,
    );
    expect(() => run(p, [[1, 2, 3]], [[-1]])).toThrow(SculptError);
  });
});

describe('frequency and presence penalties', () => {
  const z = [[1, 2, 3, 4]];
  it('frequency subtracts α·count', () => {
    expectClose(run(frequencyPenaltyProcessor({ frequencyPenalty: 0.5 }), z, [[0, 0, 2, 0]]), [
      [-0.5, 2, 2.5, 4],
    ]);
    expectClose(run(frequencyPenaltyProcessor({ frequencyPenalty: -1 }), z, [[1]]), [[1, 3, 3, 4]]);
  });
  it('presence subtracts α once per seen token', () => {
    expectClose(run(presencePenaltyProcessor({ presencePenalty: 0.5 }), z, [[0, 0, 2, 0]]), [
      [0.5, 2, 2.5, 4],
    ]);
    expectClose(run(presencePenaltyProcessor({ presencePenalty: 0.5 }), z, [[]]), z);
  });
  it('reject non-finite penalties', () => {
    for (const a of [Number.NaN, Infinity, -Infinity]) {
      expect(() => frequencyPenaltyProcessor({ frequencyPenalty: a })).toThrow(SculptError);
      expect(() => presencePenaltyProcessor({ presencePenalty: a })).toThrow(SculptError);
    }
  });
});

describe('noRepeatNGramProcessor', () => {
  const z = [[0, 0, 0, 0, 0]];
  it('bans the token that would repeat an n-gram', () => {
    // [1, 2, 3, 1, 2] with n = 3: "1 2 3" exists, so 3 is banned after "1 2".
    expectClose(run(noRepeatNGramProcessor({ ngramSize: 3 }), z, [[1, 2, 3, 1, 2]]), [
      [0, 0, 0, -Infinity, 0],
    ]);
    // n = 2 after [1, 2, 1, 4, 1]: bigrams starting with 1 are (1,2), (1,4).
    expectClose(run(noRepeatNGramProcessor({ ngramSize: 2 }), z, [[1, 2, 1, 4, 1]]), [
      [0, 0, -Infinity, 0, -Infinity],
    ]);
    // n = 1 bans every seen token; too-short contexts ban nothing.
    expectClose(run(noRepeatNGramProcessor({ ngramSize: 1 }), z, [[4, 0]]), [
      [-Infinity, 0, 0, 0, -Infinity],
    ]);
    expectClose(run(noRepeatNGramProcessor({ ngramSize: 4 }), z, [[1, 2, 3]]), z);
  });
  it('works per row', () => {
    const out = run(
      noRepeatNGramProcessor({ ngramSize: 2 }),
      [
        [0, 0, 0, 0, 0],
        [0, 0, 0, 0, 0],
      ],
      [[3, 4, 3], [2]],
    );
    expectClose(out, [
      [0, 0, 0, 0, -Infinity],
      [0, 0, 0, 0, 0],
    ]);
  });
  it('rejects n < 1 or non-integer', () => {
    for (const n of [0, -1, 2.5, Number.NaN])
      expect(() => noRepeatNGramProcessor({ ngramSize: n })).toThrow(SculptError);
  });
});

describe('bannedTokensProcessor', () => {
  const z = [
    [1, 1, 1, 1, 1],
    [1, 1, 1, 1, 1],
  ];
  it('bans ids outright and sequences after their prefix', () => {
    const p = bannedTokensProcessor({ tokenIds: [0], sequences: [[3, 4], [2]] });
    expectClose(
      run(p, z, [
        [1, 3],
        [3, 1],
      ]),
      [
        [-Infinity, 1, -Infinity, 1, -Infinity],
        [-Infinity, 1, -Infinity, 1, 1],
      ],
    );
  });
  it('needs no context for single tokens', () => {
    const zt = tf.tensor2d([[1, 2]]);
    const out = bannedTokensProcessor({ tokenIds: [1] })(zt, undefined as unknown as TokenContext);
    expect(out.arraySync()).toEqual([[1, -Infinity]]);
    tf.dispose([zt, out]);
  });
  it('rejects empty sequences, negative ids and ids ≥ V', () => {
    expect(() => bannedTokensProcessor({ sequences: [[]] })).toThrow(/must not be empty/);
    expect(() => bannedTokensProcessor({ tokenIds: [-1] })).toThrow(SculptError);
    expect(() => bannedTokensProcessor({ tokenIds: [1.5] })).toThrow(SculptError);
    expect(() => run(bannedTokensProcessor({ tokenIds: [7] }), z, [[], []])).toThrow(
      /must be < vocab size 5, got 7/,
    );
  });
});

describe('cfgProcessor', () => {
  const cond = [[1, 2, -Infinity, 0]];
  const uncond = [[0, 3, 1, -Infinity]];
  it('computes z_u + w(z_c − z_u) from a tensor, keeping −∞ where either is −∞', () => {
    const zu = tf.tensor2d(uncond);
    const out = run(cfgProcessor({ guidanceScale: 1.5, unconditional: zu }), cond, [[]]);
    expectClose(out, [[1.5, 1.5, -Infinity, -Infinity]]);
    expect(zu.isDisposed).toBe(false);
    zu.dispose();
  });
  it('takes the unconditional logits from a callback and disposes them', async () => {
    let seen: TokenContext | undefined;
    const p = cfgProcessor({
      guidanceScale: 3,
      unconditional: (c) => {
        seen = c;
        return tf.tensor2d([[1, 1, 1, 1]]);
      },
    });
    expectClose(run(p, [[2, 0, 1, 1]], [[5]]), [[4, -2, 1, 1]]);
    expect(seen?.tokens).toEqual([[5]]);
    const z = tf.tensor2d([[2, 0, 1, 1]]);
    await expectNoLeak(() => p(z, { tokens: [[]], step: 0 }));
    z.dispose();
  });
  it('w = 1 returns the conditional logits, w = 0 the unconditional ones', () => {
    const zu = tf.tensor2d([[0, 3, 1, 2]]);
    expectClose(run(cfgProcessor({ guidanceScale: 1, unconditional: zu }), [[1, 2, 5, 0]], [[]]), [
      [1, 2, 5, 0],
    ]);
    expectClose(run(cfgProcessor({ guidanceScale: 0, unconditional: zu }), [[1, 2, 5, 0]], [[]]), [
      [0, 3, 1, 2],
    ]);
    zu.dispose();
  });
  it('rejects a non-finite scale, a missing source and mismatched shapes', () => {
    const zu = tf.tensor2d([[0, 1]]);
    expect(() => cfgProcessor({ guidanceScale: Number.NaN, unconditional: zu })).toThrow(
      SculptError,
    );
    expect(() =>
      cfgProcessor({ guidanceScale: 2, unconditional: 3 as unknown as tf.Tensor2D }),
    ).toThrow(/unconditional must be/);
    expect(() =>
      run(cfgProcessor({ guidanceScale: 2, unconditional: zu }), [[1, 2, 3]], [[]]),
    ).toThrow(/must have the shape of the logits \[1, 3\], got \[1, 2\]/);
    zu.dispose();
  });
});

describe('composeProcessors', () => {
  it('applies processors left to right', () => {
    const rows = [[1, 4, 2, 3]];
    const rep = repetitionPenaltyProcessor({ penalty: 4 });
    const top1 = topKProcessor({ topK: 1 });
    // Penalty first: 4 → 1, so token 3 wins; top-k first: token 1 wins, then is penalised.
    expectClose(run(composeProcessors(rep, top1), rows, [[1]]), [
      [-Infinity, -Infinity, -Infinity, 3],
    ]);
    expectClose(run(composeProcessors(top1, rep), rows, [[1]]), [
      [-Infinity, 1, -Infinity, -Infinity],
    ]);
  });
  it('returns a copy with no processors and leaks nothing in a long chain', async () => {
    const z = tf.tensor2d([[1, 2, 3]]);
    const copy = composeProcessors()(z, { tokens: [[]], step: 0 });
    expect(copy).not.toBe(z);
    expect(copy.arraySync()).toEqual([[1, 2, 3]]);
    copy.dispose();
    const chain = composeProcessors(
      temperatureProcessor({ temperature: 0.5 }),
      repetitionPenaltyProcessor({ penalty: 1.3 }),
      topKProcessor({ topK: 2 }),
    );
    await expectNoLeak(() => chain(z, { tokens: [[0]], step: 1 }));
    expect(z.isDisposed).toBe(false);
    z.dispose();
  });
  it('disposes intermediates when a processor throws, and rejects non-functions', async () => {
    const z = tf.tensor2d([[1, 2, 3]]);
    const chain = composeProcessors(
      temperatureProcessor({ temperature: 0.5 }),
      repetitionPenaltyProcessor({ penalty: 1.3 }),
    );
    await expectNoLeak(() => {
      expect(() => chain(z, { tokens: [], step: 0 })).toThrow(SculptError);
    });
    z.dispose();
    expect(() => composeProcessors(3 as unknown as LogitsProcessor)).toThrow(
      /every argument must be a LogitsProcessor/,
    );
  });
});

describe('penalty processors leak nothing', () => {
  const zu = (): tf.Tensor2D =>
    tf.tensor2d([
      [0, 1, 2, 3, 4],
      [1, 1, 1, 1, 1],
    ]);
  const processors: [string, LogitsProcessor][] = [
    ['repetition', repetitionPenaltyProcessor({ penalty: 1.5 })],
    ['frequency', frequencyPenaltyProcessor({ frequencyPenalty: 0.3 })],
    ['presence', presencePenaltyProcessor({ presencePenalty: 0.3 })],
    ['noRepeatNGram', noRepeatNGramProcessor({ ngramSize: 2 })],
    ['banned', bannedTokensProcessor({ tokenIds: [1], sequences: [[2, 3]] })],
    ['cfg (callback)', cfgProcessor({ guidanceScale: 2, unconditional: zu })],
  ];
  it.each(processors)('%s', async (_, p) => {
    const z = tf.tensor2d([
      [1, -2, 3, 0.5, 2],
      [0, 1, 0, 1, 0],
    ]);
    await expectNoLeak(() => p(z, { tokens: [[2, 2, 0, 2], []], step: 4 }));
    expect(z.isDisposed).toBe(false);
    z.dispose();
  });
});
