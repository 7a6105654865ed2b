/**
 * An analytic denoiser: data from a Gaussian mixture with diagonal
 * covariances, for which the exact denoiser E[x₀ | x, σ] has a closed form,
 * so samplers can be tested with no training.
 *
 * Notation: component k has weight π_k, mean μ_k and variances v_k (per
 * dimension). Under x = x₀ + σε the noisy marginal of component k is
 * N(μ_k, v_k + σ²), and
 *
 *   r_k(x) ∝ π_k·N(x; μ_k, v_k + σ²)                (posterior responsibility)
 *   E[x₀ | x, σ] = Σ_k r_k·(μ_k + v_k/(v_k + σ²)·(x − μ_k))   (Wiener estimate per component)
 */
import { type Denoiser, type Rng, SculptError } from '@sculpt/core';
import * as tf from '@tensorflow/tfjs-core';

/** A Gaussian mixture with diagonal covariances (plain data). */
export interface GaussianMixture {
  /** Component weights, positive, summing to 1. `[K]` */
  readonly weights: readonly number[];
  /** Component means. `[K][D]` */
  readonly means: readonly (readonly number[])[];
  /** Component standard deviations per dimension. `[K][D]` */
  readonly stds: readonly (readonly number[])[];
}

/**
 * The 2-D, 3-component mixture the conformance suite and the docs use:
 * unequal weights, separated means, anisotropic spreads.
 */
export const DEFAULT_MIXTURE: GaussianMixture = Object.freeze({
  weights: Object.freeze([0.5, 0.3, 0.2]),
  means: Object.freeze([
    Object.freeze([-2, -0.5]),
    Object.freeze([2, -1]),
    Object.freeze([0.5, 2.5]),
  ]),
  stds: Object.freeze([
    Object.freeze([0.5, 0.3]),
    Object.freeze([0.3, 0.6]),
    Object.freeze([0.4, 0.4]),
  ]),
});

/** Checks a mixture and returns its dimension D. */
export function checkMixture(where: string, mixture: GaussianMixture): number {
  const k = mixture.weights.length;
  const d = mixture.means[0]?.length ?? 0;
  const ok =
    k > 0 &&
    d > 0 &&
    mixture.means.length === k &&
    mixture.stds.length === k &&
    mixture.means.every((m) => m.length === d && m.every(Number.isFinite)) &&
    mixture.stds.every((s) => s.length === d && s.every((v) => v > 0)) &&
    mixture.weights.every((w) => w > 0) &&
    Math.abs(mixture.weights.reduce((a, b) => a + b, 0) - 1) < 1e-6;
  if (!ok) {
    throw new SculptError(
      where,
      'expected weights [K] > 0 summing to 1, means [K][D], stds [K][D] > 0',
      `got K=${k}, D=${d}`,
    );
  }
  return d;
}

/**
 * The exact denoiser of a Gaussian mixture, as a sculpt {@link Denoiser}.
 * `x` may have any shape `[B, …]` whose per-item size is a multiple of D: it
 * is read as rows of D values, each row denoised at its batch item's σ.
 *
 * @param mixture - the data distribution. Default {@link DEFAULT_MIXTURE}.
 * @returns a denoiser; each call returns a new tensor the caller owns.
 * @example
 * ```ts
 * const denoiser = gaussianMixtureDenoiser();
 * const x0 = getSampler('dpmpp-2m').sample(denoiser, xT, sigmas);
 * ```
 */
export function gaussianMixtureDenoiser(mixture: GaussianMixture = DEFAULT_MIXTURE): Denoiser {
  const d = checkMixture('gaussianMixtureDenoiser', mixture);
  const k = mixture.weights.length;
  const logW = mixture.weights.map(Math.log);
  const mu = mixture.means.flat();
  const v = mixture.stds.flat().map((s) => s * s);
  return (x, sigma) =>
    tf.tidy(() => {
      const b = x.shape[0];
      if (x.size % (b * d) !== 0 || sigma.size !== b) {
        throw new SculptError(
          'gaussianMixtureDenoiser',
          `expected x [B, …] with a multiple of ${d} values per item and sigma [B]`,
          `got x ${JSON.stringify(x.shape)}, sigma ${JSON.stringify(sigma.shape)}`,
        );
      }
      const rows = tf.reshape(x, [b, -1, 1, d]); // [B, M, 1, D]
      const s2 = tf.reshape(tf.square(sigma), [b, 1, 1, 1]);
      const means = tf.tensor4d(mu, [1, 1, k, d]);
      const vars = tf.tensor4d(v, [1, 1, k, d]);
      const total = tf.add(vars, s2); // [B, 1, K, D]
      const diff = tf.sub(rows, means); // [B, M, K, D]
      const quad = tf.sum(tf.add(tf.div(tf.square(diff), total), tf.log(total)), 3); // [B, M, K]
      const logits = tf.sub(tf.tensor1d(logW), tf.mul(quad, 0.5));
      const resp = tf.expandDims(tf.softmax(logits, -1), 3); // [B, M, K, 1]
      const wiener = tf.add(means, tf.mul(tf.div(vars, total), diff)); // [B, M, K, D]
      return tf.reshape(tf.sum(tf.mul(resp, wiener), 2), x.shape);
    });
}

/**
 * The same exact denoiser in float64 on the CPU, for references. `x` holds
 * N rows of D values (row-major); returns a new array.
 */
