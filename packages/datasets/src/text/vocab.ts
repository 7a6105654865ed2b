import { SculptError } from '@sculpt/core';

/**
 * A token vocabulary for character- or byte-level language models. Plain and
 * serialisable: `{ kind, tokens }` is all a checkpoint needs to rebuild it.
 */
export interface Vocab {
  /** `'char'`: one token per Unicode code point seen in the corpus; `'byte'`: the 256 UTF-8 byte values. */
  readonly kind: 'char' | 'byte';
  /** Number of tokens. */
  readonly size: number;
  /** For `'char'`: the characters, token id = index. Empty for `'byte'`. */
  readonly tokens: readonly string[];
  /** Text → token ids. Unknown characters (char vocab) throw. */
  encode(text: string): Int32Array;
  /** Token ids → text. */
  decode(ids: ArrayLike<number>): string;
}

/**
 * A character vocabulary: the sorted set of code points in `text` (or the
 * given `tokens`, to rebuild a saved one).
 *
 * @param source - `{ text }` to build from a corpus or `{ tokens }` to rebuild a saved vocab.
 * @returns a {@link Vocab} of kind `'char'`.
 * @example
 * const vocab = charVocab({ text: corpus.train });
 * const ids = vocab.encode('Call me Ishmael.');
 */
export function charVocab(source: { text: string } | { tokens: readonly string[] }): Vocab {
  const tokens =
    'tokens' in source ? [...source.tokens] : [...new Set(Array.from(source.text))].sort();
  const index = new Map(tokens.map((t, i) => [t, i]));
  return {
    kind: 'char',
    size: tokens.length,
    tokens,
    encode(text: string): Int32Array {
      const chars = Array.from(text);
      const out = new Int32Array(chars.length);
      for (let i = 0; i < chars.length; i++) {
        const id = index.get(chars[i]);
        if (id === undefined) {
          throw new SculptError(
            'Vocab.encode',
            'every character must be in the vocabulary',
            `got ${JSON.stringify(chars[i])} at ${i}`,
            'build the vocab from all text (train + held-out) or use byteVocab()',
          );
        }
        out[i] = id;
      }
      return out;
    },
    decode(ids: ArrayLike<number>): string {
      let s = '';
      for (let i = 0; i < ids.length; i++) s += tokens[ids[i]] ?? '\uFFFD';
      return s;
    },
  };
}

/**
 * The 256-token UTF-8 byte vocabulary: covers any text, no corpus needed.
 *
 * @returns a {@link Vocab} of kind `'byte'` (size 256).
 * @example
 * const ids = byteVocab().encode('naïve'); // 6 bytes
 */
export function byteVocab(): Vocab {
  return {
    kind: 'byte',
    size: 256,
    tokens: [],
    encode: (text: string) => Int32Array.from(new TextEncoder().encode(text)),
    decode: (ids: ArrayLike<number>) =>
      new TextDecoder().decode(Uint8Array.from(ids as ArrayLike<number>)),
  };
}
