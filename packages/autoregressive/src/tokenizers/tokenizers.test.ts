import { SculptError } from '@sculpt/core';
import { describe, expect, it } from 'vitest';
import fixture from './fixtures/split-fixture.json';
import {
  BpeTokenizer,
  byteTokenizer,
  charTokenizer,
  GPT2_SPLIT_PATTERN,
  GPT4_SPLIT_PATTERN,
  splitText,
  type Tokenizer,
  tokenizerFromJson,
  trainBpe,
} from './index.js';

const PARAGRAPH =
  'It is a truth universally acknowledged, that a single man in possession of a good fortune, ' +
  'must be in want of a wife. However little known the feelings or views of such a man may be on his ' +
  'first entering a neighbourhood, this truth is so well fixed in the minds of the surrounding families, ' +
  "that he is considered the rightful property of some one or other of their daughters. Don't you think? 😀👍🏽 🎉\n";

/** A seeded generator (mulberry32) of strings over several Unicode ranges. */
function fuzzStrings(count: number, seed: number): string[] {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const ranges: [number, number][] = [
    [0x20, 0x7e],
    [0x09, 0x0d],
    [0xa0, 0xff],
    [0x4e00, 0x9fff],
    [0x1f300, 0x1f6ff],
    [0x10000, 0x10ffff],
  ];
  const out: string[] = [];
  for (let s = 0; s < count; s++) {
    let text = '';
    const length = Math.floor(next() * 30);
    for (let i = 0; i < length; i++) {
      if (next() < 0.05) text += '👨‍👩‍👧‍👦';
      else {
        const [lo, hi] = ranges[Math.floor(next() * ranges.length)]!;
        let c = lo + Math.floor(next() * (hi - lo + 1));
        if (c >= 0xd800 && c < 0xe000) c = 0x41;
        text += String.fromCodePoint(c);
      }
    }
    out.push(text);
  }
  return out;
}

const bpe = trainBpe({ text: PARAGRAPH, vocabSize: 300, specialTokens: ['<|endoftext|>'] });
const bytes = byteTokenizer({ specialTokens: ['<|endoftext|>'] });

describe('split patterns', () => {
  it.each([
    ['gpt2', GPT2_SPLIT_PATTERN],
    ['gpt4', GPT4_SPLIT_PATTERN],
  ] as const)('%s splits exactly as Python regex', (name, pattern) => {
    const regex = new RegExp(pattern, 'gu');
    for (const c of fixture.cases)
      expect(splitText(c.text, regex), JSON.stringify(c.text)).toEqual(c[name]);
  });
});

describe.each([
  ['byte', bytes],
  ['bpe', bpe],
] as [string, Tokenizer][])('%s tokenizer', (_, tokenizer) => {
  it('round-trips fuzzed strings', () => {
    for (const s of fuzzStrings(400, 7)) expect(tokenizer.decode(tokenizer.encode(s))).toBe(s);
  });

  it('tokenBytes concatenate to the UTF-8 bytes', () => {
    for (const s of [PARAGRAPH, ...fuzzStrings(50, 3)]) {
      const parts = Array.from(tokenizer.encode(s), (id) => Array.from(tokenizer.tokenBytes(id)));
      expect(parts.flat()).toEqual(Array.from(new TextEncoder().encode(s)));
    }
  });

  it('handles lone surrogates per options.invalid', () => {
    expect(() => tokenizer.encode('ab\uD800c')).toThrow(
      /lone surrogate U\+D800 at index 2.*toWellFormed/,
    );
    expect(() => tokenizer.encode('ab\uD800c')).toThrow(SculptError);
    expect(tokenizer.decode(tokenizer.encode('ab\uDC00c', { invalid: 'replace' }))).toBe(
      'ab\uFFFDc',
    );
  });

  it('recognises special tokens only when allowed', () => {
    const text = 'hi<|endoftext|>there';
    const special = tokenizer.specialTokens['<|endoftext|>']!;
    expect(Array.from(tokenizer.encode(text, { allowedSpecial: 'all' }))).toContain(special);
    expect(Array.from(tokenizer.encode(text, { allowedSpecial: ['<|endoftext|>'] }))).toContain(
      special,
    );
    expect(Array.from(tokenizer.encode(text))).not.toContain(special);
    expect(tokenizer.decode(tokenizer.encode(text, { allowedSpecial: 'all' }))).toBe(text);
    expect(() => tokenizer.encode(text, { allowedSpecial: ['<|nope|>'] })).toThrow(
      /allowedSpecial/,
    );
  });

  it('round-trips through JSON with identical encodings', () => {
    const copy = tokenizerFromJson(JSON.parse(JSON.stringify(tokenizer.toJSON())));
    expect(copy.vocabSize).toBe(tokenizer.vocabSize);
    for (const s of [PARAGRAPH, ...fuzzStrings(50, 5)])
      expect(copy.encode(s)).toEqual(tokenizer.encode(s));
  });

  it('rejects ids outside the vocabulary', () => {
    expect(() => tokenizer.decode([tokenizer.vocabSize])).toThrow(SculptError);
  });
});

describe('trainBpe', () => {
  it("matches minbpe on 'aaabdaaabac'", () => {
    const t = trainBpe({ text: 'aaabdaaabac', vocabSize: 259 });
    expect(t.merges).toEqual([
      [97, 97],
      [256, 97],
      [257, 98],
    ]);
    expect(Array.from(t.encode('aaabdaaabac'))).toEqual([258, 100, 258, 97, 99]);
  });

  it('is deterministic', () => {
    const again = trainBpe({ text: PARAGRAPH, vocabSize: 300, specialTokens: ['<|endoftext|>'] });
    expect(again.merges).toEqual(bpe.merges);
    expect(bpe.vocabSize).toBe(300);
  });

  it('compresses: fewer tokens than bytes', () => {
    expect(bpe.encode(PARAGRAPH).length).toBeLessThan(bytes.encode(PARAGRAPH).length * 0.7);
  });

  it('rejects a vocabSize below 256 + specials', () => {
    expect(() => trainBpe({ text: 'x', vocabSize: 256, specialTokens: ['<s>'] })).toThrow(
      /vocabSize/,
    );
  });

  it('validates JSON merges', () => {
    expect(() =>
      BpeTokenizer.fromJSON({
        kind: 'bpe',
        merges: [[300, 1]],
        pattern: GPT4_SPLIT_PATTERN,
        specialTokens: {},
      }),
    ).toThrow(/merge 0/);
    expect(() => tokenizerFromJson({ kind: 'nope' } as never)).toThrow(/json.kind/);
  });
});

describe('charTokenizer', () => {
  const chars = charTokenizer({ text: 'hello world' }, { specialTokens: ['<|endoftext|>'] });

  it('uses the sorted code points and round-trips', () => {
    expect(chars.vocabSize).toBe(9);
    expect(Array.from(chars.encode('hello'))).toEqual([3, 2, 4, 4, 5]);
    expect(chars.decode(chars.encode('hello world<|endoftext|>', { allowedSpecial: 'all' }))).toBe(
      'hello world<|endoftext|>',
    );
    const json = chars.toJSON();
    expect(tokenizerFromJson(json).encode('world')).toEqual(chars.encode('world'));
  });

  it('names an unknown character, its index and the fix', () => {
    expect(() => chars.encode('hello wörld')).toThrow(
      /"ö" \(U\+00F6\) at index 7.*byteTokenizer or trainBpe/,
    );
  });

  it('handles lone surrogates', () => {
    expect(() => chars.encode('h\uD83D')).toThrow(/lone surrogate U\+D83D at index 1/);
  });
});
