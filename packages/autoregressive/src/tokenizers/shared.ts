// Helpers shared by the char, byte and BPE tokenizers: special tokens,
// lone-surrogate handling, id checks and UTF-8 decoding. Internal: not
// re-exported from the package.

import { preview, SculptError } from '@sculpt/core';
import type { EncodeOptions, InvalidInput } from './tokenizer.js';

const LONE_SURROGATE = /\p{Cs}/u;
const LONE_SURROGATES = /\p{Cs}/gu;

/** `text` with lone surrogates handled per `invalid`: an error naming the index, or U+FFFD. */
export function wellFormed(where: string, text: string, invalid: InvalidInput = 'error'): string {
  if (invalid !== 'error' && invalid !== 'replace') {
    throw new SculptError(
      where,
      "options.invalid must be 'error' or 'replace'",
      `got ${preview(invalid)}`,
    );
  }
  if (typeof text !== 'string')
    throw new SculptError(where, 'text must be a string', `got ${preview(text)}`, 'pass a string');
  // In `u` mode a surrogate pair is one code point, so \p{Cs} only matches lone halves.
  const index = text.search(LONE_SURROGATE);
  if (index < 0) return text;
  if (invalid === 'replace') return text.replace(LONE_SURROGATES, '\uFFFD');
  const unit = text.charCodeAt(index).toString(16).toUpperCase();
  throw new SculptError(
    where,
    'text must be well-formed UTF-16 (UTF-8 cannot represent a lone surrogate)',
    `got a lone surrogate U+${unit} at index ${index}`,
    "call text.toWellFormed() first, or pass { invalid: 'replace' } to encode it as U+FFFD",
  );
}

/** Checks a list of special-token strings and maps them to ids `base, base + 1, …`. */
export function specialTokenIds(
  where: string,
  specialTokens: readonly string[],
  base: number,
): Readonly<Record<string, number>> {
  const ids: Record<string, number> = {};
  specialTokens.forEach((token, i) => {
    if (typeof token !== 'string' || token.length === 0) {
      throw new SculptError(
        where,
        'special tokens must be non-empty strings',
        `got ${preview(token)} at index ${i}`,
      );
    }
    if (Object.hasOwn(ids, token)) {
      throw new SculptError(
        where,
        'special tokens must be distinct',
        `got ${preview(token)} twice`,
      );
    }
    wellFormed(where, token);
    ids[token] = base + i;
  });
  return Object.freeze(ids);
}

/**
 * Checks a JSON `specialTokens` record (string → id) and returns its strings in
 * id order; ids must be exactly `base, base + 1, …` (how the builders assign them).
 */
export function specialTokensFromRecord(where: string, record: unknown, base: number): string[] {
  if (typeof record !== 'object' || record === null || Array.isArray(record)) {
    throw new SculptError(
      where,
      'specialTokens must be an object of string → id',
      `got ${preview(record)}`,
    );
  }
  const entries = Object.entries(record as Record<string, unknown>);
  const tokens: string[] = new Array(entries.length);
  for (const [token, id] of entries) {
    const slot = (id as number) - base;
    if (!Number.isInteger(id) || slot < 0 || slot >= entries.length || tokens[slot] !== undefined) {
      throw new SculptError(
        where,
        `special token ids must be the distinct integers ${base}…${base + entries.length - 1}`,
        `got ${preview(token)} → ${preview(id)}`,
      );
    }
    tokens[slot] = token;
  }
  return tokens;
}

/** A splitter of text into ordinary stretches and allowed special tokens. */
export interface SpecialSplitter {
  /** Calls `ordinary` for each stretch of ordinary text and `special` for each special token, in order. */
  split(text: string, ordinary: (part: string) => void, special: (id: number) => void): void;
}

/** The special tokens `options.allowedSpecial` allows, as a splitter (undefined when none are). */
export function specialSplitter(
  where: string,
  specialTokens: Readonly<Record<string, number>>,
  allowed: EncodeOptions['allowedSpecial'] = 'none',
): SpecialSplitter | undefined {
  let names: readonly string[];
  if (allowed === 'none') names = [];
  else if (allowed === 'all') names = Object.keys(specialTokens);
  else if (Array.isArray(allowed)) names = allowed;
  else {
    throw new SculptError(
      where,
      "options.allowedSpecial must be 'all', 'none' or a list of special tokens",
      `got ${preview(allowed)}`,
    );
  }
  for (const name of names) {
    if (!Object.hasOwn(specialTokens, name)) {
      throw new SculptError(
        where,
        'allowedSpecial must list special tokens of this tokenizer',
        `got ${preview(name)}; it has ${preview(Object.keys(specialTokens))}`,
        'add it with the specialTokens option when building the tokenizer',
      );
    }
  }
  if (names.length === 0) return undefined;
  // Longest first, so that a special token that extends another one wins.
  const sorted = [...names].sort((a, b) => b.length - a.length);
  const pattern = new RegExp(sorted.map(escapeRegExp).join('|'), 'gu');
  return {
    split(text, ordinary, special) {
      let start = 0;
      for (const match of text.matchAll(pattern)) {
        const index = match.index ?? 0;
        if (index > start) ordinary(text.slice(start, index));
        special(specialTokens[match[0]]!);
        start = index + match[0].length;
      }
      if (start < text.length) ordinary(text.slice(start));
    },
  };
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');
}

/** Throws unless `id` is an integer in [0, vocabSize). */
export function checkId(where: string, id: number, vocabSize: number, index?: number): void {
  if (!Number.isInteger(id) || id < 0 || id >= vocabSize) {
    const at = index === undefined ? '' : ` at index ${index}`;
    throw new SculptError(
      where,
      `token ids must be integers in [0, ${vocabSize})`,
      `got ${preview(id)}${at}`,
    );
  }
}

const encoder = new TextEncoder();

/** UTF-8 bytes of `text`. */
export function utf8(text: string): Uint8Array {
  return encoder.encode(text);
}

/** Concatenates the bytes of `ids` (via `tokenBytes`) and decodes them, invalid UTF-8 → U+FFFD. */
export function decodeBytes(
  where: string,
  ids: ArrayLike<number>,
  vocabSize: number,
  tokenBytes: (id: number) => Uint8Array,
): string {
  let length = 0;
  for (let i = 0; i < ids.length; i++) {
    checkId(where, ids[i]!, vocabSize, i);
    length += tokenBytes(ids[i]!).length;
  }
  const bytes = new Uint8Array(length);
  let offset = 0;
  for (let i = 0; i < ids.length; i++) {
    const part = tokenBytes(ids[i]!);
    bytes.set(part, offset);
    offset += part.length;
  }
  // A fresh decoder per call: TextDecoder keeps no state without { stream: true }.
  return new TextDecoder('utf-8', { fatal: false, ignoreBOM: true }).decode(bytes);
}

/** A growable list of ids, handed back as an Int32Array. */
export class IdList {
  private data = new Int32Array(64);
  private size = 0;

  push(id: number): void {
    if (this.size === this.data.length) this.grow(this.size + 1);
    this.data[this.size++] = id;
  }

  pushAll(ids: ArrayLike<number>): void {
    if (this.size + ids.length > this.data.length) this.grow(this.size + ids.length);
    for (let i = 0; i < ids.length; i++) this.data[this.size++] = ids[i]!;
  }

  toArray(): Int32Array {
    return this.data.slice(0, this.size);
  }

  private grow(min: number): void {
    const next = new Int32Array(Math.max(min, this.data.length * 2));
    next.set(this.data.subarray(0, this.size));
    this.data = next;
  }
}
