// What both training stages draw each step, as functions of (step, the
// step's Rng) so that a resumed run sees the same batches: images for the
// autoencoder; scaled latents + encoded captions for the U-Net, the latents
// re-encoded once per epoch (with the encoder's sampling noise) from an Rng
// keyed by the epoch's index.
import { adamW, type LrSchedule, Rng, SculptError, Trainer } from '@sculpt/core';
import type { DiffusionBatch } from '@sculpt/diffusion';
import * as tf from '@tensorflow/tfjs-core';
import type { KlAutoencoder } from './autoencoder.js';
import type { PromptEncoder } from './prompt-encoder.js';

/** `size` indices in [0, n) drawn uniformly with replacement. */
export function batchIndices(rng: Rng, n: number, size: number): Int32Array {
  const u = rng.uniformArray(size);
  return Int32Array.from(u, (v) => Math.min(n - 1, Math.floor(v * n)));
}

/**
 * Scaled latents z ~ q(z|x) · scaleFactor of every image, encoded in chunks.
 * @returns `[N, ...latentShape]`; the caller owns it.
 */
export function encodeLatents(
  autoencoder: KlAutoencoder,
  images: tf.Tensor4D,
  rng: Rng,
  chunk = 500,
): tf.Tensor4D {
  const parts: tf.Tensor[] = [];
  for (let start = 0; start < images.shape[0]; start += chunk) {
    const size = Math.min(chunk, images.shape[0] - start);
    parts.push(
      tf.tidy(() => {
        const q = autoencoder.encode(tf.slice(images, start, size));
        const z = tf.mul(q.sample(rng), autoencoder.scaleFactor);
        q.dispose();
        return z;
      }),
    );
  }
  const all = tf.concat(parts, 0) as tf.Tensor4D;
  tf.dispose(parts);
  return all;
}

/**
 * Core's Trainer over the autoencoder's weights: AdamW (no decay), squared
 * error + klWeight · KL, gradients clipped to norm 10.
 * @returns a trainer the caller owns (`dispose()` frees its optimizer state).
 */
export function autoencoderTrainer(
  autoencoder: KlAutoencoder,
  options: { learningRate: number | LrSchedule; seed: number },
): Trainer<tf.Tensor4D> {
  return new Trainer<tf.Tensor4D>({
    params: autoencoder.params,
    loss: (_p, batch, rng) => {
      const { loss, recon, kl } = autoencoder.loss(batch, rng);
      tf.dispose([recon, kl]);
      return loss;
    },
    optimizer: adamW({ weightDecay: 0 }),
    learningRate: options.learningRate,
    clipNorm: 10,
    rng: new Rng(options.seed),
  });
}

/** What {@link LatentBatches} draws from. */
export interface LatentBatchSource {
  autoencoder: KlAutoencoder;
  text: PromptEncoder;
  /** Training images `[N, S, S, C]` in [-1, 1] (read, not disposed). */
  images: tf.Tensor4D;
  /** One caption per image. */
  captions: readonly string[];
  batchSize: number;
  /** Probability of the empty prompt in place of a caption. */
  captionDropout: number;
  /** Seeds the per-epoch latent draws. */
  seed: number;
}

/** The batches of both stages; holds the current epoch's latents (`dispose()`). */
export class LatentBatches {
  private latents: { epoch: number; z: tf.Tensor4D } | undefined;

  constructor(private readonly source: LatentBatchSource) {
    const n = source.images.shape[0];
    if (source.captions.length !== n) {
      throw new SculptError(
        'LatentDiffusionModel training',
        `expected one caption per image (${n})`,
        `got ${source.captions.length}`,
        'caption the set with captionImageSet from @sculpt/datasets',
      );
    }
  }

  /** Steps per pass over the images at this batch size. */
  get epochSteps(): number {
    return Math.max(1, Math.floor(this.source.images.shape[0] / this.source.batchSize));
  }

  /** An autoencoder batch `[B, S, S, C]` (the Trainer disposes it). */
  autoencoder = (_step: number, rng: Rng): tf.Tensor4D => {
    const { images, batchSize } = this.source;
    return tf.gather(images, batchIndices(rng, images.shape[0], batchSize)) as tf.Tensor4D;
  };

  /** A U-Net batch at the denoiser's `step`: latents, context and its mask (the Trainer disposes them). */
  denoiser = (step: number, rng: Rng): DiffusionBatch => {
    const { images, captions, batchSize, captionDropout, text } = this.source;
    const z = this.epochLatents(Math.floor(step / this.epochSteps));
    const idx = batchIndices(rng, images.shape[0], batchSize);
    const u = rng.uniformArray(batchSize);
    const prompts = Array.from(idx, (i, j) => (u[j] < captionDropout ? '' : captions[i]));
    const { context, contextMask } = text.encode(prompts);
    return { images: tf.gather(z, idx) as tf.Tensor4D, context, contextMask };
  };

  private epochLatents(epoch: number): tf.Tensor4D {
    if (this.latents?.epoch !== epoch) {
      this.latents?.z.dispose();
      const rng = new Rng(this.source.seed).split(epoch + 1)[epoch];
      const z = encodeLatents(this.source.autoencoder, this.source.images, rng);
      this.latents = { epoch, z };
    }
    return this.latents.z;
  }

  /** Frees the cached latents. */
  dispose(): void {
    this.latents?.z.dispose();
    this.latents = undefined;
  }
}
