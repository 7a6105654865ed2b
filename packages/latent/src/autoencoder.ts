// A small convolutional KL autoencoder (Rombach et al. 2022, §3 and App. G;
// Kingma & Welling 2014): images → a diagonal Gaussian over a 4× smaller
// latent grid, and back. Trained on squared error + a small KL weight, so the
// latents stay close to a unit Gaussian without blurring the reconstructions.
//
//   encoder: conv(w0) ─ conv/2(w1) ─ conv(w1) ─ conv/2(w2) ─ 1×1 → (μ, log σ²)   [B, S/4, S/4, 2·zc]
//   decoder: conv(w2) ─ conv(w2) ─ up2 conv(w1) ─ conv(w1) ─ up2 conv(w0) ─ conv → tanh   [B, S, S, C]
//
// The latent scale factor (LDM's `scale_by_std`; SD's 0.18215) is measured on
// the encoded training set and kept in the config: the pipeline multiplies by
// it after encoding and divides before decoding.
import { type Autoencoder, DiagonalNormal, formatShape, Rng, SculptError } from '@sculpt/core';
import * as tf from '@tensorflow/tfjs-core';
import type { AutoencoderConfig } from './config.js';

/** An {@link Autoencoder} that may record the latent scale factor in its config. */
export interface ScaledAutoencoder extends Autoencoder {
  /** Latents are multiplied by this after encoding (unit variance for the denoiser). Default 1. */
  readonly scaleFactor?: number;
}

interface ConvSpec {
  name: string;
  inC: number;
  outC: number;
  k: number;
}

function convSpecs(c: AutoencoderConfig): ConvSpec[] {
  const [w0, w1, w2] = c.widths;
  const z = c.latentChannels;
  return [
    { name: 'enc.0', inC: c.channels, outC: w0, k: 3 },
    { name: 'enc.1', inC: w0, outC: w1, k: 3 },
    { name: 'enc.2', inC: w1, outC: w1, k: 3 },
    { name: 'enc.3', inC: w1, outC: w2, k: 3 },
    { name: 'enc.out', inC: w2, outC: 2 * z, k: 1 },
    { name: 'dec.0', inC: z, outC: w2, k: 3 },
    { name: 'dec.1', inC: w2, outC: w2, k: 3 },
    { name: 'dec.2', inC: w2, outC: w1, k: 3 },
    { name: 'dec.3', inC: w1, outC: w1, k: 3 },
    { name: 'dec.4', inC: w1, outC: w0, k: 3 },
    { name: 'dec.out', inC: w0, outC: c.channels, k: 3 },
  ];
}

/** He-uniform kernels and zero biases, drawn from `seed`. */
function initParams(c: AutoencoderConfig, seed: number): Record<string, tf.Variable> {
  const rng = new Rng(seed);
  const p: Record<string, tf.Variable> = {};
  for (const { name, inC, outC, k } of convSpecs(c)) {
    const limit = Math.sqrt(6 / (k * k * inC));
    p[`${name}.w`] = tf.tidy(() =>
      tf.variable(tf.sub(tf.mul(rng.uniform([k, k, inC, outC]), 2 * limit), limit), true),
    );
    p[`${name}.b`] = tf.tidy(() => tf.variable(tf.zeros([outC]), true));
  }
  return p;
}

/** Nearest 2× upsampling as concat + reshape (its gradient exists on every backend). */
function upsample2x(x: tf.Tensor4D): tf.Tensor4D {
  const [b, h, w, c] = x.shape;
  const wide = tf.reshape(tf.concat([x, x], 3), [b, h, 2 * w, c]);
  return tf.reshape(tf.concat([wide, wide], 2), [b, 2 * h, 2 * w, c]);
}

/**
 * The conv KL autoencoder. Owns its weights (`dispose()`).
 * @example
 * ```ts
 * const ae = new KlAutoencoder(latentConfig({ preset: 'tiny' }).autoencoder, { seed: 0 });
 * const q = ae.encode(images); // DiagonalNormal over [B, 2, 2, 2]
 * ```
 */
export class KlAutoencoder implements ScaledAutoencoder {
  /** The frozen config; replaced (with the measured scale) by {@link KlAutoencoder.withScaleFactor}. */
  config: AutoencoderConfig;
  /** Weights by name (`enc.0.w`, …); owned. */
  readonly params: Record<string, tf.Variable>;

  constructor(config: AutoencoderConfig, options: { seed?: number } = {}) {
    this.config = config;
    this.params = initParams(config, options.seed ?? 0);
  }

  /** `[S/4, S/4, latentChannels]`. */
  get latentShape(): readonly number[] {
    const s = this.config.imageSize / 4;
    return [s, s, this.config.latentChannels];
  }

  /** The measured latent scale factor (1 before measuring). */
  get scaleFactor(): number {
    return this.config.scaleFactor;
  }

  /** Records a measured scale factor in the config. */
  withScaleFactor(scaleFactor: number): void {
    this.config = Object.freeze({ ...this.config, scaleFactor });
  }

  private conv(name: string, x: tf.Tensor4D, strides: 1 | 2 = 1): tf.Tensor4D {
    const y = tf.conv2d(x, this.params[`${name}.w`] as tf.Tensor4D, strides, 'same');
    return tf.add(y, this.params[`${name}.b`]);
  }

