// Two tokenizers without training: one id per Unicode code point seen in a
// text (char-level, as in nanoGPT's shakespeare_char), and one id per byte.

import { preview, SculptError } from '@sculpt/core';
import {
  checkId,
  decodeBytes,
  IdList,
  specialSplitter,
  specialTokenIds,
  utf8,
  wellFormed,
} from './shared.js';
import type { EncodeOptions, Tokenizer, TokenizerJson } from './tokenizer.js';

/** Options of {@link charTokenizer} and {@link byteTokenizer}. */
export interface SimpleTokenizerOptions {
  /** Special tokens, given ids after the ordinary ones in this order (default none). */
  specialTokens?: readonly string[];
}

/**
 * A character-level tokenizer: one id per Unicode code point. Built from a
 * text, its vocabulary is the sorted set of the text's code points (sorted by
 * code point, ids = index); built from `tokens`, it keeps their order (as
 * `toJSON` stores it). Special tokens follow the characters.
 *
 * @param source - `{ text }` to collect the characters of, or `{ tokens }` (one code point each).
 * @param options - `specialTokens` (default none).
 * @returns a new {@link Tokenizer} of kind `'char'`; `encode` throws a SculptError
 *   naming any character outside the vocabulary.
 * @example
 * const tokenizer = charTokenizer({ text: 'hello world' }, { specialTokens: ['<|endoftext|>'] });
 * tokenizer.encode('hello'); // Int32Array [3, 2, 4, 4, 5]
 * tokenizer.vocabSize; // 9 (8 characters + 1 special)
 */
export function charTokenizer(
  source: { text: string } | { tokens: readonly string[] },
  options: SimpleTokenizerOptions = {},
): Tokenizer {
  const where = 'charTokenizer';
  let tokens: string[];
  if ('text' in source && typeof source.text === 'string') {
    if (source.text.length === 0)
      throw new SculptError(
        where,
        'text must hold at least one character (the vocabulary is its characters)',
        "got ''",
        'pass the training text, or { tokens } to list the characters',
      );
    const codePoints = new Set<number>();
    for (const char of wellFormed(where, source.text)) codePoints.add(char.codePointAt(0)!);
    tokens = [...codePoints].sort((a, b) => a - b).map((c) => String.fromCodePoint(c));
  } else if ('tokens' in source && Array.isArray(source.tokens)) {
    tokens = checkCharTokens(where, source.tokens);
  } else {
    throw new SculptError(
      where,
      'source must be { text: string } or { tokens: string[] }',
      `got ${preview(source)}`,
    );
  }
  return new CharTokenizer(tokens, options.specialTokens ?? []);
}

function checkCharTokens(where: string, tokens: readonly string[]): string[] {
  const seen = new Set<string>();
  tokens.forEach((token, i) => {
    if (typeof token !== 'string' || Array.from(token).length !== 1) {
      throw new SculptError(
        where,
        'tokens must be single characters (one code point each)',
        `got ${preview(token)} at index ${i}`,
      );
    }
    wellFormed(where, token);
    if (seen.has(token)) {
      throw new SculptError(
        where,
        'tokens must be distinct',
        `got ${preview(token)} twice (again at index ${i})`,
      );
    }
    seen.add(token);
  });
  return [...tokens];
}

class CharTokenizer implements Tokenizer {
  readonly kind = 'char' as const;
  readonly vocabSize: number;
  readonly specialTokens: Readonly<Record<string, number>>;
  private readonly tokens: readonly string[];
  private readonly specials: readonly string[];
  private readonly ids = new Map<string, number>();
  private readonly bytes: Uint8Array[];

  constructor(tokens: readonly string[], specialTokens: readonly string[]) {
    this.tokens = Object.freeze([...tokens]);
    this.specials = Object.freeze([...specialTokens]);
    for (const [id, token] of tokens.entries()) this.ids.set(token, id);
    this.specialTokens = specialTokenIds('charTokenizer', specialTokens, tokens.length);
    this.vocabSize = tokens.length + specialTokens.length;
    this.bytes = [...tokens, ...specialTokens].map(utf8);
  }

