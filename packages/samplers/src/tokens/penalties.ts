// Logits processors that look at the tokens generated so far (ctx.tokens):
// repetition, frequency and presence penalties, no-repeat n-gram, banned
// tokens. Counts are built on the CPU as index lists (only the indices are
// uploaded) and scattered to [B, V] on the device.
//
// Notation: z = logits [B, V], c_i = how often token i occurs in ctx.tokens[b].

import type { LogitsProcessor } from '@sculpt/core';
import { SculptError } from '@sculpt/core';
import * as tf from '@tensorflow/tfjs-core';
import {
  checkContext,
  checkFinite,
  checkInteger,
  checkLogits,
  countTokens,
  keepOrNegInf,
} from './internal.js';

/** Options for {@link repetitionPenaltyProcessor}. */
export interface RepetitionPenaltyOptions {
  /** θ > 0. Seen tokens get z/θ if z > 0, else z·θ. `1` is a no-op; CTRL uses 1.2. */
  penalty: number;
}

/** Options for {@link frequencyPenaltyProcessor}. */
export interface FrequencyPenaltyOptions {
  /** α_f: subtract α_f·c_i from every logit. OpenAI's range is [−2, 2]; negative values encourage repeats. */
  frequencyPenalty: number;
}

/** Options for {@link presencePenaltyProcessor}. */
export interface PresencePenaltyOptions {
  /** α_p: subtract α_p from the logit of every token seen at least once. Negative values encourage repeats. */
  presencePenalty: number;
}

/** Options for {@link noRepeatNGramProcessor}. */
export interface NoRepeatNGramOptions {
  /** n ≥ 1: ban any token that would complete an n-gram already present in ctx.tokens. `1` bans every seen token. */
  ngramSize: number;
}

/** Options for {@link bannedTokensProcessor}. */
export interface BannedTokensOptions {
  /** Token ids that are never generated. Default `[]`. */
  tokenIds?: readonly number[];
  /**
   * Banned sequences (transformers' `bad_words_ids`): the last token of each is
   * banned when the tokens so far end with the rest. One-token sequences are
   * banned outright. Default `[]`.
   */
  sequences?: readonly (readonly number[])[];
}

/**
 * Repetition penalty (Keskar et al. 2019, CTRL): for every token present in
 * `ctx.tokens[b]`, z ← z/θ if z > 0, else z·θ (so θ > 1 always lowers it).
 *
 * @param options - `{ penalty }` (required, > 0).
 * @returns a processor; each call returns a new [B, V] tensor the caller owns.
 * @throws SculptError if `penalty` ≤ 0 or not finite; at call time if ctx.tokens does not match the batch.
 * @example
 * ```ts
 * const z2 = repetitionPenaltyProcessor({ penalty: 1.2 })(logits, { tokens: [[5, 9]], step: 2 });
 * ```
 */
export function repetitionPenaltyProcessor(options: RepetitionPenaltyOptions): LogitsProcessor {
  const where = 'repetitionPenaltyProcessor';
  const theta = options.penalty;
  if (!(typeof theta === 'number' && theta > 0 && Number.isFinite(theta))) {
    throw new SculptError(
      where,
      'penalty must be a finite number > 0',
      `got ${theta}`,
      'use 1 for no penalty, e.g. 1.2 to discourage repeats',
    );
  }
  return (logits, ctx) => {
    const [b, v] = checkLogits(where, logits);
    const rows = checkContext(where, ctx, b, v);
    return tf.tidy(() => {
      const seen = tf.greater(countTokens(rows, v), 0);
      const penalised = tf.where(
        tf.greater(logits, 0),
        tf.div(logits, theta),
        tf.mul(logits, theta),
      );
      return tf.where(seen, penalised, logits) as tf.Tensor2D;
    });
  };
}

/**
 * Frequency penalty (OpenAI API convention): z_i ← z_i − α_f·c_i.
 *
 * @param options - `{ frequencyPenalty }` (required, finite).
 * @returns a processor; each call returns a new [B, V] tensor the caller owns.
 * @throws SculptError if `frequencyPenalty` is not finite; at call time if ctx.tokens does not match the batch.
 * @example
 * ```ts
 * const z2 = frequencyPenaltyProcessor({ frequencyPenalty: 0.5 })(logits, ctx);
 * ```
 */
export function frequencyPenaltyProcessor(options: FrequencyPenaltyOptions): LogitsProcessor {
  const where = 'frequencyPenaltyProcessor';
  checkFinite(where, 'frequencyPenalty', options.frequencyPenalty);
  const alpha = options.frequencyPenalty;
  return (logits, ctx) => {
    const [b, v] = checkLogits(where, logits);
    const rows = checkContext(where, ctx, b, v);
    return tf.tidy(() => tf.sub(logits, tf.mul(countTokens(rows, v), alpha)) as tf.Tensor2D);
  };
}

/**
 * Presence penalty (OpenAI API convention): z_i ← z_i − α_p·1[c_i > 0].
 *
 * @param options - `{ presencePenalty }` (required, finite).
 * @returns a processor; each call returns a new [B, V] tensor the caller owns.
 * @throws SculptError if `presencePenalty` is not finite; at call time if ctx.tokens does not match the batch.
 * @example
 * ```ts
 * const z2 = presencePenaltyProcessor({ presencePenalty: 0.6 })(logits, ctx);
 * ```
 */
