// One entry point from JSON back to a tokenizer, whichever kind it is.

import { preview, SculptError } from '@sculpt/core';
import { BpeTokenizer } from './bpe.js';
import { specialTokensFromRecord } from './shared.js';
import { byteTokenizer, charTokenizer } from './simple.js';
import type { Tokenizer, TokenizerJson } from './tokenizer.js';

/**
 * Rebuilds a tokenizer from `toJSON()` output (a checkpoint's tokenizer.json),
 * validating it: the kind, the special-token ids, the characters of a char
 * tokenizer, and that every BPE merge refers to ids already defined.
 *
 * @param json - a {@link TokenizerJson} (checked, since it usually comes from a file).
 * @returns a new {@link Tokenizer} that encodes exactly as the one that wrote `json`.
 * @throws SculptError naming the first thing wrong in `json`.
 * @example
 * const tokenizer = tokenizerFromJson(JSON.parse(await readFile('tokenizer.json', 'utf8')));
 */
export function tokenizerFromJson(json: TokenizerJson): Tokenizer {
  const where = 'tokenizerFromJson';
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new SculptError(where, 'json must be an object', `got ${preview(json)}`);
  }
  switch (json.kind) {
    case 'char': {
      if (!Array.isArray(json.tokens)) {
        throw new SculptError(
          where,
          'a char tokenizer needs tokens: string[]',
          `got ${preview(json.tokens)}`,
        );
      }
      const specialTokens = specialTokensFromRecord(where, json.specialTokens, json.tokens.length);
      return charTokenizer({ tokens: json.tokens }, { specialTokens });
    }
    case 'byte':
      return byteTokenizer({
        specialTokens: specialTokensFromRecord(where, json.specialTokens, 256),
      });
    case 'bpe':
      return BpeTokenizer.fromJSON(json);
    default:
      throw new SculptError(
        where,
        "json.kind must be 'char', 'byte' or 'bpe'",
        `got ${preview((json as { kind?: unknown }).kind)}`,
      );
  }
}
