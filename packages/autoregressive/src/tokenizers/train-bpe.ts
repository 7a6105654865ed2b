// Training of the byte-level BPE (minbpe's RegexTokenizer.train), made fast by
// counting each distinct piece once: the text is pre-split with the pattern,
// the distinct pieces are kept with their frequencies, and a pair's count is
// the sum over pieces of (occurrences in the piece) × (frequency of the piece).
//
// Tie rule, as minbpe's `max(stats, key=stats.get)` on an insertion-ordered
// dict: among pairs with the highest count, the one whose first occurrence in
// the text (as currently merged) comes first wins. Pieces are stored in order
// of first appearance, so that is the first tied pair met scanning them in order.

import { preview, SculptError } from '@sculpt/core';
import { BpeTokenizer } from './bpe.js';
import { forEachPiece, GPT4_SPLIT_PATTERN } from './patterns.js';
import { utf8, wellFormed } from './shared.js';

const STRIDE = 0x200000; // as in bpe.ts: pair key = left * STRIDE + right

/** Progress of {@link trainBpe}, reported after each merge. */
export interface BpeTrainProgress {
  /** Merges done so far (1 after the first). */
  readonly merge: number;
  /** Merges to do in all. */
  readonly numMerges: number;
  /** The pair just merged, `[left, right]`, and the id it became. */
  readonly pair: readonly [number, number];
  readonly id: number;
  /** How often the pair occurred in the training text. */
  readonly count: number;
}

/** Options of {@link trainBpe}. */
export interface TrainBpeOptions {
  /** Training text (must be well-formed UTF-16). */
  text: string;
  /** Size of the vocabulary, special tokens included: 256 bytes + merges + specials. */
  vocabSize: number;
  /** Pre-split pattern, JavaScript syntax, flags `gu` (default {@link GPT4_SPLIT_PATTERN}). */
  pattern?: string;
  /** Special tokens, given the last ids (default none). They are not looked for in `text`. */
  specialTokens?: readonly string[];
  /** Called after every merge (library code never prints). */
  onProgress?: (progress: BpeTrainProgress) => void;
}

/**
 * Trains a byte-level BPE tokenizer: `vocabSize − 256 − specials` merges of
 * the most frequent adjacent pair within the pieces of the pre-split text.
 * Deterministic: ties go to the pair that occurs first in the text (minbpe's
 * rule). Stops early, with a smaller vocabulary, if no pair is left to merge.
 *
 * @param options - text, vocabSize, pattern (default GPT-4's), specialTokens, onProgress.
 * @returns a new {@link BpeTokenizer}.
 * @example
 * const tokenizer = trainBpe({ text: 'aaabdaaabac', vocabSize: 259 });
 * tokenizer.merges; // [[97, 97], [256, 97], [257, 98]]
 * tokenizer.encode('aaabdaaabac'); // Int32Array [258, 100, 258, 97, 99]
 */
export function trainBpe(options: TrainBpeOptions): BpeTokenizer {
  const where = 'trainBpe';
  const { text, vocabSize, pattern = GPT4_SPLIT_PATTERN, specialTokens = [], onProgress } = options;
  if (typeof text !== 'string')
    throw new SculptError(where, 'text must be a string', `got ${preview(text)}`);
  const minimum = 256 + specialTokens.length;
  if (!Number.isInteger(vocabSize) || vocabSize < minimum || vocabSize > STRIDE) {
    throw new SculptError(
      where,
      `vocabSize must be an integer in [${minimum}, ${STRIDE}] (256 bytes + ${specialTokens.length} special tokens + merges)`,
      `got ${preview(vocabSize)}`,
    );
  }
  // The tokenizer validates the pattern; build an empty one first so a bad pattern fails fast.
  new BpeTokenizer({ merges: [], pattern, specialTokens });
  const pieces = countPieces(wellFormed(where, text), new RegExp(pattern, 'gu'));
  const merges = learnMerges(pieces, vocabSize - minimum, onProgress);
  return new BpeTokenizer({ merges, pattern, specialTokens });
}

/** Distinct pieces (in order of first appearance) as bytes in one flat array. */
interface Pieces {
  ids: Int32Array; // the pieces' ids, back to back; a piece shrinks in place as it merges
  start: Int32Array; // where piece p begins in `ids`
  length: Int32Array; // its current length
  weight: Float64Array; // how often it occurs in the text
}

