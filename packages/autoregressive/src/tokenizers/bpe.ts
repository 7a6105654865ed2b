// Byte-level BPE in the style of Karpathy's minbpe (RegexTokenizer): pre-split
// the text with a regex, work on the UTF-8 bytes of each piece, and
// repeatedly merge the most frequent adjacent pair into a new token.
//
// Training counts each distinct piece once, weighted by how often it occurs,
// so a merge costs O(total length of the distinct pieces), not of the text.

import { preview, SculptError } from '@sculpt/core';
import { forEachPiece, GPT4_SPLIT_PATTERN } from './patterns.js';
import {
  checkId,
  decodeBytes,
  IdList,
  specialSplitter,
  specialTokenIds,
  specialTokensFromRecord,
  utf8,
  wellFormed,
} from './shared.js';
import type { EncodeOptions, Tokenizer, TokenizerJson } from './tokenizer.js';

/** Pair (left, right) → one number; ids stay below 2^21, so keys stay exact. */
const STRIDE = 0x200000;
const pairKey = (left: number, right: number): number => left * STRIDE + right;

/** Distinct pieces kept in the encode cache, and the longest piece cached. */
const CACHE_ENTRIES = 8192;
const CACHE_MAX_LENGTH = 128;

/** Options of {@link BpeTokenizer}'s constructor (what `toJSON` stores). */
export interface BpeTokenizerOptions {
  /** Merges in the order learned: `[left, right]`; merge i makes token 256 + i. */
  merges: readonly (readonly [number, number])[];
  /** Pre-split pattern, JavaScript syntax, compiled with flags `gu` (default {@link GPT4_SPLIT_PATTERN}). */
  pattern?: string;
  /** Special tokens, given ids after the merges in this order (default none). */
  specialTokens?: readonly string[];
}

/**
 * A byte-level BPE tokenizer: ids 0…255 are bytes, 256 + i is merge i, then
 * the special tokens. `encode` splits the text with the pattern and, within
 * each piece, applies merges lowest rank (earliest learned) first, exactly as
 * they were learned. Build one with {@link trainBpe} or {@link BpeTokenizer.fromJSON}.
 *
 * @example
 * const tokenizer = new BpeTokenizer({ merges: [[104, 105]] }); // 'hi' → 256
 * tokenizer.encode('hi hi'); // Int32Array [256, 32, 104, 105]
 */
export class BpeTokenizer implements Tokenizer {
  readonly kind = 'bpe' as const;
  readonly vocabSize: number;
  readonly specialTokens: Readonly<Record<string, number>>;
  /** The merges, in the order learned (merge i made token 256 + i). */
  readonly merges: readonly (readonly [number, number])[];
  /** The pre-split pattern (JavaScript syntax, flags `gu`). */
  readonly pattern: string;
  private readonly regex: RegExp;
  private readonly ranks = new Map<number, number>(); // pairKey → merged id
  private readonly bytes: Uint8Array[] = [];
  private readonly specials: readonly string[];
  private readonly cache = new Map<string, Int32Array>();

  /** @param options - merges, pattern and special tokens; validated (throws SculptError). */
  constructor(options: BpeTokenizerOptions) {
    const where = 'BpeTokenizer';
    this.pattern = options.pattern ?? GPT4_SPLIT_PATTERN;
    this.regex = compilePattern(where, this.pattern);
    this.merges = Object.freeze(checkMerges(where, options.merges));
    for (let b = 0; b < 256; b++) this.bytes.push(Uint8Array.of(b));
    this.merges.forEach(([left, right], i) => {
      this.ranks.set(pairKey(left, right), 256 + i);
      this.bytes.push(concat(this.bytes[left]!, this.bytes[right]!));
    });
    this.specials = Object.freeze([...(options.specialTokens ?? [])]);
    this.specialTokens = specialTokenIds(where, this.specials, this.bytes.length);
    for (const token of this.specials) this.bytes.push(utf8(token));
    this.vocabSize = this.bytes.length;
  }

  /**
   * Rebuilds a tokenizer from {@link BpeTokenizer.toJSON}'s output, validating it.
   *
   * @example
   * const copy = BpeTokenizer.fromJSON(tokenizer.toJSON());
   */
  static fromJSON(json: TokenizerJson): BpeTokenizer {
    const where = 'BpeTokenizer.fromJSON';
    if (typeof json !== 'object' || json === null || json.kind !== 'bpe') {
      throw new SculptError(
        where,
        "json.kind must be 'bpe'",
        `got ${preview((json as { kind?: unknown })?.kind)}`,
        'use tokenizerFromJson for any kind',
      );
    }
    if (typeof json.pattern !== 'string') {
      throw new SculptError(where, 'json.pattern must be a string', `got ${preview(json.pattern)}`);
    }
    const base = 256 + (Array.isArray(json.merges) ? json.merges.length : 0);
    const specialTokens = specialTokensFromRecord(where, json.specialTokens, base);
    return new BpeTokenizer({ merges: json.merges, pattern: json.pattern, specialTokens });
  }

