// Helpers shared by the token processors. Not part of the public surface.
//
// Notation: z = logits [B, V], p = softmax(z), "cutoff" = a per-row threshold
// [B, 1]; a filter keeps z_i where z_i ≥ cutoff and sets the rest to −∞.

import type { TokenContext } from '@sculpt/core';
import { formatShape, SculptError } from '@sculpt/core';
import * as tf from '@tensorflow/tfjs-core';

/**
 * Slack on cumulative-mass comparisons (top-p, typical): sums of float32
 * probabilities are off by a few ulps, and without slack a token whose
 * preceding mass is exactly p (e.g. 0.5 + 0.3 = 0.8) would flip in or out.
 */
export const MASS_TOLERANCE = 1e-6;

/** Throws unless `logits` is rank 2; returns `[B, V]`. */
export function checkLogits(where: string, logits: tf.Tensor): [number, number] {
  if (logits.rank !== 2) {
    throw new SculptError(
      where,
      'logits must be rank 2 [batch, vocab]',
      `got shape ${formatShape(logits.shape)}`,
      'reshape to [B, V]',
    );
  }
  return logits.shape as [number, number];
}

/** Throws unless `value` lies in (0, 1]. */
export function checkUnitInterval(where: string, name: string, value: number): void {
  if (!(typeof value === 'number' && value > 0 && value <= 1)) {
    throw new SculptError(where, `${name} must be in (0, 1]`, `got ${value}`);
  }
}

/** Throws unless `value` is an integer ≥ `min`. */
export function checkInteger(where: string, name: string, value: number, min: number): void {
  if (!Number.isInteger(value) || value < min) {
    throw new SculptError(where, `${name} must be an integer ≥ ${min}`, `got ${value}`);
  }
}

/** Throws unless `value` is a finite number. */
export function checkFinite(where: string, name: string, value: number): void {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new SculptError(where, `${name} must be a finite number`, `got ${value}`);
  }
}

/** `z` where `keep`, −∞ elsewhere. Call inside a tidy. */
export function keepOrNegInf(z: tf.Tensor2D, keep: tf.Tensor): tf.Tensor2D {
  return tf.where(keep, z, tf.fill(z.shape, -Infinity)) as tf.Tensor2D;
}

/**
 * Lowers a per-row cutoff so that at least `minTokensToKeep` tokens pass:
 * cutoff ← min(cutoff, m-th largest z). Call inside a tidy.
 */
export function keepAtLeast(z: tf.Tensor2D, cutoff: tf.Tensor, minTokensToKeep: number): tf.Tensor {
  const m = Math.min(minTokensToKeep, z.shape[1]);
  if (m < 1) return cutoff;
  const kth = tf.slice(tf.topk(z, m).values, [0, m - 1], [-1, 1]); // [B, 1]
  return tf.minimum(cutoff, kth);
}

/**
 * The nucleus rule over an arbitrary ranking: sort tokens by `score`
 * (descending), keep the shortest prefix whose probability mass reaches
 * `mass` (a token is kept iff the mass strictly before it is < mass), and
 * always the first `minTokensToKeep`. Returns the keep mask [B, V] in the
 * original order (ties in score at the boundary are all kept). Call inside a tidy.
 *
 * `probs` is the distribution [B, V]; pass `'score-is-logits'` when `score`
 * are the logits themselves (top-p), so the sorted probabilities come from the
 * sorted values and no gather is needed. Otherwise they are put in sorted
 * order with a flat gather: gather with `batchDims = 1` returns wrong rows on
 * the wasm backend (tfjs 4.22).
 */
export function nucleusMask(
  score: tf.Tensor2D,
  probs: tf.Tensor2D | 'score-is-logits',
  mass: number,
  minTokensToKeep: number,
): tf.Tensor {
  const v = score.shape[1];
  const { values, indices } = tf.topk(score, v); // [B, V] descending
  const sortedProbs =
    probs === 'score-is-logits'
      ? tf.exp(tf.sub(values, tf.logSumExp(values, 1, true)))
      : sortRows(probs, indices);
  const before = tf.cumsum(sortedProbs, 1, true); // exclusive cumulative mass
  const rank = tf.reshape(tf.range(0, v, 1, 'int32'), [1, v]);
  const keepSorted = tf.logicalOr(
    tf.less(before, mass - MASS_TOLERANCE),
    tf.less(rank, minTokensToKeep),
  );
  const cutoff = tf.min(tf.where(keepSorted, values, tf.fill(values.shape, Infinity)), 1, true); // [B, 1]
  return tf.greaterEqual(score, cutoff);
}

/** x[b, indices[b, j]] for every b, j, through a flat gather. Call inside a tidy. */
function sortRows(x: tf.Tensor2D, indices: tf.Tensor2D): tf.Tensor2D {
  const [b, v] = x.shape;
  const rowStart = tf.reshape(tf.range(0, b * v, v, 'int32'), [b, 1]); // 0, V, 2V, …
  const flat = tf.reshape(tf.add(indices, rowStart), [b * v]);
  return tf.reshape(tf.gather(tf.reshape(x, [b * v]), flat), [b, v]);
}

/** Σ p log p with 0·log 0 = 0, per row [B, 1]: the negative entropy. Call inside a tidy. */
export function negEntropy(logp: tf.Tensor2D): tf.Tensor {
  const p = tf.exp(logp);
  const plogp = tf.where(tf.greater(p, 0), tf.mul(p, logp), tf.zerosLike(p));
  return tf.sum(plogp, 1, true);
}

/** Checks that `ctx.tokens` has one row per batch row and ids in [0, V). */
export function checkContext(
  where: string,
  ctx: TokenContext | undefined,
  b: number,
  v: number,
): readonly (readonly number[])[] {
  const rows = ctx?.tokens;
  if (!rows || rows.length !== b) {
    throw new SculptError(
      where,
      `ctx.tokens must hold one token array per batch row (${b})`,
      `got ${rows ? rows.length : 'none'}`,
      'pass { tokens: number[][], step }',
    );
  }
  for (const row of rows) {
    for (const t of row) {
      if (!Number.isInteger(t) || t < 0 || t >= v) {
        throw new SculptError(where, `token ids must be integers in [0, ${v})`, `got ${t}`);
      }
    }
  }
  return rows;
}

/**
 * Per-row counts of token ids as a float32 [B, V] tensor (scatterND sums
 * duplicate indices). Only the indices travel to the device. Call inside a tidy.
 */
export function countTokens(rows: readonly (readonly number[])[], v: number): tf.Tensor2D {
  const b = rows.length;
  let n = 0;
  for (const row of rows) n += row.length;
  if (n === 0) return tf.zeros([b, v]) as tf.Tensor2D;
  const idx = new Int32Array(2 * n);
  let k = 0;
  rows.forEach((row, r) => {
    for (const t of row) {
      idx[k++] = r;
      idx[k++] = t;
    }
  });
  return tf.scatterND(tf.tensor2d(idx, [n, 2], 'int32'), tf.ones([n]), [b, v]) as tf.Tensor2D;
}
