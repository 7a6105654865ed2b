import type { Denoiser, SamplerOptions } from '@sculpt/core';
import * as tf from '@tensorflow/tfjs-core';
import { defineSampler } from './define.js';
import { bindDenoiser, combine, release, stepRecord } from './util.js';

/** Options of {@link dpmpp2m} (none beyond the shared ones). */
export type Dpmpp2mOptions = SamplerOptions;

/**
 * DPM-Solver++(2M) (Lu et al. 2022b, Alg. 2) in σ form. With t = −ln σ,
 * h = t_{i+1} − t_i, r = h_{i−1}/h:
 *
 *   D' = (1 + 1/(2r))·D_i − (1/(2r))·D_{i−1}
 *   x_{i+1} = (σ_{i+1}/σ_i)·x_i − (e^{−h} − 1)·D'
 *
 * The first step is first order (no D_{i−1}); so is the last (σ_{i+1} = 0
 * makes h infinite and x_{i+1} = D_i), the lower-order final step of
 * k-diffusion#43.
 */
function* dpmpp2mProgram(
  denoiser: Denoiser,
  xT: tf.Tensor,
  sigmas: Float32Array,
  options: Dpmpp2mOptions,
) {
  const model = bindDenoiser(denoiser, options.cond);
  const n = sigmas.length - 1;
  let x = tf.clone(xT);
  let denoised: tf.Tensor | undefined;
  let old: tf.Tensor | undefined;
  try {
    for (let i = 0; i < n; i++) {
      const sigma = sigmas[i];
      const sigmaNext = sigmas[i + 1];
      release(old);
      old = denoised;
      denoised = model(x, sigma);
      let next: tf.Tensor;
      if (sigmaNext === 0) {
        next = tf.clone(denoised);
      } else {
        const h = Math.log(sigma) - Math.log(sigmaNext);
        const ratio = sigmaNext / sigma; // e^{−h}
        const c = -Math.expm1(-h); // 1 − e^{−h}
        if (old === undefined) {
          next = combine([ratio, x], [c, denoised]);
        } else {
          const r = (Math.log(sigmas[i - 1]) - Math.log(sigma)) / h;
          next = combine([ratio, x], [c * (1 + 1 / (2 * r)), denoised], [-c / (2 * r), old]);
        }
      }
      x.dispose();
      x = next;
      yield stepRecord(i, sigma, sigmaNext, x, denoised, i === n - 1);
    }
    return tf.clone(x);
  } finally {
    release(x, denoised, old);
  }
}

/**
 * **DPM++ 2M** (`sample_dpmpp_2m`, diffusers `DPMSolverMultistepScheduler`,
 * A1111 "DPM++ 2M"): second-order multistep, 1 NFE per step, deterministic.
 *
 * @example
 * ```ts
 * const x0 = dpmpp2m.sample(denoiser, xT, karrasSigmas({ numSteps: 20, sigmaMin: 0.03, sigmaMax: 14.6 }));
 * ```
 */
export const dpmpp2m = defineSampler<Dpmpp2mOptions>(
  {
    name: 'dpmpp-2m',
    aliases: [
      'DPM++ 2M',
      'DPM++ 2M Karras',
      'dpmpp_2m',
      'k_dpmpp_2m',
      'sample_dpmpp_2m',
      'DPMSolverMultistepScheduler',
    ],
    paper: 'Lu et al. 2022, DPM-Solver++, arXiv 2211.01095, Alg. 2',
    stochastic: false,
    order: 2,
    nfePerStep: 1,
  },
  dpmpp2mProgram,
);
