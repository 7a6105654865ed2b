import type { Rng } from '@sculpt/core';
import { SculptError } from '@sculpt/core';

/** A set of 2-D points with a component/class label each (CPU arrays; `tf.tensor2d(set.points, [set.count, 2])` makes a tensor). */
export interface PointSet {
  /** `count × 2` floats, row-major `[x0, y0, x1, y1, …]`. */
  readonly points: Float32Array;
  /** The component (mixture) or arm (moons) each point came from; for the swiss roll, `-1`. */
  readonly labels: Int32Array;
  /** Number of points. */
  readonly count: number;
}

/** One component of a 2-D Gaussian mixture with a diagonal covariance. */
export interface MixtureComponent {
  /** Mixing weight (the weights are normalised). */
  weight: number;
  /** Mean `[x, y]`. */
  mean: [number, number];
  /** Standard deviations `[sx, sy]`. */
  std: [number, number];
}

/**
 * The default mixture: 8 equal components on a circle of radius 2, std 0.1
 * (the classic "8 Gaussians" toy set).
 *
 * @returns a new array of 8 {@link MixtureComponent}s.
 * @example
 * const components = ringMixture();
 */
export function ringMixture(
  options: { numComponents?: number; radius?: number; std?: number } = {},
): MixtureComponent[] {
  const { numComponents = 8, radius = 2, std = 0.1 } = options;
  return Array.from({ length: numComponents }, (_, k) => {
    const angle = (2 * Math.PI * k) / numComponents;
    return {
      weight: 1,
      mean: [radius * Math.cos(angle), radius * Math.sin(angle)],
      std: [std, std],
    };
  });
}

/**
 * Samples a 2-D Gaussian mixture.
 *
 * @param options - `count`, `rng`, `components` (default {@link ringMixture}`()`).
 * @returns a {@link PointSet}; labels are component indices.
 * @example
 * const { points, labels } = gaussianMixture2d({ count: 1000, rng: new Rng(0) });
 */
export function gaussianMixture2d(options: {
  count: number;
  rng: Rng;
  components?: MixtureComponent[];
}): PointSet {
  const { count, rng } = checkCount('gaussianMixture2d', options);
  const components = options.components ?? ringMixture();
  const total = components.reduce((s, c) => s + c.weight, 0);
  if (!(total > 0) || components.some((c) => c.weight < 0 || c.std[0] < 0 || c.std[1] < 0)) {
    throw new SculptError(
      'gaussianMixture2d',
      'components need non-negative weights (not all zero) and stds',
      `got ${JSON.stringify(components)}`,
    );
  }
  const u = rng.uniformArray(count);
  const z = rng.normalArray(2 * count);
  const points = new Float32Array(2 * count);
  const labels = new Int32Array(count);
  for (let i = 0; i < count; i++) {
    let k = 0;
    for (let acc = components[0].weight / total; u[i] >= acc && k < components.length - 1; )
      acc += components[++k].weight / total;
    const c = components[k];
    points[2 * i] = c.mean[0] + c.std[0] * z[2 * i];
    points[2 * i + 1] = c.mean[1] + c.std[1] * z[2 * i + 1];
    labels[i] = k;
  }
  return { points, labels, count };
}

/**
 * Two interleaving half circles (scikit-learn's `make_moons`): the upper moon
 * centred at (0, 0), the lower at (1, 0.5), radius 1, plus Gaussian noise.
 *
 * @param options - `count`, `rng`, `noise` (std, default 0.05).
 * @returns a {@link PointSet}; labels 0 (upper) / 1 (lower), alternating.
 * @example
 * const moons = twoMoons({ count: 512, rng });
 */
export function twoMoons(options: { count: number; rng: Rng; noise?: number }): PointSet {
  const { count, rng } = checkCount('twoMoons', options);
  const noise = options.noise ?? 0.05;
  const t = rng.uniformArray(count, 0, Math.PI);
  const z = rng.normalArray(2 * count, 0, noise);
  const points = new Float32Array(2 * count);
  const labels = new Int32Array(count);
  for (let i = 0; i < count; i++) {
    const lower = i % 2;
    points[2 * i] = (lower ? 1 - Math.cos(t[i]) : Math.cos(t[i])) + z[2 * i];
    points[2 * i + 1] = (lower ? 0.5 - Math.sin(t[i]) : Math.sin(t[i])) + z[2 * i + 1];
    labels[i] = lower;
  }
  return { points, labels, count };
}

/**
 * A 2-D swiss roll: `t ~ U(1.5π, 4.5π)`, point `(t cos t, t sin t) / 5` plus
 * Gaussian noise — scaled to roughly `[-3, 3]²`.
 *
 * @param options - `count`, `rng`, `noise` (std before scaling, default 0.5).
 * @returns a {@link PointSet} (labels `-1`).
 * @example
 * const roll = swissRoll({ count: 2000, rng });
 */
export function swissRoll(options: { count: number; rng: Rng; noise?: number }): PointSet {
  const { count, rng } = checkCount('swissRoll', options);
  const noise = options.noise ?? 0.5;
  const t = rng.uniformArray(count, 1.5 * Math.PI, 4.5 * Math.PI);
  const z = rng.normalArray(2 * count, 0, noise);
  const points = new Float32Array(2 * count);
  for (let i = 0; i < count; i++) {
    points[2 * i] = (t[i] * Math.cos(t[i]) + z[2 * i]) / 5;
    points[2 * i + 1] = (t[i] * Math.sin(t[i]) + z[2 * i + 1]) / 5;
  }
  return { points, labels: new Int32Array(count).fill(-1), count };
}

function checkCount<T extends { count: number; rng: Rng }>(where: string, options: T): T {
  if (!Number.isInteger(options.count) || options.count < 0) {
    throw new SculptError(where, 'count must be a non-negative integer', `got ${options.count}`);
  }
  if (!options.rng)
    throw new SculptError(where, 'an rng is required', 'got none', 'pass { rng: new Rng(seed) }');
  return options;
}