export function denoiseMixtureArray(
  mixture: GaussianMixture,
  x: Float64Array,
  sigma: number,
): Float64Array {
  const d = checkMixture('denoiseMixtureArray', mixture);
  const k = mixture.weights.length;
  const out = new Float64Array(x.length);
  const logits = new Float64Array(k);
  const s2 = sigma * sigma;
  for (let row = 0; row < x.length / d; row++) {
    let max = Number.NEGATIVE_INFINITY;
    for (let c = 0; c < k; c++) {
      let q = 0;
      for (let j = 0; j < d; j++) {
        const t = mixture.stds[c][j] ** 2 + s2;
        const e = x[row * d + j] - mixture.means[c][j];
        q += (e * e) / t + Math.log(t);
      }
      logits[c] = Math.log(mixture.weights[c]) - 0.5 * q;
      max = Math.max(max, logits[c]);
    }
    let z = 0;
    for (let c = 0; c < k; c++) z += Math.exp(logits[c] - max);
    for (let c = 0; c < k; c++) {
      const r = Math.exp(logits[c] - max) / z;
      for (let j = 0; j < d; j++) {
        const vv = mixture.stds[c][j] ** 2;
        const mean = mixture.means[c][j];
        out[row * d + j] += r * (mean + (vv / (vv + s2)) * (x[row * d + j] - mean));
      }
    }
  }
  return out;
}

/** Options of {@link probabilityFlowReference}. */
export interface ReferenceOptions {
  /** RK4 steps, uniform in ln σ. Default 2000. */
  numSteps?: number;
  /** Where the integration stops before the final exact denoise (D(x; σ_end) ≈ x(0) to O(σ_end²)). Default 1e-5. */
  sigmaEnd?: number;
}

/**
 * An accurate float64 solution of the probability-flow ODE
 * dx/d(ln σ) = x − D(x; σ) from σ_start down to 0: classical RK4 uniform in
 * ln σ down to `sigmaEnd`, then x(0) ≈ D(x; σ_end).
 *
 * @param xStart - N rows of D values at σ_start (row-major).
 * @returns x(0), a new array.
 * @example
 * ```ts
 * const ref = probabilityFlowReference(DEFAULT_MIXTURE, xT, 80);
 * ```
 */
export function probabilityFlowReference(
  mixture: GaussianMixture,
  xStart: Float64Array,
  sigmaStart: number,
  options: ReferenceOptions = {},
): Float64Array {
  const { numSteps = 2000, sigmaEnd = 1e-5 } = options;
  const u0 = Math.log(sigmaStart);
  const h = (Math.log(sigmaEnd) - u0) / numSteps;
  const f = (y: Float64Array, u: number) => {
    const den = denoiseMixtureArray(mixture, y, Math.exp(u));
    for (let i = 0; i < y.length; i++) den[i] = y[i] - den[i];
    return den;
  };
  const axpy = (y: Float64Array, a: number, k: Float64Array) => y.map((v, i) => v + a * k[i]);
  let y = Float64Array.from(xStart);
  for (let s = 0; s < numSteps; s++) {
    const u = u0 + s * h;
    const k1 = f(y, u);
    const k2 = f(axpy(y, h / 2, k1), u + h / 2);
    const k3 = f(axpy(y, h / 2, k2), u + h / 2);
    const k4 = f(axpy(y, h, k3), u + h);
    y = y.map((v, i) => v + (h / 6) * (k1[i] + 2 * k2[i] + 2 * k3[i] + k4[i]));
  }
  return denoiseMixtureArray(mixture, y, sigmaEnd);
}

/** Exact draws from the mixture: `{ x }` N rows of D (float32) and the component `labels`. */
export function sampleMixture(
  mixture: GaussianMixture,
  n: number,
  rng: Rng,
): { x: Float32Array; labels: Int32Array } {
  const d = checkMixture('sampleMixture', mixture);
  const u = rng.uniformArray(n);
  const z = rng.normalArray(n * d);
  const x = new Float32Array(n * d);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let c = 0;
    let acc = mixture.weights[0];
    while (u[i] >= acc && c < mixture.weights.length - 1) acc += mixture.weights[++c];
    labels[i] = c;
    for (let j = 0; j < d; j++)
      x[i * d + j] = mixture.means[c][j] + mixture.stds[c][j] * z[i * d + j];
  }
  return { x, labels };
}

/** What {@link fitMixture} measures: weights, means and stds per component. */
export interface MixtureFit {
  weights: number[];
  means: number[][];
  stds: number[][];
}

/**
 * Assigns each sample to its most likely component (at σ = 0) and measures
 * the share, mean and standard deviation per component, to compare a
 * sampler's output with the mixture.
 */
export function fitMixture(mixture: GaussianMixture, x: ArrayLike<number>): MixtureFit {
  const d = checkMixture('fitMixture', mixture);
  const k = mixture.weights.length;
  const n = x.length / d;
  const count = new Array<number>(k).fill(0);
  const sum = Array.from({ length: k }, () => new Array<number>(d).fill(0));
  const sq = Array.from({ length: k }, () => new Array<number>(d).fill(0));
  for (let i = 0; i < n; i++) {
    let best = 0;
    let bestLogit = Number.NEGATIVE_INFINITY;
    for (let c = 0; c < k; c++) {
      let q = Math.log(mixture.weights[c]);
      for (let j = 0; j < d; j++) {
        const s = mixture.stds[c][j];
        q -= 0.5 * ((x[i * d + j] - mixture.means[c][j]) / s) ** 2 + Math.log(s);
      }
      if (q > bestLogit) {
        bestLogit = q;
        best = c;
      }
    }
    count[best]++;
    for (let j = 0; j < d; j++) {
      sum[best][j] += x[i * d + j];
      sq[best][j] += x[i * d + j] ** 2;
    }
  }
  const means = sum.map((row, c) => row.map((s) => s / Math.max(1, count[c])));
  const stds = sq.map((row, c) =>
    row.map((s, j) => Math.sqrt(Math.max(0, s / Math.max(1, count[c]) - means[c][j] ** 2))),
  );
  return { weights: count.map((c) => c / n), means, stds };
}