function countPieces(text: string, regex: RegExp): Pieces {
  const counts = new Map<string, number>();
  forEachPiece(text, regex, (piece) => counts.set(piece, (counts.get(piece) ?? 0) + 1));
  const encoded = [...counts.keys()].map(utf8);
  const total = encoded.reduce((sum, bytes) => sum + bytes.length, 0);
  const pieces: Pieces = {
    ids: new Int32Array(total),
    start: new Int32Array(encoded.length),
    length: new Int32Array(encoded.length),
    weight: Float64Array.from(counts.values()),
  };
  let offset = 0;
  encoded.forEach((bytes, p) => {
    pieces.ids.set(bytes, offset);
    pieces.start[p] = offset;
    pieces.length[p] = bytes.length;
    offset += bytes.length;
  });
  return pieces;
}

function learnMerges(
  pieces: Pieces,
  numMerges: number,
  onProgress?: (progress: BpeTrainProgress) => void,
): [number, number][] {
  const counts = new Map<number, number>(); // pair key → weighted count
  for (let p = 0; p < pieces.start.length; p++) addPairs(pieces, p, counts, 1);
  const merges: [number, number][] = [];
  while (merges.length < numMerges) {
    const best = bestPair(pieces, counts);
    if (best === undefined) break;
    const id = 256 + merges.length;
    const count = counts.get(best)!;
    const pair: [number, number] = [Math.floor(best / STRIDE), best % STRIDE];
    mergeEverywhere(pieces, pair, id, counts);
    merges.push(pair);
    onProgress?.({ merge: merges.length, numMerges, pair, id, count });
  }
  return merges;
}

/** Adds (sign 1) or removes (sign −1) piece p's pairs, weighted by its frequency. */
function addPairs(pieces: Pieces, p: number, counts: Map<number, number>, sign: 1 | -1): void {
  const { ids } = pieces;
  const start = pieces.start[p]!;
  const end = start + pieces.length[p]! - 1;
  const weight = sign * pieces.weight[p]!;
  for (let i = start; i < end; i++) {
    const key = ids[i]! * STRIDE + ids[i + 1]!;
    const count = (counts.get(key) ?? 0) + weight;
    if (count === 0) counts.delete(key);
    else counts.set(key, count);
  }
}

/** The most frequent pair's key; ties → the tied pair that occurs first in the pieces. */
function bestPair(pieces: Pieces, counts: Map<number, number>): number | undefined {
  let max = 0;
  let tied: number[] = [];
  for (const [key, count] of counts) {
    if (count > max) {
      max = count;
      tied = [key];
    } else if (count === max) tied.push(key);
  }
  if (tied.length <= 1) return tied[0];
  const candidates = new Set(tied);
  const { ids } = pieces;
  for (let p = 0; p < pieces.start.length; p++) {
    const end = pieces.start[p]! + pieces.length[p]! - 1;
    for (let i = pieces.start[p]!; i < end; i++) {
      const key = ids[i]! * STRIDE + ids[i + 1]!;
      if (candidates.has(key)) return key;
    }
  }
  return tied[0]; // unreachable: every counted pair occurs somewhere
}

/** Merges `pair` into `id` in every piece that has it, updating the pair counts. */
function mergeEverywhere(
  pieces: Pieces,
  [left, right]: readonly [number, number],
  id: number,
  counts: Map<number, number>,
): void {
  const { ids } = pieces;
  for (let p = 0; p < pieces.start.length; p++) {
    const start = pieces.start[p]!;
    const end = start + pieces.length[p]!;
    let found = false;
    for (let i = start; i + 1 < end; i++) {
      if (ids[i] === left && ids[i + 1] === right) {
        found = true;
        break;
      }
    }
    if (!found) continue;
    addPairs(pieces, p, counts, -1);
    let write = start;
    for (let read = start; read < end; read++) {
      if (read + 1 < end && ids[read] === left && ids[read + 1] === right) {
        ids[write++] = id;
        read++;
      } else ids[write++] = ids[read]!;
    }
    pieces.length[p] = write - start;
    addPairs(pieces, p, counts, 1);
  }
}
