import { Rng } from '@sculpt/core';
import { describe, expect, it } from 'vitest';
import { kernelInceptionDistance } from './kid.js';
import { featureMatrix } from './linalg.js';

/** E[k(x, y)] for independent x ~ N(μp, diag σp²), y ~ N(μq, diag σq²) and k = (xᵀy/d + 1)³. */
function expectedKernel(mp: number[], sp: number[], mq: number[], sq: number[]): number {
  const d = mp.length;
  const m2 = (m: number[], s: number[], i: number, j: number) =>
    m[i] * m[j] + (i === j ? s[i] ** 2 : 0);
  const m3 = (m: number[], s: number[], i: number, j: number, k: number) =>
    m[i] * m[j] * m[k] +
    (i === j ? s[i] ** 2 * m[k] : 0) +
    (i === k ? s[i] ** 2 * m[j] : 0) +
    (j === k ? s[j] ** 2 * m[i] : 0);
  let e1 = 0;
  let e2 = 0;
  let e3 = 0;
  for (let i = 0; i < d; i++) {
    e1 += mp[i] * mq[i];
    for (let j = 0; j < d; j++) {
      e2 += m2(mp, sp, i, j) * m2(mq, sq, i, j);
      for (let k = 0; k < d; k++) e3 += m3(mp, sp, i, j, k) * m3(mq, sq, i, j, k);
    }
  }
  return e3 / d ** 3 + (3 * e2) / d ** 2 + (3 * e1) / d + 1;
}

function sample(rng: Rng, n: number, mean: number[], std: number[]) {
  const d = mean.length;
  const z = rng.normalArray(n * d);
  for (let i = 0; i < n * d; i++) z[i] = mean[i % d] + std[i % d] * z[i];
  return featureMatrix(z, n, d);
}

describe('kernelInceptionDistance', () => {
  it('is unbiased: its mean over many small sets matches the closed-form MMD²', () => {
    const p = { m: [0, 0, 0], s: [1, 1, 1] };
    const q = { m: [0.4, -0.2, 0], s: [1.3, 1, 0.7] };
    const truth =
      expectedKernel(p.m, p.s, p.m, p.s) +
      expectedKernel(q.m, q.s, q.m, q.s) -
      2 * expectedKernel(p.m, p.s, q.m, q.s);
    const rng = new Rng(0);
    const reps = 400;
    const values: number[] = [];
    for (let r = 0; r < reps; r++) {
      values.push(
        kernelInceptionDistance(sample(rng, 40, p.m, p.s), sample(rng, 40, q.m, q.s), {
          numSubsets: 1,
        }).kid,
      );
    }
    const mean = values.reduce((s, v) => s + v, 0) / reps;
    const se = Math.sqrt(values.reduce((s, v) => s + (v - mean) ** 2, 0) / (reps - 1) / reps);
    expect(truth).toBeGreaterThan(0.1);
    expect(Math.abs(mean - truth)).toBeLessThan(4 * se);
  });

  it('is centred on 0 for one distribution (a biased estimator would be positive)', () => {
    const rng = new Rng(1);
    const values: number[] = [];
    for (let r = 0; r < 400; r++)
      values.push(
        kernelInceptionDistance(sample(rng, 30, [1, 0], [1, 2]), sample(rng, 30, [1, 0], [1, 2]), {
          numSubsets: 1,
        }).kid,
      );
    const mean = values.reduce((s, v) => s + v, 0) / values.length;
    const se = Math.sqrt(
      values.reduce((s, v) => s + (v - mean) ** 2, 0) / (values.length - 1) / values.length,
    );
    expect(Math.abs(mean)).toBeLessThan(4 * se);
    expect(values.some((v) => v < 0)).toBe(true);
  });

  it('subsets are seeded and need an rng', () => {
    const rng = new Rng(2);
    const a = sample(rng, 200, [0, 0], [1, 1]);
    const b = sample(rng, 200, [0.5, 0], [1, 1]);
    const r1 = kernelInceptionDistance(a, b, { numSubsets: 5, subsetSize: 100, rng: new Rng(7) });
    const r2 = kernelInceptionDistance(a, b, { numSubsets: 5, subsetSize: 100, rng: new Rng(7) });
    expect(r1).toEqual(r2);
    expect(r1.subsets).toHaveLength(5);
    expect(r1.std).toBeGreaterThan(0);
    expect(() => kernelInceptionDistance(a, b, { numSubsets: 5, subsetSize: 100 })).toThrow(
      /random subsets need an rng/,
    );
  });
});
