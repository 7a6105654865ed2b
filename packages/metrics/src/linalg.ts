import { SculptError } from '@sculpt/core';

/**
 * A matrix of feature vectors on the CPU, one row per sample — what every
 * distribution metric in @sculpt/metrics takes. Row-major.
 */
export interface FeatureMatrix {
  /** `rows × cols` values, row-major. */
  readonly data: Float32Array | Float64Array;
  /** Number of samples. */
  readonly rows: number;
  /** Feature dimension. */
  readonly cols: number;
}

/**
 * Wraps a flat array as a {@link FeatureMatrix}, checking its length.
 *
 * @param data - `rows × cols` values, row-major (not copied).
 * @param rows - number of samples.
 * @param cols - feature dimension.
 * @returns the matrix view.
 * @example
 * const feats = featureMatrix(new Float32Array(await t.data()), t.shape[0], t.shape[1]);
 */
export function featureMatrix(
  data: Float32Array | Float64Array,
  rows: number,
  cols: number,
): FeatureMatrix {
  if (!Number.isInteger(rows) || !Number.isInteger(cols) || data.length !== rows * cols) {
    throw new SculptError(
      'featureMatrix',
      `data length must equal rows·cols = ${rows}·${cols}`,
      `got ${data.length}`,
    );
  }
  return { data, rows, cols };
}

/** Mean vector and covariance matrix (float64) of a set of features. */
export interface GaussianStats {
  /** `[d]` mean. */
  readonly mean: Float64Array;
  /** `[d·d]` covariance, row-major, with the unbiased `1/(n−1)` normalisation. */
  readonly cov: Float64Array;
  /** Dimension `d`. */
  readonly dim: number;
  /** Number of samples the statistics came from. */
  readonly count: number;
}

/**
 * Mean and unbiased covariance of the rows of `x`, in float64.
 *
 * @param x - at least 2 rows.
 * @returns {@link GaussianStats}.
 * @example
 * const stats = gaussianStats(realFeatures); // cache it: FD against many models reuses it
 */
export function gaussianStats(x: FeatureMatrix): GaussianStats {
  const { rows: n, cols: d, data } = x;
  if (n < 2) throw new SculptError('gaussianStats', 'need at least 2 samples', `got ${n}`);
  if (!Number.isInteger(d) || d < 1 || data.length !== n * d)
    throw new SculptError(
      'gaussianStats',
      'expected data of rows × cols values',
      `got ${data.length} values for ${n} × ${d}`,
      'pass { data, rows, cols } with data.length === rows * cols',
    );
  const mean = new Float64Array(d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) mean[j] += data[i * d + j];
  for (let j = 0; j < d; j++) mean[j] /= n;
  const cov = new Float64Array(d * d);
  const row = new Float64Array(d);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < d; j++) row[j] = data[i * d + j] - mean[j];
    for (let a = 0; a < d; a++) {
      const ra = row[a];
      if (ra === 0) continue;
      for (let b = a; b < d; b++) cov[a * d + b] += ra * row[b];
    }
  }
  for (let a = 0; a < d; a++) {
    for (let b = a; b < d; b++) {
      const v = cov[a * d + b] / (n - 1);
      cov[a * d + b] = v;
      cov[b * d + a] = v;
    }
  }
  return { mean, cov, dim: d, count: n };
}

/**
 * Eigendecomposition of a symmetric matrix by the cyclic Jacobi method, in
 * float64 (accurate to ~1e-12 relative; O(d³) per sweep, fine for d ≤ ~256).
 *
 * @param a - `[d·d]` symmetric matrix, row-major (not modified).
 * @param d - dimension.
 * @returns `{ values: [d], vectors: [d·d] }` with eigenvector `k` in column `k` (`vectors[i·d + k]`).
 * @example
 * const { values } = symmetricEigen(Float64Array.from([2, 1, 1, 2]), 2); // 1 and 3
 */
export function symmetricEigen(
  a: Float64Array,
  d: number,
): { values: Float64Array; vectors: Float64Array } {
  const m = Float64Array.from(a);
  const v = new Float64Array(d * d);
  for (let i = 0; i < d; i++) v[i * d + i] = 1;
  let scale = 0;
  for (let i = 0; i < d * d; i++) scale += m[i] * m[i];
  const tolerance = 1e-24 * Math.max(scale, Number.MIN_VALUE);
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    for (let p = 0; p < d; p++) for (let q = p + 1; q < d; q++) off += m[p * d + q] * m[p * d + q];
    if (off <= tolerance) break;
    for (let p = 0; p < d - 1; p++) for (let q = p + 1; q < d; q++) rotate(m, v, d, p, q);
  }
  const values = new Float64Array(d);
  for (let i = 0; i < d; i++) values[i] = m[i * d + i];
  return { values, vectors: v };
}

/** One Jacobi rotation zeroing m[p][q] (Golub & Van Loan, Alg. 8.5.2). */
function rotate(m: Float64Array, v: Float64Array, d: number, p: number, q: number): void {
  const apq = m[p * d + q];
  if (apq === 0) return;
  const theta = (m[q * d + q] - m[p * d + p]) / (2 * apq);
  const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
  const c = 1 / Math.sqrt(t * t + 1);
  const s = t * c;
  for (let k = 0; k < d; k++) {
    const mkp = m[k * d + p];
    const mkq = m[k * d + q];
    m[k * d + p] = c * mkp - s * mkq;
    m[k * d + q] = s * mkp + c * mkq;
  }
  for (let k = 0; k < d; k++) {
    const mpk = m[p * d + k];
    const mqk = m[q * d + k];
    m[p * d + k] = c * mpk - s * mqk;
    m[q * d + k] = s * mpk + c * mqk;
  }
  for (let k = 0; k < d; k++) {
    const vkp = v[k * d + p];
    const vkq = v[k * d + q];
    v[k * d + p] = c * vkp - s * vkq;
    v[k * d + q] = s * vkp + c * vkq;
  }
}

/**
 * Square root of a symmetric positive semi-definite matrix, `V·diag(√max(λ,0))·Vᵀ`
 * (tiny negative eigenvalues from round-off are clamped to 0).
 *
 * @param a - `[d·d]` symmetric PSD matrix.
 * @param d - dimension.
 * @returns a new `[d·d]` symmetric matrix `S` with `S·S ≈ a`.
 * @example
 * const s = sqrtPsd(Float64Array.from([4, 0, 0, 9]), 2); // [2, 0, 0, 3]
 */
export function sqrtPsd(a: Float64Array, d: number): Float64Array {
  const { values, vectors } = symmetricEigen(a, d);
  const out = new Float64Array(d * d);
  for (let k = 0; k < d; k++) {
    const s = Math.sqrt(Math.max(values[k], 0));
    if (s === 0) continue;
    for (let i = 0; i < d; i++) {
      const vik = vectors[i * d + k] * s;
      for (let j = 0; j < d; j++) out[i * d + j] += vik * vectors[j * d + k];
    }
  }
  return out;
}

/** `a·b` for square `[d·d]` matrices (float64). */
export function matMul64(a: Float64Array, b: Float64Array, d: number): Float64Array {
  const out = new Float64Array(d * d);
  for (let i = 0; i < d; i++) {
    for (let k = 0; k < d; k++) {
      const aik = a[i * d + k];
      if (aik === 0) continue;
      for (let j = 0; j < d; j++) out[i * d + j] += aik * b[k * d + j];
    }
  }
  return out;
}
