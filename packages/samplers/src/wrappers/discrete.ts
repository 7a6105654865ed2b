// Turning a network trained on a discrete DDPM schedule into a `Denoiser`.
//
// Notation (k-diffusion / EDM): x = x₀ + σ·ε. A DDPM network sees the
// variance-preserving input x_t = √ᾱ_t·x₀ + √(1−ᾱ_t)·ε = x·c_in with
// c_in = 1/√(σ²+1), σ = √((1−ᾱ_t)/ᾱ_t), at the (continuous) timestep t whose
// σ_t matches, found by interpolating log σ over the schedule.

import { type Conditioning, type Denoiser, type NoiseSchedule, SculptError } from '@sculpt/core';
import * as tf from '@tensorflow/tfjs-core';

/** A network on a discrete schedule: scaled input `[B, …]`, timestep `[B]` (float) → prediction `[B, …]`. */
export type DiffusionNetwork = (x: tf.Tensor, t: tf.Tensor1D, cond?: Conditioning) => tf.Tensor;

/** What the network predicts: the noise ε, the velocity v = √ᾱ·ε − √(1−ᾱ)·x₀, or the clean sample x₀. */
export type Prediction = 'epsilon' | 'v' | 'sample';

/** Options for {@link discreteDenoiser}. */
export interface DiscreteDenoiserOptions {
  /** The training schedule (from `noiseSchedule()` in @sculpt/core). */
  schedule: NoiseSchedule;
  /** What the network predicts. Default `'epsilon'`. */
  prediction?: Prediction;
  /** Round t to the nearest integer timestep (for networks that embed integer t). Default `false`. */
  quantize?: boolean;
}

/**
 * On-device σ → t: linear interpolation of log σ between the schedule's
 * discrete sigmas (k-diffusion `DiscreteSchedule.sigma_to_t`), so no value is
 * read back to the CPU. `logSigmas` is `[T]` ascending.
 */
export function sigmaToTimestep(
  sigma: tf.Tensor1D,
  logSigmas: tf.Tensor1D,
  quantize = false,
): tf.Tensor1D {
  return tf.tidy(() => {
    const count = logSigmas.shape[0];
    const logSigma = tf.log(sigma);
    const dists = tf.sub(tf.expandDims(logSigma, 1), tf.expandDims(logSigmas, 0)); // [B, T]
    if (quantize) return tf.cast(tf.argMin(tf.abs(dists), 1), 'float32') as tf.Tensor1D;
    const above = tf.sum(tf.cast(tf.greaterEqual(dists, 0), 'int32'), 1); // how many σ_t ≤ σ
    const low = tf.cast(tf.clipByValue(tf.sub(above, 1), 0, count - 2), 'int32'); // [B]
    const high = tf.add(low, tf.scalar(1, 'int32'));
    const lowLog = tf.gather(logSigmas, low);
    const highLog = tf.gather(logSigmas, high);
    const w = tf.clipByValue(tf.div(tf.sub(lowLog, logSigma), tf.sub(lowLog, highLog)), 0, 1);
    return tf.add(
      tf.mul(tf.sub(1, w), tf.cast(low, 'float32')),
      tf.mul(w, tf.cast(high, 'float32')),
    ) as tf.Tensor1D;
  });
}

/** Broadcasts a per-item `[B]` value against `x` `[B, …]`. */
export function perItem(v: tf.Tensor1D, rank: number): tf.Tensor {
  return tf.reshape(v, [v.shape[0], ...new Array(rank - 1).fill(1)]);
}

/**
 * Wraps a network trained on a discrete DDPM schedule (eps-, v- or
 * x₀-prediction) as a k-diffusion style {@link Denoiser}, so every sampler
 * works with it (k-diffusion `DiscreteEpsDDPMDenoiser` / `DiscreteVDDPMDenoiser`).
 *
 * The returned denoiser holds one small tensor (the schedule's log-sigmas);
 * free it with `denoiser.dispose()`.
 *
 * @example
 * ```ts
 * const schedule = noiseSchedule({ kind: 'cosine' });
 * const denoiser = discreteDenoiser((x, t) => unet.apply(x, t), { schedule, prediction: 'v' });
 * const x0 = sample('dpmpp-2m', denoiser, xT, sigmas);
 * denoiser.dispose();
 * ```
 */