export function presencePenaltyProcessor(options: PresencePenaltyOptions): LogitsProcessor {
  const where = 'presencePenaltyProcessor';
  checkFinite(where, 'presencePenalty', options.presencePenalty);
  const alpha = options.presencePenalty;
  return (logits, ctx) => {
    const [b, v] = checkLogits(where, logits);
    const rows = checkContext(where, ctx, b, v);
    return tf.tidy(() => {
      const present = tf.cast(tf.greater(countTokens(rows, v), 0), 'float32');
      return tf.sub(logits, tf.mul(present, alpha)) as tf.Tensor2D;
    });
  };
}

/** Sets the listed token ids of each row to −∞ (ids may repeat). Call inside a tidy. */
function banPerRow(logits: tf.Tensor2D, banned: number[][]): tf.Tensor2D {
  return keepOrNegInf(logits, tf.equal(countTokens(banned, logits.shape[1]), 0));
}

/** True iff `row` ends with `suffix`. */
function endsWith(row: readonly number[], suffix: readonly number[], length: number): boolean {
  if (length > row.length) return false;
  for (let j = 0; j < length; j++) {
    if (row[row.length - length + j] !== suffix[j]) return false;
  }
  return true;
}

/** Tokens that would complete an n-gram already in `row`. */
function ngramBans(row: readonly number[], n: number): number[] {
  const bans: number[] = [];
  const start = row.length - (n - 1); // the (n−1)-token prefix of the next n-gram
  if (start < 0) return bans;
  for (let i = 0; i + n <= row.length; i++) {
    let match = true;
    for (let j = 0; j < n - 1 && match; j++) match = row[i + j] === row[start + j];
    if (match) bans.push(row[i + n - 1]);
  }
  return bans;
}

/**
 * No-repeat n-gram: bans every token that would make the last n tokens an
 * n-gram already present in `ctx.tokens[b]` (transformers'
 * `no_repeat_ngram_size`).
 *
 * @param options - `{ ngramSize }` (required, integer ≥ 1).
 * @returns a processor; each call returns a new [B, V] tensor the caller owns.
 * @throws SculptError if `ngramSize` < 1 or not an integer; at call time if ctx.tokens does not match the batch.
 * @example
 * ```ts
 * // tokens [1, 2, 3, 1, 2]: with n = 3 the next token may not be 3.
 * const z2 = noRepeatNGramProcessor({ ngramSize: 3 })(logits, { tokens: [[1, 2, 3, 1, 2]], step: 5 });
 * ```
 */
export function noRepeatNGramProcessor(options: NoRepeatNGramOptions): LogitsProcessor {
  const where = 'noRepeatNGramProcessor';
  checkInteger(where, 'ngramSize', options.ngramSize, 1);
  const n = options.ngramSize;
  return (logits, ctx) => {
    const [b, v] = checkLogits(where, logits);
    const rows = checkContext(where, ctx, b, v);
    const banned = rows.map((row) => ngramBans(row, n));
    return tf.tidy(() => banPerRow(logits, banned));
  };
}

/**
 * Banned tokens / bad-words ids: `tokenIds` are never generated; for each of
 * `sequences`, its last token is banned whenever the tokens so far end with
 * the sequence's other tokens.
 *
 * @param options - `{ tokenIds = [], sequences = [] }`.
 * @returns a processor; each call returns a new [B, V] tensor the caller owns.
 * @throws SculptError if an id is not a non-negative integer, a sequence is empty, or (at call time) an id is ≥ V.
 * @example
 * ```ts
 * const ban = bannedTokensProcessor({ tokenIds: [0], sequences: [[7, 8]] }); // never 0; never 8 right after 7
 * const z2 = ban(logits, ctx);
 * ```
 */
export function bannedTokensProcessor(options: BannedTokensOptions): LogitsProcessor {
  const where = 'bannedTokensProcessor';
  const ids = [...(options.tokenIds ?? [])];
  const sequences = (options.sequences ?? []).map((s) => [...s]);
  for (const s of sequences) {
    if (s.length === 0)
      throw new SculptError(where, 'banned sequences must not be empty', 'got []');
  }
  for (const t of [...ids, ...sequences.flat()]) checkInteger(where, 'token ids', t, 0);
  return (logits, ctx) => {
    const [b, v] = checkLogits(where, logits);
    const needsContext = sequences.some((s) => s.length > 1);
    const rows = needsContext ? checkContext(where, ctx, b, v) : undefined;
    const banned: number[][] = [];
    for (let r = 0; r < b; r++) {
      const row = [...ids];
      for (const s of sequences) {
        if (s.length === 1 || (rows && endsWith(rows[r], s, s.length - 1)))
          row.push(s[s.length - 1]);
      }
      for (const t of row) {
        if (t >= v) throw new SculptError(where, `token ids must be < vocab size ${v}`, `got ${t}`);
      }
      banned.push(row);
    }
    return tf.tidy(() => banPerRow(logits, banned));
  };
}
