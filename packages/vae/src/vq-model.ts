// VQ-VAE: conv encoder → [B, h, w, D] → nearest of K codes → conv decoder.
// Weights are plain tf.Variables; the EMA codebook state is saved beside them.
import {
  type Autoencoder,
  assignModelWeights,
  type Checkpoint,
  expectTrainingWeights,
  formatShape,
  type JsonValue,
  type LoadCheckpointOptions,
  loadCheckpoint,
  packTrainingCheckpoint,
  Rng,
  SculptError,
  saveCheckpoint,
  unpackTrainingCheckpoint,
  weightSpecs,
} from '@sculpt/core';
import * as tf from '@tensorflow/tfjs-core';
import {
  addConv,
  addConvDecoder,
  addConvEncoder,
  conv,
  convDecoder,
  convEncoder,
  type Params,
} from './conv.js';
import { type EmaCodebook, nearestCodes, oneHotCodes } from './quantizer.js';
import { checkImageBatch, checkImageShape, type EncodeOptions } from './shared.js';
import {
  type VqVaeConfig,
  type VqVaeConfigInput,
  type VqVaePreset,
  vqVaeConfig,
} from './vq-config.js';

/** The `kind` written into VQ-VAE checkpoints. */
export const VQ_CHECKPOINT_KIND = 'sculpt-vq-vae';

const buffer = (init: () => tf.Tensor): tf.Variable => tf.tidy(() => tf.variable(init(), false));

/**
 * A VQ-VAE over images `[B, H, W, C]` in [0, 1] (van den Oord et al. 2017).
 * `encodeCodes` gives the discrete code grid `[B, h, w]` (int32 tokens for an
 * autoregressive prior), `decodeCodes` turns a grid back into images. As core's
 * `Autoencoder`, `encode` returns the quantised latents `[B, h, w, D]` and
 * `decode` maps such latents to pixel probabilities.
 *
 * @example
 * ```ts
 * const vq = VqVaeModel.create('mnist-vq', { seed: 1 });
 * const codes = vq.encodeCodes(images);   // int32 [B, 7, 7], values in [0, 64)
 * const back = vq.decodeCodes(codes);     // [B, 28, 28, 1] in [0, 1]
 * ```
 */
export class VqVaeModel implements Autoencoder {
  /** The frozen config. */
  readonly config: VqVaeConfig;
  /** Trainable weights by name (owned by the model). */
  readonly params: Params;
  /** The EMA codebook state (not trained by gradients; owned by the model). */
  readonly ema: EmaCodebook;
  private disposed = false;

  private constructor(config: VqVaeConfig, seed: number) {
    this.config = config;
    const rng = new Rng(seed);
    const p: Params = {};
    const { convChannels: ch, codeDim: d, numCodes: k } = config;
    const last = ch[ch.length - 1];
    addConvEncoder(p, rng, config.imageShape[2], ch);
    addConv(p, rng, 'enc/proj', last, d, 1);
    addConv(p, rng, 'dec/in', d, last);
    addConvDecoder(p, rng, config.imageShape[2], ch);
    this.params = p;
    const init = rng.uniformArray(k * d, -1 / k, 1 / k);
    this.ema = {
      codebook: buffer(() => tf.tensor2d(init, [k, d])),
      counts: buffer(() => tf.zeros([k])),
      sums: buffer(() => tf.zeros([k, d])),
    };
  }

  /** A fresh model from a preset name or config input. @returns the caller owns it. */
  static create(
    config: VqVaePreset | VqVaeConfigInput = 'tiny-vq',
    options: { seed?: number } = {},
  ): VqVaeModel {
    return new VqVaeModel(vqVaeConfig(config), options.seed ?? 0);
  }

  /** `VqVaeModel.fromConfig(model.getConfig())` builds the same architecture (fresh weights). */
  static fromConfig(config: VqVaeConfig | VqVaeConfigInput, options: { seed?: number } = {}) {
    return new VqVaeModel(vqVaeConfig(config), options.seed ?? 0);
  }

  /** The frozen, JSON-serialisable config. */
  getConfig(): VqVaeConfig {
    return this.config;
  }

