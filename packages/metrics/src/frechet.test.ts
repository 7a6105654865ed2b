import { Rng } from '@sculpt/core';
import { describe, expect, it } from 'vitest';
import { frechetDistance } from './frechet.js';
import {
  featureMatrix,
  type GaussianStats,
  gaussianStats,
  matMul64,
  sqrtPsd,
  symmetricEigen,
} from './linalg.js';

/** Samples N(mean, L·Lᵀ) as a feature matrix. */
function sampleGaussian(rng: Rng, n: number, mean: number[], chol: number[][]) {
  const d = mean.length;
  const z = rng.normalArray(n * d);
  const data = new Float64Array(n * d);
  for (let i = 0; i < n; i++)
    for (let a = 0; a < d; a++) {
      let v = mean[a];
      for (let b = 0; b <= a; b++) v += chol[a][b] * z[i * d + b];
      data[i * d + a] = v;
    }
  return featureMatrix(data, n, d);
}

const stats = (mean: number[], cov: number[]): GaussianStats => ({
  mean: Float64Array.from(mean),
  cov: Float64Array.from(cov),
  dim: mean.length,
  count: 0,
});

describe('linear algebra', () => {
  it('Jacobi eigendecomposition and PSD square root are accurate on a random 48-d SPD matrix', () => {
    const d = 48;
    const rng = new Rng(0);
    const g = rng.normalArray(d * d);
    const a = new Float64Array(d * d);
    for (let i = 0; i < d; i++)
      for (let j = 0; j < d; j++) {
        let s = 0;
        for (let k = 0; k < d; k++) s += g[i * d + k] * g[j * d + k];
        a[i * d + j] = s / d + (i === j ? 0.1 : 0);
      }
    const { values, vectors } = symmetricEigen(a, d);
    // A·v_k = λ_k v_k for every k.
    let worst = 0;
    for (let k = 0; k < d; k++)
      for (let i = 0; i < d; i++) {
        let av = 0;
        for (let j = 0; j < d; j++) av += a[i * d + j] * vectors[j * d + k];
        worst = Math.max(worst, Math.abs(av - values[k] * vectors[i * d + k]));
      }
    expect(worst).toBeLessThan(1e-10);
    const root = sqrtPsd(a, d);
    const back = matMul64(root, root, d);
    let err = 0;
    for (let i = 0; i < d * d; i++) err = Math.max(err, Math.abs(back[i] - a[i]));
    expect(err).toBeLessThan(1e-10);
  });
});

describe('frechetDistance', () => {
  it('matches the closed form for diagonal covariances: ‖Δμ‖² + Σ(σ₁ − σ₂)²', () => {
    const a = stats([0, 1, 2], [1, 0, 0, 0, 4, 0, 0, 0, 9]);
    const b = stats([1, 1, 0], [4, 0, 0, 0, 4, 0, 0, 0, 0.25]);
    const expected = 1 + 0 + 4 + (1 - 2) ** 2 + 0 + (3 - 0.5) ** 2;
    expect(frechetDistance(a, b).fd).toBeCloseTo(expected, 10);
    expect(frechetDistance(a, a).fd).toBeCloseTo(0, 10);
  });

  it('matches the closed form for non-commuting 2×2 covariances: tr √M = √(tr M + 2√det M)', () => {
    // Σ₁ = I, so FD = ‖Δμ‖² + 2 + tr Σ₂ − 2 tr √Σ₂.
    const cov2 = [2, 0.9, 0.9, 1];
    const trSqrt = Math.sqrt(3 + 2 * Math.sqrt(2 - 0.81));
    const expected = 0.25 + 2 + 3 - 2 * trSqrt;
    const { fd, meanTerm } = frechetDistance(stats([0, 0], [1, 0, 0, 1]), stats([0.5, 0], cov2));
    expect(meanTerm).toBeCloseTo(0.25, 12);
    expect(fd).toBeCloseTo(expected, 10);
    // Symmetric in its arguments even when the covariances do not commute.
    const c = stats([0, 0], [1, -0.5, -0.5, 3]);
    expect(frechetDistance(c, stats([0, 0], cov2)).fd).toBeCloseTo(
      frechetDistance(stats([0, 0], cov2), c).fd,
      10,
    );
  });

  it('estimated from samples, approaches the closed form', () => {
    const rng = new Rng(1);
    const chol = [
      [1, 0, 0],
      [0.5, 1, 0],
      [0.2, -0.3, 0.8],
    ];
    const x = sampleGaussian(rng, 20_000, [0, 0, 0], chol);
    const y = sampleGaussian(rng, 20_000, [1, 0, 0], chol);
    // Same covariance: FD = ‖Δμ‖² = 1 (plus an O(d/n) estimation bias).
    expect(frechetDistance(x, y).fd).toBeGreaterThan(0.97);
    expect(frechetDistance(x, y).fd).toBeLessThan(1.03);
    const s = gaussianStats(x);
    expect(s.cov[0]).toBeCloseTo(1, 1);
    expect(s.cov[1 * 3 + 0]).toBeCloseTo(0.5, 1);
  });

  it('rejects mismatched dimensions', () => {
    expect(() => frechetDistance(stats([0], [1]), stats([0, 0], [1, 0, 0, 1]))).toThrow(
      /same feature dimension, got 1 and 2/,
    );
  });
});
