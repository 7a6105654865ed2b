import { SculptError } from '@sculpt/core';
import {
  type FeatureMatrix,
  type GaussianStats,
  gaussianStats,
  matMul64,
  sqrtPsd,
  symmetricEigen,
} from './linalg.js';

/**
 * Fréchet distance between two feature distributions, each summarised by a
 * Gaussian (Heusel et al. 2017, the "FID" formula on our classifier's features):
 *
 *   FD = ‖μ₁ − μ₂‖² + tr Σ₁ + tr Σ₂ − 2 tr (Σ₁^½ Σ₂ Σ₁^½)^½
 *
 * computed in float64 with symmetric eigendecompositions (Jacobi), so the
 * matrix square root never goes complex. Smaller is closer; 0 for identical stats.
 *
 * @param a - features of set A, or its cached {@link GaussianStats}.
 * @param b - features of set B, or its stats.
 * @returns `{ fd, meanTerm, covTerm }` in squared feature units (`fd = meanTerm + covTerm`).
 * @example
 * const { fd } = frechetDistance(realFeatures, fakeFeatures);
 */
export function frechetDistance(
  a: FeatureMatrix | GaussianStats,
  b: FeatureMatrix | GaussianStats,
): { fd: number; meanTerm: number; covTerm: number } {
  const sa = 'cov' in a ? a : gaussianStats(a);
  const sb = 'cov' in b ? b : gaussianStats(b);
  if (sa.dim !== sb.dim)
    throw new SculptError(
      'frechetDistance',
      'both sets need the same feature dimension',
      `got ${sa.dim} and ${sb.dim}`,
    );
  const d = sa.dim;
  let meanTerm = 0;
  for (let i = 0; i < d; i++) meanTerm += (sa.mean[i] - sb.mean[i]) ** 2;
  const root = sqrtPsd(sa.cov, d);
  const inner = matMul64(matMul64(root, sb.cov, d), root, d);
  // Symmetrise against round-off before the eigendecomposition.
  for (let i = 0; i < d; i++)
    for (let j = i + 1; j < d; j++)
      inner[i * d + j] = inner[j * d + i] = 0.5 * (inner[i * d + j] + inner[j * d + i]);
  const { values } = symmetricEigen(inner, d);
  let traceRoot = 0;
  for (const v of values) traceRoot += Math.sqrt(Math.max(v, 0));
  let traces = 0;
  for (let i = 0; i < d; i++) traces += sa.cov[i * d + i] + sb.cov[i * d + i];
  const covTerm = Math.max(0, traces - 2 * traceRoot);
  return { fd: meanTerm + covTerm, meanTerm, covTerm };
}
