import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { Rng } from '@sculpt/core';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  loadMobyDick,
  loadSotu,
  MOBY_DICK_HELD_OUT_CHAPTERS,
  textWindows,
  textWindowsArray,
} from './corpora.js';
import { byteVocab, charVocab } from './vocab.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('corpora', () => {
  it('Moby-Dick holds out chapters 10, 20, …, 130 and nothing else', async () => {
    const corpus = await loadMobyDick();
    expect(corpus.heldOutDocuments).toEqual(MOBY_DICK_HELD_OUT_CHAPTERS.map(String));
    expect(corpus.trainDocuments.length).toBe(136 - 13);
    expect(corpus.train.startsWith('CHAPTER 1. Loomings.')).toBe(true);
    expect(corpus.heldOut.startsWith('CHAPTER 10. A Bosom Friend.')).toBe(true);
    expect(corpus.train).not.toContain('CHAPTER 10. A Bosom Friend.');
    expect(corpus.train.length).toBeGreaterThan(1_000_000);
    expect(corpus.heldOut.length).toBeGreaterThan(50_000);
  });

  it('State of the Union holds out every tenth address by date', async () => {
    const sotu = await loadSotu();
    expect(sotu.trainDocuments.length + sotu.heldOutDocuments.length).toBe(233);
    expect(sotu.heldOutDocuments.length).toBe(23);
    expect(sotu.trainDocuments[0]).toMatch(/^1790_george_washington/);
    expect(sotu.heldOut).not.toBe('');
    expect(new Set([...sotu.trainDocuments, ...sotu.heldOutDocuments]).size).toBe(233);
  });
});

describe('vocabularies', () => {
  it('char vocab: sorted unique characters, round trip, clear error on unknown', () => {
    const vocab = charVocab({ text: 'hello world' });
    expect(vocab.tokens).toEqual([' ', 'd', 'e', 'h', 'l', 'o', 'r', 'w']);
    expect(Array.from(vocab.encode('hold'))).toEqual([3, 5, 4, 1]);
    expect(vocab.decode(vocab.encode('low world'))).toBe('low world');
    expect(() => vocab.encode('z')).toThrow(
      /Vocab.encode: every character must be in the vocabulary, got "z"/,
    );
    const rebuilt = charVocab({ tokens: vocab.tokens });
    expect(rebuilt.encode('word')).toEqual(vocab.encode('word'));
  });

  it('byte vocab covers any text', () => {
    const vocab = byteVocab();
    const ids = vocab.encode('naïve — ok');
    expect(ids.length).toBe(new TextEncoder().encode('naïve — ok').length);
    expect(vocab.decode(ids)).toBe('naïve — ok');
    expect(vocab.size).toBe(256);
  });
});

describe('textWindows', () => {
  it('returns [B, T+1] rows that are contiguous slices of the stream', async () => {
    const tokens = Int32Array.from({ length: 500 }, (_, i) => i);
    const batch = textWindows(tokens, { batchSize: 6, blockSize: 16, rng: new Rng(0) });
    expect(batch.shape).toEqual([6, 17]);
    expect(batch.dtype).toBe('int32');
    const rows = (await batch.array()) as number[][];
    for (const row of rows) expect(row).toEqual(row.map((_, j) => row[0] + j));
    batch.dispose();
  });

  it('is seeded, covers the whole stream, and rejects short streams', () => {
    const tokens = Int32Array.from({ length: 20 }, (_, i) => i);
    const a = textWindowsArray(tokens, { batchSize: 400, blockSize: 4, rng: new Rng(5) });
    const b = textWindowsArray(tokens, { batchSize: 400, blockSize: 4, rng: new Rng(5) });
    expect(a).toEqual(b);
    const starts = new Set<number>();
    for (let i = 0; i < 400; i++) starts.add(a[i * 5]);
    // Starts are uniform on 0 … 15: all 16 appear in 400 draws.
    expect(starts.size).toBe(16);
    expect(Math.max(...starts)).toBe(15);
    expect(() =>
      textWindowsArray(tokens, { batchSize: 1, blockSize: 20, rng: new Rng(0) }),
    ).toThrow(/at least blockSize \+ 1 = 21 tokens, got 20/);
  });
});