  encode(text: string, options: EncodeOptions = {}): Int32Array {
    const where = 'charTokenizer.encode';
    const clean = wellFormed(where, text, options.invalid);
    const out = new IdList();
    const splitter = specialSplitter(where, this.specialTokens, options.allowedSpecial);
    if (!splitter) this.encodeOrdinary(clean, 0, out);
    else {
      // Track the offset of each stretch so that errors report the index in `text`.
      let offset = 0;
      splitter.split(
        clean,
        (part) => {
          this.encodeOrdinary(part, offset, out);
          offset += part.length;
        },
        (id) => {
          out.push(id);
          offset += this.specials[id - this.tokens.length]!.length;
        },
      );
    }
    return out.toArray();
  }

  private encodeOrdinary(text: string, offset: number, out: IdList): void {
    let index = offset;
    for (const char of text) {
      const id = this.ids.get(char);
      if (id === undefined) throw this.unknown(char, index);
      out.push(id);
      index += char.length;
    }
  }

  private unknown(char: string, index: number): SculptError {
    const code = char.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0');
    return new SculptError(
      'charTokenizer.encode',
      `every character must be in the vocabulary of ${this.tokens.length} characters`,
      `got ${JSON.stringify(char)} (U+${code}) at index ${index}`,
      'build the tokenizer from all the text it will see, or use byteTokenizer or trainBpe, which encode any text',
    );
  }

  decode(ids: ArrayLike<number>): string {
    let text = '';
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i]!;
      checkId('charTokenizer.decode', id, this.vocabSize, i);
      text += id < this.tokens.length ? this.tokens[id] : this.specials[id - this.tokens.length];
    }
    return text;
  }

  tokenBytes(id: number): Uint8Array {
    checkId('charTokenizer.tokenBytes', id, this.vocabSize);
    return this.bytes[id]!;
  }

  toJSON(): TokenizerJson {
    return { kind: 'char', tokens: [...this.tokens], specialTokens: { ...this.specialTokens } };
  }
}

/**
 * A byte-level tokenizer: ids 0…255 are the UTF-8 bytes of the text, special
 * tokens follow from 256. Encodes any well-formed text; needs no training.
 *
 * @param options - `specialTokens` (default none).
 * @returns a new {@link Tokenizer} of kind `'byte'` with `vocabSize` 256 + specials.
 * @example
 * const tokenizer = byteTokenizer({ specialTokens: ['<|endoftext|>'] });
 * tokenizer.encode('hé'); // Int32Array [104, 195, 169]
 * tokenizer.encode('<|endoftext|>', { allowedSpecial: 'all' }); // Int32Array [256]
 */
export function byteTokenizer(options: SimpleTokenizerOptions = {}): Tokenizer {
  return new ByteTokenizer(options.specialTokens ?? []);
}

class ByteTokenizer implements Tokenizer {
  readonly kind = 'byte' as const;
  readonly vocabSize: number;
  readonly specialTokens: Readonly<Record<string, number>>;
  private readonly bytes: Uint8Array[];

  constructor(specialTokens: readonly string[]) {
    this.specialTokens = specialTokenIds('byteTokenizer', specialTokens, 256);
    this.vocabSize = 256 + specialTokens.length;
    this.bytes = Array.from({ length: 256 }, (_, b) => Uint8Array.of(b));
    for (const token of specialTokens) this.bytes.push(utf8(token));
  }

  encode(text: string, options: EncodeOptions = {}): Int32Array {
    const where = 'byteTokenizer.encode';
    const clean = wellFormed(where, text, options.invalid);
    const splitter = specialSplitter(where, this.specialTokens, options.allowedSpecial);
    if (!splitter) return Int32Array.from(utf8(clean));
    const out = new IdList();
    splitter.split(
      clean,
      (part) => out.pushAll(utf8(part)),
      (id) => out.push(id),
    );
    return out.toArray();
  }

  decode(ids: ArrayLike<number>): string {
    return decodeBytes('byteTokenizer.decode', ids, this.vocabSize, (id) => this.bytes[id]!);
  }

  tokenBytes(id: number): Uint8Array {
    checkId('byteTokenizer.tokenBytes', id, this.vocabSize);
    return this.bytes[id]!;
  }

  toJSON(): TokenizerJson {
    return { kind: 'byte', specialTokens: { ...this.specialTokens } };
  }
}
