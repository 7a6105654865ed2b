// The pre-split patterns of GPT-2 and GPT-4 (tiktoken's r50k and cl100k), in
// JavaScript syntax (flags `gu`). The originals, in Python `regex` syntax:
//
//   GPT-2:  '(?:[sdmt]|ll|ve|re)| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
//   GPT-4:  '(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]++[\r\n]*|\s*[\r\n]|\s+(?!\S)|\s+
//
// Why the rewrites split the same way (checked against Python `regex.findall`
// by fixtures/split-fixture.json):
//
// 1. `\s` differs between the engines: Python's is Unicode White_Space (it has
//    U+0085, not U+FEFF), JavaScript's adds U+FEFF and drops U+0085. So `\s`
//    becomes `\p{White_Space}` and `\S` becomes `\P{White_Space}`. (`\p{L}` and
//    `\p{N}` agree code point for code point, Unicode versions permitting.)
// 2. `(?i:[sdmt]|ll|ve|re)`: Node 20 has no inline modifiers, so the case
//    variants are spelled out. Unicode simple case folding adds one more
//    match: `ſ` (U+017F, long s) folds to `s`, so Python matches `'ſ` and so
//    must we. No other code point folds to d, m, t, l, v, e or r.
// 3. `[^\r\n\p{L}\p{N}]?+\p{L}+`: the optional class and `\p{L}` are disjoint,
//    so giving the optional character back can never let `\p{L}+` match
//    (that character is not a letter); possessive and greedy `?` agree.
// 4. ` ?[^\s\p{L}\p{N}]++[\r\n]*`: `[\r\n]*` matches the empty string, so once
//    `[^\s\p{L}\p{N}]+` has matched greedily the alternative always succeeds
//    and nothing is ever backtracked into; possessive and greedy `+` agree.

const S = String.raw`\p{White_Space}`;
const NOT_S = String.raw`\P{White_Space}`;

/**
 * GPT-4's (cl100k) pre-split pattern in JavaScript syntax, for `new RegExp(pattern, 'gu')`:
 * contractions (any case), words with one leading non-letter, numbers of at
 * most 3 digits, punctuation runs with trailing newlines, and whitespace. The
 * default of {@link trainBpe}.
 *
 * @example
 * 'DON\'T stop 1234'.match(new RegExp(GPT4_SPLIT_PATTERN, 'gu'));
 * // ['DON', "'T", ' stop', ' ', '123', '4']
 */
export const GPT4_SPLIT_PATTERN: string = [
  `'(?:[sdmtSDMTſ]|[lL][lL]|[vV][eE]|[rR][eE])`,
  String.raw`[^\r\n\p{L}\p{N}]?\p{L}+`,
  String.raw`\p{N}{1,3}`,
  String.raw` ?[^${S}\p{L}\p{N}]+[\r\n]*`,
  String.raw`${S}*[\r\n]`,
  `${S}+(?!${NOT_S})`,
  `${S}+`,
].join('|');

/**
 * GPT-2's pre-split pattern in JavaScript syntax, for `new RegExp(pattern, 'gu')`:
 * lower-case contractions, words, numbers and punctuation runs with one
 * optional leading space, and whitespace.
 *
 * @example
 * "we'll 2024!".match(new RegExp(GPT2_SPLIT_PATTERN, 'gu'));
 * // ['we', "'ll", ' 2024', '!']
 */
export const GPT2_SPLIT_PATTERN: string = [
  `'(?:[sdmt]|ll|ve|re)`,
  String.raw` ?\p{L}+`,
  String.raw` ?\p{N}+`,
  String.raw` ?[^${S}\p{L}\p{N}]+`,
  `${S}+(?!${NOT_S})`,
  `${S}+`,
].join('|');

/**
 * Splits `text` into the pieces `pattern` matches, keeping any text between
 * matches as pieces too, so that the pieces always join back to `text`.
 *
 * @example
 * splitText('Hello world', new RegExp(GPT4_SPLIT_PATTERN, 'gu')); // ['Hello', ' world']
 */
export function splitText(text: string, pattern: RegExp): string[] {
  const pieces: string[] = [];
  forEachPiece(text, pattern, (piece) => pieces.push(piece));
  return pieces;
}

/** Calls `visit` for every piece of `text` (see {@link splitText}); skips empty matches. */
export function forEachPiece(text: string, pattern: RegExp, visit: (piece: string) => void): void {
  let last = 0;
  for (const match of text.matchAll(pattern)) {
    const index = match.index ?? 0;
    if (index > last) visit(text.slice(last, index));
    if (match[0].length > 0) visit(match[0]);
    last = index + match[0].length;
  }
  if (last < text.length) visit(text.slice(last));
}
