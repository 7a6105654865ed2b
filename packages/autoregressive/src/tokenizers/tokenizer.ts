// The one interface every tokenizer implements (char, byte, byte-level BPE).
// Streaming decoders work on bytes: every token maps to the UTF-8 bytes it
// stands for, so a multi-byte character split across tokens decodes whole.

/** Which tokenizer a {@link TokenizerJson} describes. */
export type TokenizerKind = 'char' | 'byte' | 'bpe';

/** What `encode` does with a lone UTF-16 surrogate (a string no UTF-8 can represent). */
export type InvalidInput = 'error' | 'replace';

/** Options of {@link Tokenizer.encode}. */
export interface EncodeOptions {
  /**
   * Special tokens recognised in the text: `'all'`, `'none'` (default: they
   * encode as ordinary text) or a list of their strings.
   */
  allowedSpecial?: 'all' | 'none' | readonly string[];
  /** Lone surrogates: `'error'` (default) throws a SculptError; `'replace'` encodes U+FFFD. */
  invalid?: InvalidInput;
}

/** A tokenizer as plain JSON: `tokenizerFromJson(t.toJSON())` rebuilds it. */
export type TokenizerJson =
  | { kind: 'char'; tokens: string[]; specialTokens: Record<string, number> }
  | { kind: 'byte'; specialTokens: Record<string, number> }
  | {
      kind: 'bpe';
      /** Merges in the order learned: `[left, right]` ids; merge i makes token 256 + i. */
      merges: [number, number][];
      /** The regex pre-split pattern (JavaScript syntax, flags `gu`). */
      pattern: string;
      specialTokens: Record<string, number>;
    };

/** Text ↔ token ids. Every implementation round-trips well-formed text exactly. */
export interface Tokenizer {
  readonly kind: TokenizerKind;
  /** Number of ids, special tokens included. */
  readonly vocabSize: number;
  /** Special tokens by string (e.g. `'<|endoftext|>'`) → id. */
  readonly specialTokens: Readonly<Record<string, number>>;
  /** Text → ids (a new array). @throws SculptError for text it cannot encode. */
  encode(text: string, options?: EncodeOptions): Int32Array;
  /** Ids → text; bytes that are not valid UTF-8 decode as U+FFFD. @throws SculptError for an id outside [0, vocabSize). */
  decode(ids: ArrayLike<number>): string;
  /** The UTF-8 bytes token `id` stands for (a special token: its string's bytes). The tokenizer owns the array. */
  tokenBytes(id: number): Uint8Array;
  /** Plain JSON for checkpoints. */
  toJSON(): TokenizerJson;
}
