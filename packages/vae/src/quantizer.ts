// Vector quantisation (van den Oord et al. 2017, "Neural Discrete Representation
// Learning"): nearest code, straight-through gradient, commitment loss, EMA
// codebook (app. A.1: N_k ← γN_k + (1−γ)n_k, m_k ← γm_k + (1−γ)Σ z, e_k = m_k/N_k,
// with Laplace-smoothed N_k), k-means initialisation and codebook usage.
import type { Rng } from '@sculpt/core';
import * as tf from '@tensorflow/tfjs-core';

/**
 * Identity forward, zero gradient: sg(x) of the VQ-VAE loss.
 * @returns the caller owns it.
 */
export function stopGradient<T extends tf.Tensor>(x: T): T {
  const f = (a: tf.Tensor) => ({ value: a.clone(), gradFunc: (dy: tf.Tensor) => tf.zerosLike(dy) });
  return tf.customGrad(f as unknown as Parameters<typeof tf.customGrad>[0])(x) as T;
}

/** Squared distances ‖z_n − e_k‖² `[N, K]` of `z` `[N, D]` to `codebook` `[K, D]`. */
export function codeDistances(z: tf.Tensor2D, codebook: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => {
    const zz = tf.sum(tf.square(z), 1, true); // [N, 1]
    const ee = tf.reshape(tf.sum(tf.square(codebook), 1), [1, codebook.shape[0]]); // [1, K]
    // 2·z·e as z·(2e): the same floats (doubling is exact), one multiply over [K, D] instead of
    // [N, K]; an explicit transpose: matMul's transposeB flag is slow on wasm
    const ze2 = tf.matMul(z, tf.transpose(tf.mul(codebook, 2))); // [N, K]
    return tf.add(tf.sub(zz, ze2), ee) as tf.Tensor2D;
  });
}

/** Index of the nearest code per row: int32 `[N]`. @returns the caller owns it. */
export function nearestCodes(z: tf.Tensor2D, codebook: tf.Tensor2D): tf.Tensor1D {
  return tf.tidy(() => tf.argMin(codeDistances(z, codebook), 1) as tf.Tensor1D);
}

/** Float one-hot `[N, K]` of int32 indices (cast: a float oneHot is wrong on wasm). */
export function oneHotCodes(indices: tf.Tensor1D, numCodes: number): tf.Tensor2D {
  return tf.tidy(() => tf.cast(tf.oneHot(indices, numCodes), 'float32') as tf.Tensor2D);
}

/** What {@link quantize} returns; the caller owns every tensor. */
export interface Quantized {
  /** Nearest code per row, int32 `[N]`. */
  indices: tf.Tensor1D;
  /** Their one-hot, `[N, K]`. */
  oneHot: tf.Tensor2D;
  /** z + sg(e − z): the code vectors forward, the identity backward (straight-through), `[N, D]`. */
  quantized: tf.Tensor2D;
  /** ‖z − sg(e)‖² averaged over rows and dims (times β it is the commitment loss). */
  commitment: tf.Scalar;
}

/**
 * Quantises encoder outputs `z` `[N, D]` against `codebook` `[K, D]` with a
 * straight-through gradient to `z` (no gradient reaches the codebook: it is
 * updated by EMA).
 * @example `const q = quantize(z, model.codebook); q.quantized // → decoder`
 */