  /** The code grid of one image, `[h, w]`. */
  get gridShape(): [number, number] {
    const s = 2 ** this.config.convChannels.length;
    return [this.config.imageShape[0] / s, this.config.imageShape[1] / s];
  }

  /** Shape of one latent: `[h, w, D]`. */
  get latentShape(): readonly number[] {
    return [...this.gridShape, this.config.codeDim];
  }

  /** Number of trainable scalars. */
  get parameterCount(): number {
    return Object.values(this.params).reduce((n, v) => n + v.size, 0);
  }

  private check(where: string): void {
    if (this.disposed)
      throw new SculptError(where, 'a live model', 'a disposed one', 'create or load a new model');
  }

  /** @throws SculptError unless `x` is `[B, H, W, C]` of this model's image shape with finite pixels. */
  checkImages(where: string, x: tf.Tensor): void {
    this.check(where);
    checkImageBatch(where, x, this.config.imageShape);
  }

  /**
   * Continuous encoder outputs z_e(x), `[B, h, w, D]` (before quantisation). The caller owns them.
   * `options.checkPixels: false` checks the shape only (no sync read; see `VaeModel.encodeParams`).
   */
  encodeContinuous(x: tf.Tensor, options: EncodeOptions = {}): tf.Tensor4D {
    if (options.checkPixels === false) {
      this.check('VqVaeModel.encode');
      checkImageShape('VqVaeModel.encode', x, this.config.imageShape);
    } else this.checkImages('VqVaeModel.encode', x);
    return tf.tidy(() => {
      const h = convEncoder(this.params, x as tf.Tensor4D, this.config.convChannels.length);
      return conv(this.params, 'enc/proj', h);
    });
  }

