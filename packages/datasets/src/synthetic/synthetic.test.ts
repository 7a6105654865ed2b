import { Rng } from '@sculpt/core';
import { describe, expect, it } from 'vitest';
import { makeImageSet } from '../image-set.js';
import { gaussianMixture2d, ringMixture, swissRoll, twoMoons } from './points.js';
import { shapeImages } from './shapes.js';
import { styleTransform, unpairedDigitDomains } from './unpaired.js';

describe('2-D point sets', () => {
  it('Gaussian mixture reproduces its weights, means and stds', () => {
    const components = [
      { weight: 3, mean: [1, -2] as [number, number], std: [0.5, 0.2] as [number, number] },
      { weight: 1, mean: [-3, 4] as [number, number], std: [0.1, 1] as [number, number] },
    ];
    const n = 40_000;
    const { points, labels } = gaussianMixture2d({ count: n, rng: new Rng(0), components });
    for (let k = 0; k < 2; k++) {
      const idx = [...labels.keys()].filter((i) => labels[i] === k);
      expect(idx.length / n).toBeCloseTo(components[k].weight / 4, 1);
      for (let d = 0; d < 2; d++) {
        const xs = idx.map((i) => points[2 * i + d]);
        const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
        const std = Math.sqrt(xs.reduce((s, x) => s + (x - mean) ** 2, 0) / xs.length);
        expect(Math.abs(mean - components[k].mean[d])).toBeLessThan(
          (5 * components[k].std[d]) / Math.sqrt(xs.length),
        );
        expect(std / components[k].std[d]).toBeGreaterThan(0.97);
        expect(std / components[k].std[d]).toBeLessThan(1.03);
      }
    }
    expect(ringMixture()).toHaveLength(8);
  });

  it('two moons lie on their unit half circles', () => {
    const { points, labels } = twoMoons({ count: 1000, rng: new Rng(1), noise: 0 });
    for (let i = 0; i < 1000; i++) {
      const [cx, cy] = labels[i] ? [1, 0.5] : [0, 0];
      expect(Math.hypot(points[2 * i] - cx, points[2 * i + 1] - cy)).toBeCloseTo(1, 5);
      expect(labels[i] ? points[2 * i + 1] <= 0.5 + 1e-6 : points[2 * i + 1] >= -1e-6).toBe(true);
    }
  });

  it('swiss roll radius grows with angle and the set is seeded', () => {
    const a = swissRoll({ count: 500, rng: new Rng(2), noise: 0 });
    const b = swissRoll({ count: 500, rng: new Rng(2), noise: 0 });
    expect(a.points).toEqual(b.points);
    for (let i = 0; i < 500; i++) {
      const r = Math.hypot(a.points[2 * i], a.points[2 * i + 1]) * 5;
      expect(r).toBeGreaterThanOrEqual(1.5 * Math.PI - 1e-4);
      expect(r).toBeLessThanOrEqual(4.5 * Math.PI + 1e-4);
    }
  });
});

describe('shapeImages', () => {
  it('draws balanced classes whose ink matches the analytic areas', () => {
    const size = 32;
    const set = shapeImages({ count: 300, rng: new Rng(3), size });
    expect(set.count).toBe(300);
    expect([0, 1, 2].map((k) => set.labels.filter((l) => l === k).length)).toEqual([100, 100, 100]);
    // Ink per image / r² (r unknown per image) is class-specific: π (circle), 1.7² = 2.89 (square), 2 (triangle).
    // The mean over images of ink / E[r²] with r = size·(0.2 + 0.15u): E[r²] = size²·(0.04 + 0.03 + 0.0075).
    const er2 = size * size * (0.04 + 0.2 * 0.15 + 0.15 ** 2 / 3);
    const expected = [Math.PI, 1.7 ** 2, 2];
    for (let k = 0; k < 3; k++) {
      let ink = 0;
      for (let n = k; n < 300; n += 3)
        for (let i = 0; i < size * size; i++) ink += set.images[n * size * size + i];
      expect(ink / 100 / er2 / expected[k]).toBeGreaterThan(0.9);
      expect(ink / 100 / er2 / expected[k]).toBeLessThan(1.1);
    }
  });
});

describe('unpaired domains', () => {
  it('style transform thickens and inverts', () => {
    const images = new Float32Array(25);
    images[12] = 1; // one lit pixel in the centre of a 5×5 image
    const styled = styleTransform(makeImageSet({ images, height: 5, width: 5 }));
    const ink = Array.from(styled.images, (p) => 1 - p);
    expect(ink.reduce((s, p) => s + p, 0)).toBe(9); // a 3×3 block
    expect(styled.images[0]).toBe(1); // background is white
  });

  it('domains share no source image', () => {
    const count = 10;
    const images = Float32Array.from({ length: count * 9 }, (_, i) => Math.floor(i / 9) / count); // image i is constant i/count
    const set = makeImageSet({
      images,
      labels: Int32Array.from({ length: count }, (_, i) => i),
      height: 3,
      width: 3,
    });
    const { domainA, domainB } = unpairedDigitDomains(set);
    expect(Array.from(domainA.labels)).toEqual([0, 2, 4, 6, 8]);
    expect(Array.from(domainB.labels)).toEqual([1, 3, 5, 7, 9]);
    expect(domainB.images[9]).toBeCloseTo(1 - 3 / count, 6);
  });
});
