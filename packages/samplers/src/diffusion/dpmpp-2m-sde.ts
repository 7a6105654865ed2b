import { type Denoiser, type SamplerOptions, SculptError } from '@sculpt/core';
import * as tf from '@tensorflow/tfjs-core';
import { defineSampler } from './define.js';
import { bindDenoiser, combine, numberOption, release, requireRng, stepRecord } from './util.js';

/** Options of {@link dpmpp2mSde}. */
export interface Dpmpp2mSdeOptions extends SamplerOptions {
  /** Noise share η: 0 gives the deterministic DPM++ 2M ODE solver (no rng needed). Default 1. */
  eta?: number;
  /** Scale of the fresh noise. Default 1. */
  noiseScale?: number;
  /** Second-order correction: `'midpoint'` (default, as A1111) or `'heun'`. */
  solverType?: 'midpoint' | 'heun';
}

/**
 * Multistep SDE DPM-Solver++(2M) (k-diffusion `sample_dpmpp_2m_sde`,
 * diffusers `algorithm_type="sde-dpmsolver++"`). t = −ln σ, h = t_next − t,
 * r = h_prev/h, a = 1 − e^{−(1+η)h}:
 *
 *   x ← (σ_next/σ)e^{−ηh}·x + a·D + k·(D − D_prev) + σ_next√(1 − e^{−2ηh})·z
 *   k = ½a/r (midpoint)   or   k = (1 − a/((1+η)h))/r (heun)
 */
function* dpmpp2mSdeProgram(
  denoiser: Denoiser,
  xT: tf.Tensor,
  sigmas: Float32Array,
  options: Dpmpp2mSdeOptions,
) {
  const eta = numberOption('dpmpp-2m-sde', options, 'eta', 1);
  const noiseScale = numberOption('dpmpp-2m-sde', options, 'noiseScale', 1);
  const solverType = options.solverType ?? 'midpoint';
  if (solverType !== 'midpoint' && solverType !== 'heun') {
    throw new SculptError(
      'dpmpp-2m-sde',
      "options.solverType must be 'midpoint' or 'heun'",
      `got ${String(solverType)}`,
    );
  }
  const rng = eta > 0 ? requireRng('dpmpp-2m-sde', options) : undefined;
  const model = bindDenoiser(denoiser, options.cond);
  const n = sigmas.length - 1;
  let x = tf.clone(xT);
  let denoised: tf.Tensor | undefined;
  let old: tf.Tensor | undefined;
  let hLast: number | undefined;
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
        const etaH = eta * h;
        const a = -Math.expm1(-h - etaH); // 1 − e^{−(1+η)h}
        const terms: [number, tf.Tensor][] = [
          [(sigmaNext / sigma) * Math.exp(-etaH), x],
          [a, denoised],
        ];
        if (old !== undefined && hLast !== undefined) {
          const r = hLast / h;
          const coef = solverType === 'heun' ? (1 - a / (h + etaH)) / r : (0.5 * a) / r;
          terms.push([coef, denoised], [-coef, old]);
        }
        const noise = rng ? rng.normal(x.shape) : undefined;
        if (noise) terms.push([noiseScale * sigmaNext * Math.sqrt(-Math.expm1(-2 * etaH)), noise]);
        next = combine(...terms);
        release(noise);
        hLast = h;
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
 * **DPM++ 2M SDE** (`sample_dpmpp_2m_sde`, A1111 "DPM++ 2M SDE"): stochastic
 * (η = 1), 1 NFE per step. Needs `options.rng` unless `eta: 0`.
 *
 * @example
 * ```ts
 * const x0 = dpmpp2mSde.sample(denoiser, xT, sigmas, { rng: new Rng(11) });
 * ```
 */
export const dpmpp2mSde = defineSampler<Dpmpp2mSdeOptions>(
  {
    name: 'dpmpp-2m-sde',
    aliases: [
      'DPM++ 2M SDE',
      'DPM++ 2M SDE Karras',
      'dpmpp_2m_sde',
      'k_dpmpp_2m_sde',
      'sample_dpmpp_2m_sde',
    ],
    paper:
      'Lu et al. 2022, DPM-Solver++, arXiv 2211.01095; SDE multistep form from k-diffusion (sample_dpmpp_2m_sde)',
    stochastic: true,
    order: 0,
    nfePerStep: 1,
  },
  dpmpp2mSdeProgram,
);