  /** Decoder logits from latents `[B, h, w, D]`: `[B, H, W, C]`. The caller owns them. */
  decodeLogits(latents: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => {
      const h = conv(this.params, 'dec/in', latents, { activation: 'relu' });
      return convDecoder(this.params, h, this.config.convChannels.length);
    });
  }

  /**
   * The code grid of images: int32 `[B, h, w]`, values in [0, K).
   * @throws SculptError for a wrong image shape or non-finite pixels.
   */
  encodeCodes(x: tf.Tensor): tf.Tensor3D {
    const z = this.encodeContinuous(x);
    return tf.tidy(() => {
      const [b, h, w, d] = z.shape;
      const flat = tf.reshape(z, [b * h * w, d]) as tf.Tensor2D;
      const codes = tf.reshape(nearestCodes(flat, this.ema.codebook as tf.Tensor2D), [b, h, w]);
      z.dispose();
      return codes as tf.Tensor3D;
    });
  }

  /** Code vectors of a grid: int32 `[B, h, w]` → `[B, h, w, D]`. */
  codeVectors(indices: tf.Tensor): tf.Tensor4D {
    this.checkCodes('VqVaeModel.decodeCodes', indices);
    return tf.tidy(() => {
      const [b, h, w] = indices.shape;
      const oneHot = oneHotCodes(tf.reshape(tf.cast(indices, 'int32'), [-1]), this.config.numCodes);
      const e = tf.matMul(oneHot, this.ema.codebook);
      return tf.reshape(e, [b, h, w, this.config.codeDim]) as tf.Tensor4D;
    });
  }

  /**
   * Images from a code grid `[B, h, w]` of indices in [0, K): pixel probabilities `[B, H, W, C]`.
   * @throws SculptError for a wrong grid shape or an index out of range.
   */
  decodeCodes(indices: tf.Tensor): tf.Tensor4D {
    const e = this.codeVectors(indices);
    const out = tf.tidy(() => tf.sigmoid(this.decodeLogits(e)));
    e.dispose();
    return out;
  }

  private checkCodes(where: string, indices: tf.Tensor): void {
    this.check(where);
    const [h, w] = this.gridShape;
    if (indices.rank !== 3 || indices.shape[1] !== h || indices.shape[2] !== w)
      throw new SculptError(
        where,
        `expected a code grid of shape [B, ${h}, ${w}]`,
        `got ${formatShape(indices.shape)}`,
        'pass the output of encodeCodes',
      );
    const k = this.config.numCodes;
    const [lo, hi] = tf.tidy(() => [tf.min(indices).dataSync()[0], tf.max(indices).dataSync()[0]]);
    if (lo < 0 || hi >= k || !Number.isInteger(lo) || !Number.isInteger(hi))
      throw new SculptError(
        where,
        `expected integer code indices in [0, ${k})`,
        `got values from ${lo} to ${hi}`,
        `the model has ${k} codes`,
      );
  }

  /** `Autoencoder.encode`: the quantised latents `[B, h, w, D]` (nearest code vectors). The caller owns them. */
  encode(x: tf.Tensor): tf.Tensor4D {
    const codes = this.encodeCodes(x);
    const e = this.codeVectors(codes);
    codes.dispose();
    return e;
  }

  /** `Autoencoder.decode`: latents `[B, h, w, D]` → pixel probabilities `[B, H, W, C]`. */
  decode(latents: tf.Tensor): tf.Tensor4D {
    this.check('VqVaeModel.decode');
    const [h, w, d] = this.latentShape;
    if (
      latents.rank !== 4 ||
      latents.shape[1] !== h ||
      latents.shape[2] !== w ||
      latents.shape[3] !== d
    )
      throw new SculptError(
        'VqVaeModel.decode',
        `expected latents of shape [B, ${h}, ${w}, ${d}]`,
        `got ${formatShape(latents.shape)}`,
        'pass the output of encode, or use decodeCodes for a code grid',
      );
    return tf.tidy(() => tf.sigmoid(this.decodeLogits(latents as tf.Tensor4D)));
  }

  /** Weights, EMA codebook state and config in sculpt's checkpoint layout (tensors are the model's own). */
  toCheckpoint(): Checkpoint {
    return packTrainingCheckpoint({
      kind: VQ_CHECKPOINT_KIND,
      version: 1,
      config: this.config as unknown as JsonValue,
      weights: this.allTensors(),
    });
  }

  /** Trainable weights and the codebook state under their checkpoint names. */
  allTensors(): Record<string, tf.Variable> {
    const { codebook, counts, sums } = this.ema;
    return { ...this.params, 'vq/codebook': codebook, 'vq/counts': counts, 'vq/sums': sums };
  }

  /** A model from a checkpoint (tensors read, not taken). @returns the caller owns it. */
  static fromCheckpoint(where: string, checkpoint: Checkpoint): VqVaeModel {
    const { config, weights } = unpackTrainingCheckpoint(where, checkpoint, VQ_CHECKPOINT_KIND);
    const model = VqVaeModel.fromConfig(config as unknown as VqVaeConfig);
    try {
      assignModelWeights(where, model.allTensors(), weights);
    } catch (error) {
      model.dispose();
      throw error;
    }
    return model;
  }

  /** Saves weights, codebook and config (core's atomic checkpoint). @example `await vq.save('ckpt/vq')` */
  async save(dir: string): Promise<void> {
    await saveCheckpoint(dir, this.toCheckpoint());
  }

  /**
   * @internal How `load` and the trainer's `resume` read a checkpoint: every
   * `model/` tensor checked (name, shape, dtype) against the architecture of the
   * stored config before any tensor is made.
   */
  static loadOptions(): LoadCheckpointOptions {
    return expectTrainingWeights(VQ_CHECKPOINT_KIND, (config) =>
      weightSpecs(VqVaeModel.fromConfig(config as unknown as VqVaeConfig), (m) => m.allTensors()),
    );
  }

  /** Loads a model saved by `save` (or a trainer checkpoint). @returns the caller owns it. */
  static async load(dir: string): Promise<VqVaeModel> {
    const ckpt = await loadCheckpoint(dir, VqVaeModel.loadOptions());
    try {
      return VqVaeModel.fromCheckpoint('VqVaeModel.load', ckpt);
    } finally {
      tf.dispose(Object.values(ckpt.tensors));
    }
  }

  /** Frees weights and codebook. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    tf.dispose([...Object.values(this.params), ...Object.values(this.ema)]);
  }
}