  encode(text: string, options: EncodeOptions = {}): Int32Array {
    const where = 'BpeTokenizer.encode';
    const clean = wellFormed(where, text, options.invalid);
    const out = new IdList();
    const splitter = specialSplitter(where, this.specialTokens, options.allowedSpecial);
    if (!splitter) this.encodeOrdinary(clean, out);
    else
      splitter.split(
        clean,
        (part) => this.encodeOrdinary(part, out),
        (id) => out.push(id),
      );
    return out.toArray();
  }

  private encodeOrdinary(text: string, out: IdList): void {
    forEachPiece(text, this.regex, (piece) => out.pushAll(this.encodePiece(piece)));
  }

  /** The ids of one piece, from the bounded cache when seen recently. */
  private encodePiece(piece: string): Int32Array {
    const cached = this.cache.get(piece);
    if (cached) return cached;
    const ids = mergePiece(utf8(piece), this.ranks);
    if (piece.length <= CACHE_MAX_LENGTH) {
      // Evict the oldest entry (Maps iterate in insertion order).
      if (this.cache.size >= CACHE_ENTRIES) this.cache.delete(this.cache.keys().next().value!);
      this.cache.set(piece, ids);
    }
    return ids;
  }

  decode(ids: ArrayLike<number>): string {
    return decodeBytes('BpeTokenizer.decode', ids, this.vocabSize, (id) => this.bytes[id]!);
  }

  tokenBytes(id: number): Uint8Array {
    checkId('BpeTokenizer.tokenBytes', id, this.vocabSize);
    return this.bytes[id]!;
  }

  toJSON(): TokenizerJson {
    return {
      kind: 'bpe',
      merges: this.merges.map(([left, right]) => [left, right]),
      pattern: this.pattern,
      specialTokens: { ...this.specialTokens },
    };
  }
}

/** Applies merges to one piece's bytes: repeatedly the adjacent pair of lowest rank, all its occurrences. */
function mergePiece(bytes: Uint8Array, ranks: Map<number, number>): Int32Array {
  const ids = Int32Array.from(bytes);
  let length = ids.length;
  while (length >= 2) {
    let best = -1;
    for (let i = 0; i + 1 < length; i++) {
      const merged = ranks.get(pairKey(ids[i]!, ids[i + 1]!));
      if (merged !== undefined && (best < 0 || merged < best)) best = merged;
    }
    if (best < 0) break;
    length = mergeInPlace(ids, length, best, ranks);
  }
  return ids.slice(0, length);
}

/** Replaces, left to right, every occurrence of the pair that makes `merged`; returns the new length. */
function mergeInPlace(
  ids: Int32Array,
  length: number,
  merged: number,
  ranks: Map<number, number>,
): number {
  let write = 0;
  for (let read = 0; read < length; read++) {
    if (read + 1 < length && ranks.get(pairKey(ids[read]!, ids[read + 1]!)) === merged) {
      ids[write++] = merged;
      read++;
    } else ids[write++] = ids[read]!;
  }
  return write;
}

function compilePattern(where: string, pattern: string): RegExp {
  try {
    return new RegExp(pattern, 'gu');
  } catch (error) {
    throw new SculptError(
      where,
      "pattern must be a JavaScript regular expression valid with flags 'gu'",
      `got ${preview(pattern)} (${(error as Error).message})`,
      'use GPT4_SPLIT_PATTERN or GPT2_SPLIT_PATTERN, or rewrite Python-only syntax such as possessive quantifiers',
    );
  }
}

function checkMerges(where: string, merges: unknown): [number, number][] {
  if (!Array.isArray(merges)) {
    throw new SculptError(
      where,
      'merges must be an array of [left, right] id pairs',
      `got ${preview(merges)}`,
    );
  }
  if (merges.length > STRIDE - 256) {
    throw new SculptError(
      where,
      `merges must number at most ${STRIDE - 256}`,
      `got ${merges.length}`,
    );
  }
  const seen = new Set<number>();
  return merges.map((merge: unknown, i) => {
    const defined = 256 + i; // ids below this exist when merge i is made
    const ok =
      Array.isArray(merge) &&
      merge.length === 2 &&
      merge.every((id) => Number.isInteger(id) && id >= 0 && id < defined);
    if (!ok) {
      throw new SculptError(
        where,
        `merge ${i} must be a pair of ids already defined, integers in [0, ${defined})`,
        `got ${preview(merge)}`,
        'merges must be listed in the order learned',
      );
    }
    const [left, right] = merge as [number, number];
    if (seen.has(pairKey(left, right))) {
      throw new SculptError(
        where,
        'merges must be distinct',
        `got [${left}, ${right}] again at merge ${i}`,
      );
    }
    seen.add(pairKey(left, right));
    return [left, right];
  });
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}