export function discreteDenoiser(
  network: DiffusionNetwork,
  options: DiscreteDenoiserOptions,
): Denoiser & { dispose(): void; readonly schedule: NoiseSchedule } {
  const { schedule, prediction = 'epsilon', quantize = false } = options;
  if (!schedule || !(schedule.sigmas instanceof Float32Array)) {
    throw new SculptError(
      'discreteDenoiser',
      'options.schedule must be a NoiseSchedule',
      `got ${typeof schedule}`,
      'pass noiseSchedule() from @sculpt/core',
    );
  }
  if (!['epsilon', 'v', 'sample'].includes(prediction)) {
    throw new SculptError(
      'discreteDenoiser',
      "prediction must be 'epsilon', 'v' or 'sample'",
      `got '${prediction}'`,
    );
  }
  const logSigmas = tf.keep(tf.tidy(() => tf.log(tf.tensor1d(schedule.sigmas))));
  const denoiser = (x: tf.Tensor, sigma: tf.Tensor1D, cond?: Conditioning): tf.Tensor =>
    tf.tidy(() => {
      const s = perItem(sigma, x.rank);
      const s2p1 = tf.add(tf.square(s), 1);
      const cIn = tf.rsqrt(s2p1);
      const t = sigmaToTimestep(sigma, logSigmas as tf.Tensor1D, quantize);
      const out = network(tf.mul(x, cIn), t, cond);
      if (prediction === 'epsilon') return tf.sub(x, tf.mul(s, out)); // x₀ = x − σ·ε
      if (prediction === 'sample') return out;
      // v-prediction: x₀ = x/(σ²+1) − σ/√(σ²+1)·v
      return tf.sub(tf.div(x, s2p1), tf.mul(tf.mul(s, cIn), out));
    });
  return Object.assign(denoiser, {
    schedule,
    dispose: () => logSigmas.dispose(),
  });
}

/** Options for {@link karrasDenoiser}. */
export interface KarrasDenoiserOptions {
  /** Standard deviation of the data. Default `0.5` (EDM's choice for images in [−1, 1]). */
  sigmaData?: number;
}

/** EDM preconditioning coefficients for noise level σ (Karras et al. 2022, Table 1). */
export function karrasScalings(
  sigma: tf.Tensor,
  sigmaData = 0.5,
): { cSkip: tf.Tensor; cOut: tf.Tensor; cIn: tf.Tensor; cNoise: tf.Tensor } {
  return tf.tidy(() => {
    const sd2 = sigmaData * sigmaData;
    const total = tf.add(tf.square(sigma), sd2);
    return {
      cSkip: tf.div(sd2, total),
      cOut: tf.div(tf.mul(sigma, sigmaData), tf.sqrt(total)),
      cIn: tf.rsqrt(total),
      cNoise: tf.div(tf.log(sigma), 4),
    };
  });
}

/**
 * EDM / Karras preconditioning: D(x; σ) = c_skip·x + c_out·F(c_in·x, c_noise),
 * with c_noise = ¼ ln σ. `network` is the raw F.
 *
 * @example
 * ```ts
 * const denoiser = karrasDenoiser((x, cNoise) => net.apply(x, cNoise), { sigmaData: 0.5 });
 * ```
 */
export function karrasDenoiser(
  network: DiffusionNetwork,
  options: KarrasDenoiserOptions = {},
): Denoiser {
  const { sigmaData = 0.5 } = options;
  if (!(sigmaData > 0)) {
    throw new SculptError('karrasDenoiser', 'sigmaData must be > 0', `got ${sigmaData}`);
  }
  return (x, sigma, cond) =>
    tf.tidy(() => {
      const { cSkip, cOut, cIn, cNoise } = karrasScalings(sigma, sigmaData);
      const f = network(
        tf.mul(x, perItem(cIn as tf.Tensor1D, x.rank)),
        cNoise as tf.Tensor1D,
        cond,
      );
      return tf.add(
        tf.mul(x, perItem(cSkip as tf.Tensor1D, x.rank)),
        tf.mul(f, perItem(cOut as tf.Tensor1D, x.rank)),
      );
    });
}