export function quantize(z: tf.Tensor2D, codebook: tf.Tensor2D): Quantized {
  let found: { indices: tf.Tensor1D; oneHot: tf.Tensor2D; e: tf.Tensor2D } | undefined;
  // One custom-gradient op z ↦ z + (e − z) whose gradient is the identity (straight-through).
  // The nearest codes are found inside its forward pass, which tfjs keeps off the gradient
  // tape: no zero gradients flow back through the distances, argMin and oneHot, and e is a
  // constant of the commitment term (sg(e)) without stop-gradient ops.
  const straightThrough = tf.customGrad(((x: tf.Tensor2D) => {
    const indices = tf.keep(nearestCodes(x, codebook));
    const oneHot = tf.keep(oneHotCodes(indices, codebook.shape[0]));
    // a gather of the rows: the same floats as oneHot·codebook (1·e_k plus zeros), no product
    const e = tf.keep(tf.gather(codebook, indices)) as tf.Tensor2D; // [N, D]
    found = { indices, oneHot, e };
    return { value: tf.add(x, tf.sub(e, x)), gradFunc: (dy: tf.Tensor) => dy };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return tf.tidy(() => {
    const quantized = straightThrough(z) as tf.Tensor2D;
    if (found === undefined) throw new Error('quantize: the forward pass did not run');
    const { e } = found;
    const commitment = tf.mean(tf.square(tf.sub(z, e))) as tf.Scalar;
    // kept tensors escape every tidy: hand the caller tracked ones
    const indices = tf.clone(found.indices);
    const oneHot = tf.clone(found.oneHot);
    tf.dispose([found.indices, found.oneHot, e]);
    return { indices, oneHot, quantized, commitment };
  });
}

/** The EMA state of a codebook (owned by the model). */
export interface EmaCodebook {
  /** `[K, D]` code vectors e_k. */
  codebook: tf.Variable;
  /** `[K]` EMA cluster sizes N_k. */
  counts: tf.Variable;
  /** `[K, D]` EMA sums m_k. */
  sums: tf.Variable;
}

/**
 * One EMA step from a batch's `oneHot` `[N, K]` and encodings `z` `[N, D]`:
 * N ← γN + (1−γ)Σ₁ oneHot, m ← γm + (1−γ)oneHotᵀz, e_k = m_k / Ñ_k with
 * Ñ_k = (N_k + ε)/(ΣN + Kε)·ΣN (Laplace smoothing keeps unused codes finite).
 */
export function emaUpdate(
  ema: EmaCodebook,
  oneHot: tf.Tensor2D,
  z: tf.Tensor2D,
  decay: number,
  epsilon: number,
): void {
  tf.tidy(() => {
    const k = oneHot.shape[1];
    const counts = tf.add(tf.mul(decay, ema.counts), tf.mul(1 - decay, tf.sum(oneHot, 0)));
    const batchSums = tf.matMul(tf.transpose(oneHot), z); // [K, D]
    const sums = tf.add(tf.mul(decay, ema.sums), tf.mul(1 - decay, batchSums));
    const n = tf.sum(counts);
    const smoothed = tf.mul(tf.div(tf.add(counts, epsilon), tf.add(n, k * epsilon)), n);
    ema.counts.assign(counts);
    ema.sums.assign(sums);
    ema.codebook.assign(tf.div(sums, tf.reshape(smoothed, [k, 1])));
  });
}

/**
 * k-means (Lloyd, `iterations` rounds) of the rows of `z` `[N, D]` into the
 * codebook, seeded by K distinct random rows (with repeats if N < K); sets
 * N_k to the cluster sizes and m_k = N_k·e_k. Runs once, before the first step.
 */
export function kmeansInit(ema: EmaCodebook, z: tf.Tensor2D, rng: Rng, iterations = 10): void {
  const [n] = z.shape;
  const k = ema.codebook.shape[0];
  const picks = n >= k ? rng.permutation(n).slice(0, k) : rng.integers(k, 0, n);
  let centres = tf.tidy(() => tf.gather(z, tf.tensor1d(Array.from(picks), 'int32'))) as tf.Tensor2D;
  let sizes = tf.zeros([k]) as tf.Tensor1D;
  for (let i = 0; i < iterations; i++) {
    const next = tf.tidy(() => {
      const oneHot = oneHotCodes(nearestCodes(z, centres), k);
      const counts = tf.sum(oneHot, 0) as tf.Tensor1D;
      const sums = tf.matMul(tf.transpose(oneHot), z);
      const mean = tf.div(sums, tf.reshape(tf.maximum(counts, 1), [k, 1]));
      // an empty cluster keeps its centre
      const keep = tf.reshape(tf.equal(counts, 0), [k, 1]);
      return { c: tf.where(keep, centres, mean) as tf.Tensor2D, counts };
    });
    tf.dispose([centres, sizes]);
    centres = next.c;
    sizes = next.counts;
  }
  ema.codebook.assign(centres);
  ema.counts.assign(sizes);
  tf.tidy(() => ema.sums.assign(tf.mul(centres, tf.reshape(sizes, [k, 1]))));
  tf.dispose([centres, sizes]);
}

/**
 * Restarts the codes whose `usage` count is 0: each takes a random row of `z`
 * `[N, D]` as its vector, with N_k = 1 and m_k = e_k. @returns how many were restarted.
 */
export async function restartDeadCodes(
  ema: EmaCodebook,
  usage: tf.Tensor1D,
  z: tf.Tensor2D,
  rng: Rng,
): Promise<number> {
  const used = await usage.data();
  const dead: number[] = [];
  used.forEach((u, i) => {
    if (u === 0) dead.push(i);
  });
  if (dead.length === 0) return 0;
  const rows = Array.from(rng.integers(dead.length, 0, z.shape[0]));
  tf.tidy(() => {
    const k = ema.codebook.shape[0];
    const mask = tf.tensor2d(
      Array.from({ length: k }, (_, i) => (dead.includes(i) ? 1 : 0)),
      [k, 1],
    );
    const picked = tf.gather(z, tf.tensor1d(rows, 'int32')); // [dead, D]
    // scatter the picked rows to the dead codes' rows by a one-hot matMul
    const toK = tf.transpose(oneHotCodes(tf.tensor1d(dead, 'int32'), k)); // [K, dead]
    const fresh = tf.matMul(toK, picked); // [K, D]
    const inv = tf.sub(1, mask);
    ema.codebook.assign(tf.add(tf.mul(inv, ema.codebook), fresh));
    ema.sums.assign(tf.add(tf.mul(inv, ema.sums), fresh));
    ema.counts.assign(tf.add(tf.mul(tf.reshape(inv, [k]), ema.counts), tf.reshape(mask, [k])));
  });
  return dead.length;
}

/** Codebook usage of accumulated code counts `[K]`. */
export interface CodebookUsage {
  /** exp(entropy) of the code frequencies: K when uniform, 1 when one code. */
  perplexity: number;
  /** Codes used at least once. */
  codesUsed: number;
  /** codesUsed / K. */
  fractionUsed: number;
  /** Encodings counted. */
  total: number;
}

/** Perplexity and codes used from counts accumulated over many batches (an epoch). */
export function codebookUsage(counts: ArrayLike<number>): CodebookUsage {
  let total = 0;
  let used = 0;
  for (let i = 0; i < counts.length; i++) {
    total += counts[i];
    if (counts[i] > 0) used++;
  }
  let entropy = 0;
  for (let i = 0; i < counts.length; i++)
    if (counts[i] > 0) entropy -= (counts[i] / total) * Math.log(counts[i] / total);
  return {
    perplexity: total > 0 ? Math.exp(entropy) : 0,
    codesUsed: used,
    fractionUsed: used / counts.length,
    total,
  };
}
