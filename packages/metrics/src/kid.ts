import { type Rng, SculptError } from '@sculpt/core';
import type { FeatureMatrix } from './linalg.js';

/** Options of {@link kernelInceptionDistance}. */
export interface KidOptions {
  /** Number of random subsets to average over. Default `10`. With `1` and `subsetSize` ≥ both sizes, the full sets are used (no `rng` needed). */
  numSubsets?: number;
  /** Samples per subset drawn from each set (without replacement). Default `min(1000, a.rows, b.rows)`. */
  subsetSize?: number;
  /** Randomness for the subsets; required unless the full sets are used. */
  rng?: Rng;
}

/**
 * Kernel Inception Distance (Bińkowski et al. 2018) on our classifier's
 * features: the unbiased estimator of the squared MMD with the cubic
 * polynomial kernel `k(x, y) = (xᵀy / d + 1)³`, averaged over random subsets.
 * Unlike FD it is unbiased: its expectation is the true MMD², which is 0 when
 * both sets come from one distribution (estimates can then be slightly negative).
 *
 * @param a - features of set A (≥ 2 rows).
 * @param b - features of set B (≥ 2 rows), same width.
 * @param options - `numSubsets` (10), `subsetSize` (min(1000, sizes)), `rng`.
 * @returns `{ kid, std, subsets }`: mean MMD² over subsets, its standard deviation across subsets, and each subset's value.
 * @example
 * const { kid, std } = kernelInceptionDistance(real, fake, { rng: new Rng(0) });
 */
export function kernelInceptionDistance(
  a: FeatureMatrix,
  b: FeatureMatrix,
  options: KidOptions = {},
): { kid: number; std: number; subsets: number[] } {
  if (a.cols !== b.cols)
    throw new SculptError(
      'kernelInceptionDistance',
      'both sets need the same feature dimension',
      `got ${a.cols} and ${b.cols}`,
    );
  const m = options.subsetSize ?? Math.min(1000, a.rows, b.rows);
  const numSubsets = options.numSubsets ?? 10;
  if (m < 2 || m > a.rows || m > b.rows) {
    throw new SculptError(
      'kernelInceptionDistance',
      `subsetSize must be in [2, min(sizes) = ${Math.min(a.rows, b.rows)}]`,
      `got ${m}`,
    );
  }
  const full = numSubsets === 1 && m === a.rows && m === b.rows;
  if (!full && !options.rng) {
    throw new SculptError(
      'kernelInceptionDistance',
      'random subsets need an rng',
      'got none',
      'pass { rng: new Rng(seed) }, or numSubsets: 1 with subsetSize equal to both sizes',
    );
  }
  const subsets: number[] = [];
  for (let s = 0; s < numSubsets; s++) {
    const ia = full ? undefined : options.rng?.permutation(a.rows).subarray(0, m);
    const ib = full ? undefined : options.rng?.permutation(b.rows).subarray(0, m);
    subsets.push(mmd2Unbiased(a, ia, b, ib, m));
  }
  const kid = subsets.reduce((s, v) => s + v, 0) / numSubsets;
  const std =
    numSubsets > 1
      ? Math.sqrt(subsets.reduce((s, v) => s + (v - kid) ** 2, 0) / (numSubsets - 1))
      : 0;
  return { kid, std, subsets };
}

/** Unbiased MMD² between m rows of x (indices ix) and m rows of y (indices iy). */
function mmd2Unbiased(
  x: FeatureMatrix,
  ix: Int32Array | undefined,
  y: FeatureMatrix,
  iy: Int32Array | undefined,
  m: number,
): number {
  const d = x.cols;
  const rows = (f: FeatureMatrix, idx: Int32Array | undefined) => {
    const out = new Float64Array(m * d);
    for (let i = 0; i < m; i++) {
      const r = idx ? idx[i] : i;
      for (let j = 0; j < d; j++) out[i * d + j] = f.data[r * d + j];
    }
    return out;
  };
  const xs = rows(x, ix);
  const ys = rows(y, iy);
  const k = (p: Float64Array, i: number, q: Float64Array, j: number) => {
    let dot = 0;
    for (let t = 0; t < d; t++) dot += p[i * d + t] * q[j * d + t];
    return (dot / d + 1) ** 3;
  };
  let kxx = 0;
  let kyy = 0;
  let kxy = 0;
  for (let i = 0; i < m; i++) {
    for (let j = i + 1; j < m; j++) {
      kxx += k(xs, i, xs, j);
      kyy += k(ys, i, ys, j);
    }
    for (let j = 0; j < m; j++) kxy += k(xs, i, ys, j);
  }
  // Off-diagonal sums counted once above: Σ_{i≠j} = 2·Σ_{i<j}.
  return (2 * kxx) / (m * (m - 1)) + (2 * kyy) / (m * (m - 1)) - (2 * kxy) / (m * m);
}