  private checkImages(where: string, x: tf.Tensor): void {
    const { imageSize: s, channels: c } = this.config;
    if (x.rank !== 4 || x.shape[1] !== s || x.shape[2] !== s || x.shape[3] !== c) {
      throw new SculptError(
        where,
        `expected images [N, ${s}, ${s}, ${c}] in [-1, 1]`,
        `got ${formatShape(x.shape)}`,
        'reshape the batch (datasets: range "-1,1")',
      );
    }
  }

  /** `[mean, logVar]` of q(z | x), each `[B, S/4, S/4, zc]`; inside the caller's tidy. */
  moments(x: tf.Tensor4D): [tf.Tensor4D, tf.Tensor4D] {
    const act = (t: tf.Tensor4D) => tf.mul(t, tf.sigmoid(t)) as tf.Tensor4D; // SiLU
    let h = act(this.conv('enc.0', x));
    h = act(this.conv('enc.1', h, 2));
    h = act(this.conv('enc.2', h));
    h = act(this.conv('enc.3', h, 2));
    const out = this.conv('enc.out', h);
    const [mean, logVar] = tf.split(out, 2, 3) as [tf.Tensor4D, tf.Tensor4D];
    return [mean, tf.clipByValue(logVar, -20, 10) as tf.Tensor4D];
  }

  /** Decoder network; inside the caller's tidy. */
  decodeRaw(z: tf.Tensor4D): tf.Tensor4D {
    const act = (t: tf.Tensor4D) => tf.mul(t, tf.sigmoid(t)) as tf.Tensor4D;
    let h = act(this.conv('dec.0', z));
    h = act(this.conv('dec.1', h));
    h = act(this.conv('dec.2', upsample2x(h)));
    h = act(this.conv('dec.3', h));
    h = act(this.conv('dec.4', upsample2x(h)));
    return tf.tanh(this.conv('dec.out', h));
  }

  /**
   * q(z | x) for images in [-1, 1] (unscaled latents).
   * @returns a DiagonalNormal the caller owns (`dispose()`).
   */
  encode(x: tf.Tensor): DiagonalNormal {
    this.checkImages('KlAutoencoder.encode', x);
    const [mean, logVar] = tf.tidy(() => this.moments(x as tf.Tensor4D));
    return new DiagonalNormal({ mean, logVar, eventDims: 3 });
  }

  /**
   * Latents `[B, S/4, S/4, zc]` (unscaled) → images in [-1, 1].
   * @returns `[B, S, S, C]`; the caller owns it.
   */
  decode(z: tf.Tensor): tf.Tensor4D {
    const shape = this.latentShape;
    if (z.rank !== 4 || z.shape.slice(1).join(',') !== shape.join(',')) {
      throw new SculptError(
        'KlAutoencoder.decode',
        `expected latents [N, ${shape.join(', ')}]`,
        `got ${formatShape(z.shape)}`,
        'decode what encode (or a latent sampler of this latentShape) produced',
      );
    }
    return tf.tidy(() => this.decodeRaw(z as tf.Tensor4D));
  }

  /**
   * The training loss of a batch: summed squared error per image + klWeight · KL, averaged over the batch.
   * @returns `{ loss, recon, kl }` scalars the caller owns.
   */
  loss(x: tf.Tensor4D, rng: Rng): { loss: tf.Scalar; recon: tf.Scalar; kl: tf.Scalar } {
    this.checkImages('KlAutoencoder.loss', x);
    const eps = rng.normal([x.shape[0], ...this.latentShape]);
    return tf.tidy(() => {
      const [mean, logVar] = this.moments(x);
      const z = tf.add(mean, tf.mul(tf.exp(tf.mul(logVar, 0.5)), eps));
      const recon = tf.mean(
        tf.sum(tf.square(tf.sub(this.decodeRaw(z as tf.Tensor4D), x)), [1, 2, 3]),
      );
      const klPer = tf.mul(
        tf.sum(tf.sub(tf.add(tf.square(mean), tf.exp(logVar)), tf.add(logVar, 1)), [1, 2, 3]),
        0.5,
      );
      const kl = tf.mean(klPer);
      eps.dispose();
      return {
        loss: tf.add(recon, tf.mul(kl, this.config.klWeight)) as tf.Scalar,
        recon: recon as tf.Scalar,
        kl: kl as tf.Scalar,
      };
    });
  }

  /** Frees the weights. */
  dispose(): void {
    tf.dispose(Object.values(this.params));
  }
}

/**
 * Encodes `images` in batches, draws z ~ q(z|x) with `rng` and returns
 * 1 / std of all latent values: the factor that gives the denoiser
 * unit-variance latents (LDM's `scale_by_std`).
 * @example
 * ```ts
 * ae.withScaleFactor(await measureScaleFactor(ae, trainImages, new Rng(0)));
 * ```
 */
export async function measureScaleFactor(
  autoencoder: KlAutoencoder,
  images: tf.Tensor4D,
  rng: Rng,
  batchSize = 500,
): Promise<number> {
  let sum = 0;
  let sumSq = 0;
  let count = 0;
  for (let start = 0; start < images.shape[0]; start += batchSize) {
    const size = Math.min(batchSize, images.shape[0] - start);
    const sums = tf.tidy(() => {
      const q = autoencoder.encode(tf.slice(images, start, size));
      const z = q.sample(rng);
      q.dispose();
      return tf.stack([tf.sum(z), tf.sum(tf.square(z))]);
    });
    const [s, s2] = await sums.data();
    sums.dispose();
    sum += s;
    sumSq += s2;
    count += size * autoencoder.latentShape.reduce((a, b) => a * b, 1);
  }
  const mean = sum / count;
  return 1 / Math.sqrt(Math.max(sumSq / count - mean * mean, 1e-12));
}
