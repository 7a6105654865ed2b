import { type Denoiser, type SamplerOptions, SculptError } from '@sculpt/core';
import * as tf from '@tensorflow/tfjs-core';
import { defineSampler } from './define.js';
import { bindDenoiser, combine, release, stepRecord, toD } from './util.js';

/** Options of {@link lms}. */
export interface LmsOptions extends SamplerOptions {
  /** Number of past slopes used (1–4). Default 4. */
  order?: number;
}

// 4-point Gauss–Legendre nodes and weights on [−1, 1]: exact for the
// degree ≤ 3 Lagrange polynomials below (k-diffusion uses scipy's quad).
const GL_NODES = [-0.8611363115940526, -0.3399810435848563, 0.3399810435848563, 0.8611363115940526];
const GL_WEIGHTS = [0.3478548451374538, 0.6521451548625461, 0.6521451548625461, 0.3478548451374538];

/**
 * c_j = ∫_{σ_i}^{σ_{i+1}} ℓ_j(τ) dτ, where ℓ_j is the Lagrange basis
 * polynomial through σ_i, σ_{i−1}, … σ_{i−order+1} that is 1 at σ_{i−j}.
 */
export function lmsCoefficient(sigmas: Float32Array, order: number, i: number, j: number): number {
  const basis = (tau: number) => {
    let prod = 1;
    for (let k = 0; k < order; k++) {
      if (k !== j) prod *= (tau - sigmas[i - k]) / (sigmas[i - j] - sigmas[i - k]);
    }
    return prod;
  };
  const a = sigmas[i];
  const b = sigmas[i + 1];
  let sum = 0;
  for (let q = 0; q < 4; q++)
    sum += GL_WEIGHTS[q] * basis(0.5 * (b - a) * GL_NODES[q] + 0.5 * (a + b));
  return 0.5 * (b - a) * sum;
}

/**
 * Linear multistep (Adams–Bashforth in σ, k-diffusion `sample_lms`):
 * x_{i+1} = x_i + Σ_j c_j·d_{i−j}, the coefficients integrating the
 * Lagrange interpolant of the last `order` slopes over [σ_i, σ_{i+1}].
 */
function* lmsProgram(denoiser: Denoiser, xT: tf.Tensor, sigmas: Float32Array, options: LmsOptions) {
  const order = options.order ?? 4;
  if (!Number.isInteger(order) || order < 1 || order > 4) {
    throw new SculptError('lms', 'options.order must be an integer in 1…4', `got ${String(order)}`);
  }
  const model = bindDenoiser(denoiser, options.cond);
  const n = sigmas.length - 1;
  let x = tf.clone(xT);
  let denoised: tf.Tensor | undefined;
  const slopes: tf.Tensor[] = []; // newest last
  try {
    for (let i = 0; i < n; i++) {
      const sigma = sigmas[i];
      const sigmaNext = sigmas[i + 1];
      release(denoised);
      denoised = model(x, sigma);
      slopes.push(toD(x, denoised, sigma));
      if (slopes.length > order) slopes.shift()?.dispose();
      const curOrder = Math.min(i + 1, order);
      const terms: [number, tf.Tensor][] = [[1, x]];
      for (let j = 0; j < curOrder; j++) {
        terms.push([lmsCoefficient(sigmas, curOrder, i, j), slopes[slopes.length - 1 - j]]);
      }
      const next = combine(...terms);
      x.dispose();
      x = next;
      yield stepRecord(i, sigma, sigmaNext, x, denoised, i === n - 1);
    }
    return tf.clone(x);
  } finally {
    release(x, denoised, ...slopes);
  }
}

/**
 * **LMS** (`sample_lms`, diffusers `LMSDiscreteScheduler`, A1111 "LMS"):
 * linear multistep of order 4 in σ, 1 NFE per step, deterministic.
 *
 * @example
 * ```ts
 * const x0 = lms.sample(denoiser, xT, sigmas, { order: 4 });
 * ```
 */
export const lms = defineSampler<LmsOptions>(
  {
    name: 'lms',
    aliases: ['LMS', 'k_lms', 'sample_lms', 'LMSDiscreteScheduler'],
    paper: 'Crowson, k-diffusion (sample_lms): Adams–Bashforth linear multistep in σ',
    stochastic: false,
    order: 4,
    nfePerStep: 1,
  },
  lmsProgram,
);
