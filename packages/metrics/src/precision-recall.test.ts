import { Rng } from '@sculpt/core';
import { describe, expect, it } from 'vitest';
import { featureMatrix } from './linalg.js';
import { precisionRecall } from './precision-recall.js';

function gaussian2d(rng: Rng, n: number, shift = 0, halfPlane = false) {
  const out = new Float32Array(2 * n);
  let i = 0;
  while (i < n) {
    const [x, y] = rng.normalArray(2);
    if (halfPlane && x < 0) continue;
    out[2 * i] = x + shift;
    out[2 * i + 1] = y;
    i++;
  }
  return featureMatrix(out, n, 2);
}

describe('precisionRecall', () => {
  it('is (1, 1) for identical sets and (0, 0) for far-apart sets', () => {
    const rng = new Rng(0);
    const real = gaussian2d(rng, 500);
    expect(precisionRecall(real, real)).toEqual({ precision: 1, recall: 1 });
    expect(precisionRecall(real, gaussian2d(rng, 500, 100))).toEqual({ precision: 0, recall: 0 });
  });

  it('separates quality from coverage: half the modes → high precision, recall near 1/2', () => {
    const rng = new Rng(1);
    const real = gaussian2d(rng, 1000);
    const half = gaussian2d(rng, 1000, 0, true);
    const { precision, recall } = precisionRecall(real, half);
    expect(precision).toBeGreaterThan(0.95);
    expect(recall).toBeGreaterThan(0.4);
    expect(recall).toBeLessThan(0.65);
    // Two independent draws of the same distribution: both high.
    const other = precisionRecall(real, gaussian2d(rng, 1000));
    expect(other.precision).toBeGreaterThan(0.9);
    expect(other.recall).toBeGreaterThan(0.9);
  });

  it('rejects k ≥ set size', () => {
    const rng = new Rng(2);
    expect(() => precisionRecall(gaussian2d(rng, 3), gaussian2d(rng, 10))).toThrow(
      /k must be a positive integer below both set sizes/,
    );
  });
});
