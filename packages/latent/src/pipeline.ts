// latentDiffusion: draw noise in the autoencoder's latent shape, run any
// sampler on any latent denoiser, divide by the autoencoder's recorded scale
// factor and decode. Nothing here knows which parts it was given.
import {
  type Autoencoder,
  type Conditioning,
  type Denoiser,
  formatShape,
  Rng,
  type SamplerOptions,
  SculptError,
} from '@sculpt/core';
import { type DiffusionSampler, getSampler } from '@sculpt/samplers';
import * as tf from '@tensorflow/tfjs-core';
import type { ScaledAutoencoder } from './autoencoder.js';

/** The parts and knobs of {@link latentDiffusion}. */
export interface LatentDiffusionOptions {
  /** Any core `Autoencoder`; its `scaleFactor` (default 1) maps latents to the denoiser's scale. */
  autoencoder: Autoencoder | ScaledAutoencoder;
  /** A denoiser over scaled latents `[B, ...latentShape]`. */
  denoiser: Denoiser;
  /** A registered sampler name (`'dpmpp-2m'`, …) or sampler object. */
  sampler: string | DiffusionSampler;
  /** Decreasing σs ending in 0 (e.g. `karrasSigmas`). */
  sigmas: Float32Array;
  /** Number of images. */
  numSamples: number;
  /** Seed of the noise (and of stochastic samplers). Default 0. */
  seed?: number;
  /** Conditioning handed to the denoiser (e.g. `{ context, contextMask }`). */
  cond?: Conditioning;
  /** Called after every sampler step with the latent `x` and `denoised` (valid during the call). */
  onStep?: SamplerOptions['onStep'];
  /** Expected latent shape of the denoiser; when given, a mismatch with the autoencoder throws. */
  denoiserLatentShape?: readonly number[];
}

function resolveSampler(sampler: string | DiffusionSampler): DiffusionSampler {
  if (typeof sampler !== 'string') return sampler;
  try {
    return getSampler(sampler);
  } catch {
    throw new SculptError(
      'latentDiffusion',
      'expected a registered sampler name',
      `got '${sampler}'`,
      "use e.g. 'dpmpp-2m', 'euler' or 'heun' (listSamplers() names them all)",
    );
  }
}

/** Throws unless the autoencoder's latent shape is the denoiser's. */
export function checkLatentShapes(
  where: string,
  autoencoder: Autoencoder,
  denoiserShape: readonly number[],
): void {
  if (autoencoder.latentShape.join(',') !== denoiserShape.join(',')) {
    throw new SculptError(
      where,
      `expected the autoencoder's latentShape to equal the denoiser's ${formatShape(denoiserShape)}`,
      `got ${formatShape(autoencoder.latentShape)}`,
      "use an autoencoder whose latents match the U-Net's imageSize × imageSize × channels, or train the denoiser on this autoencoder's latents",
    );
  }
}

/**
 * A latent diffusion from parts: z_T ~ N(0, σ₀² I) in `autoencoder.latentShape`,
 * z₀ = sampler(denoiser, z_T, sigmas), x = decode(z₀ / scaleFactor).
 *
 * @returns decoded images; the caller owns them (inputs are not disposed).
 * @example
 * ```ts
 * const images = await latentDiffusion({
 *   autoencoder: model.autoencoder, denoiser: model.guidedDenoiser(4),
 *   sampler: 'dpmpp-2m', sigmas: karrasSigmas({ numSteps: 20, sigmaMin: 0.03, sigmaMax: 14.6 }),
 *   numSamples: 4, cond: model.text.encode(['a thick seven', '7', 'a 7', 'seven']),
 * });
 * ```
 */
export async function latentDiffusion(options: LatentDiffusionOptions): Promise<tf.Tensor> {
  const { autoencoder, denoiser, sigmas, numSamples, seed = 0 } = options;
  if (options.denoiserLatentShape)
    checkLatentShapes('latentDiffusion', autoencoder, options.denoiserLatentShape);
  if (!(Number.isInteger(numSamples) && numSamples >= 1)) {
    throw new SculptError(
      'latentDiffusion',
      'expected numSamples to be an integer ≥ 1',
      `got ${numSamples}`,
    );
  }
  const sampler = resolveSampler(options.sampler);
  const rng = new Rng(seed);
  const zT = tf.tidy(() => tf.mul(rng.normal([numSamples, ...autoencoder.latentShape]), sigmas[0]));
  const z0 = await sampler.sampleAsync(denoiser, zT, sigmas, {
    rng: rng.split() as Rng,
    cond: options.cond,
    onStep: options.onStep,
  });
  zT.dispose();
  const scale = (autoencoder as ScaledAutoencoder).scaleFactor ?? 1;
  const images = tf.tidy(() => autoencoder.decode(tf.div(z0, scale)));
  z0.dispose();
  return images;
}
