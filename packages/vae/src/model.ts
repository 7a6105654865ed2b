// MLP or conv autoencoder / VAE: weights are plain tf.Variables, saved through core's checkpoints.
import {
  type Autoencoder,
  assignModelWeights,
  type Checkpoint,
  DiagonalNormal,
  expectTrainingWeights,
  type FetchCheckpointOptions,
  formatShape,
  type JsonValue,
  type LoadCheckpointOptions,
  loadCheckpoint,
  modelFromUrl,
  packTrainingCheckpoint,
  Rng,
  SculptError,
  saveCheckpoint,
  unpackTrainingCheckpoint,
  weightSpecs,
} from '@sculpt/core';
import * as tf from '@tensorflow/tfjs-core';
import { type VaeConfig, type VaeConfigInput, type VaePreset, vaeConfig } from './config.js';
import {
  addConvDecoder,
  addConvEncoder,
  addDense,
  convDecoder,
  convEncoder,
  dense,
  type Params,
} from './conv.js';
import { decoderMean, logLikelihoodFlat } from './likelihood.js';
import { checkImageBatch, checkImageShape, type EncodeOptions } from './shared.js';

/** The `kind` written into checkpoints of this package. */
export const CHECKPOINT_KIND = 'sculpt-vae';

/** Options of {@link VaeModel.create}. */
export interface CreateVaeOptions {
  /** Seed of the weight initialisation. Default 0. */
  seed?: number;
}

/**
 * An MLP or conv autoencoder (`kind: 'ae'`) or variational autoencoder (`kind: 'vae'`)
 * over images `[B, H, W, C]` with pixels in [0, 1]. Implements core's
 * `Autoencoder` contract: `encode` returns a `DiagonalNormal` (VAE) or a
 * latent tensor (AE), `decode` returns the decoder mean (pixel probabilities
 * for a Bernoulli decoder).
 *
 * @example
 * ```ts
 * const vae = VaeModel.create('tiny', { seed: 1 });
 * const q = vae.encode(images) as DiagonalNormal;   // q(z|x)
 * const recon = vae.decode(q.mean);                 // [B, 8, 8, 1] in [0, 1]
 * q.dispose(); recon.dispose(); vae.dispose();
 * ```
 */
export class VaeModel implements Autoencoder {
  /** The frozen config. */
  readonly config: VaeConfig;
  /** The weights by name (owned by the model). */
  readonly params: Record<string, tf.Variable>;
  private disposed = false;

  private constructor(config: VaeConfig, seed: number) {
    this.config = config;
    const rng = new Rng(seed);
    const p: Params = {};
    try {
      const conv = config.arch === 'conv';
      if (conv) addConvEncoder(p, rng, config.imageShape[2], config.convChannels);
      let w = conv ? this.featureSize : this.pixels;
      config.hidden.forEach((h, i) => {
        addDense(p, rng, `enc/${i}`, w, h);
        w = h;
      });
      addDense(p, rng, 'enc/mean', w, config.latentDim);
      if (config.kind === 'vae') addDense(p, rng, 'enc/logvar', w, config.latentDim);
      w = config.latentDim;
      [...config.hidden].reverse().forEach((h, i) => {
        addDense(p, rng, `dec/${i}`, w, h);
        w = h;
      });
      addDense(p, rng, conv ? 'dec/proj' : 'dec/out', w, conv ? this.featureSize : this.pixels);
      if (conv) addConvDecoder(p, rng, config.imageShape[2], config.convChannels);
      if (config.likelihood === 'gaussian' && config.decoderStd === 'learned')
        p['dec/logvar'] = tf.tidy(() => tf.variable(tf.fill([this.pixels], Math.log(0.1)), true));
    } catch (error) {
      // A weight that cannot be made (e.g. a huge latentDim) frees the ones already made.
      tf.dispose(Object.values(p));
      throw error;
    }
    this.params = p;
  }

  /** Conv only: the encoder's feature map `[h, w, c]` before the dense layers. */
  private get featureShape(): [number, number, number] {
    const [h, w] = this.config.imageShape;
    const s = 2 ** this.config.convChannels.length;
    return [h / s, w / s, this.config.convChannels.at(-1) ?? 1];
  }

  private get featureSize(): number {
    const [h, w, c] = this.featureShape;
    return h * w * c;
  }

  /**
   * A fresh model from a preset name or config input.
   * @returns a new model; the caller owns it (`dispose()`).
   */
  static create(
    config: VaePreset | VaeConfigInput = 'tiny',
    options: CreateVaeOptions = {},
  ): VaeModel {
    return new VaeModel(vaeConfig(config), options.seed ?? 0);
  }

  /** `VaeModel.fromConfig(model.getConfig())` builds the same architecture (fresh weights). */
  static fromConfig(config: VaeConfig | VaeConfigInput, options: CreateVaeOptions = {}): VaeModel {
    return new VaeModel(vaeConfig(config), options.seed ?? 0);
  }

  /** The frozen, JSON-serialisable config. */
  getConfig(): VaeConfig {
    return this.config;
  }

  /** Pixels per image, H·W·C. */
  get pixels(): number {
    const [h, w, c] = this.config.imageShape;
    return h * w * c;
  }

  /** Shape of one latent: `[latentDim]`. */
  get latentShape(): readonly number[] {
    return [this.config.latentDim];
  }

  /** Number of trainable scalars. */
  get parameterCount(): number {
    return Object.values(this.params).reduce((n, v) => n + v.size, 0);
  }

  private check(where: string): void {
    if (this.disposed)
      throw new SculptError(where, 'a live model', 'a disposed one', 'create or load a new model');
  }

  /** @throws SculptError unless `x` is `[B, H, W, C]` float32 of this model's image shape with finite pixels. */
  checkImages(where: string, x: tf.Tensor): void {
    this.check(where);
    checkImageBatch(where, x, this.config.imageShape);
  }

  /** @throws SculptError unless `z` is `[B, latentDim]`. */
  checkLatent(where: string, z: tf.Tensor): void {
    this.check(where);
    if (z.rank !== 2 || z.shape[1] !== this.config.latentDim)
      throw new SculptError(
        where,
        `expected a latent of shape [B, ${this.config.latentDim}]`,
        `got ${formatShape(z.shape)}`,
        'pass latents from encode() or of the model latentDim',
      );
  }

  private mlp(prefix: string, h: tf.Tensor2D, n: number): tf.Tensor2D {
    let out = h;
    for (let i = 0; i < n; i++) out = tf.relu(dense(this.params, `${prefix}/${i}`, out));
    return out;
  }

  /** The encoder input of the dense layers: flat pixels (MLP) or flat conv features. */
  private features(x: tf.Tensor): tf.Tensor2D {
    const b = x.shape[0];
    if (this.config.arch === 'mlp') return tf.reshape(x, [b, this.pixels]);
    const depth = this.config.convChannels.length;
    return tf.reshape(convEncoder(this.params, x as tf.Tensor4D, depth), [b, this.featureSize]);
  }

  /**
   * Encoder outputs μ and (VAE) log σ², `[B, latentDim]` each. The caller owns them.
   * @example `const { mean } = vae.encodeParams(digits, { checkPixels: false }); // no sync read`
   */
  encodeParams(
    x: tf.Tensor,
    options: EncodeOptions = {},
  ): { mean: tf.Tensor2D; logVar?: tf.Tensor2D } {
    if (options.checkPixels === false) {
      this.check('VaeModel.encode');
      checkImageShape('VaeModel.encode', x, this.config.imageShape);
    } else this.checkImages('VaeModel.encode', x);
    return tf.tidy(() => {
      const h = this.mlp('enc', this.features(x), this.config.hidden.length);
      const mean = dense(this.params, 'enc/mean', h);
      if (this.config.kind === 'ae') return { mean };
      return { mean, logVar: dense(this.params, 'enc/logvar', h) };
    });
  }

  /**
   * q(z|x) for a VAE (a `DiagonalNormal` over `[B, latentDim]`), or the latent
   * code `[B, latentDim]` for an AE.
   * @returns the caller owns the result (`dispose()`).
   * @throws SculptError for a wrong image shape or non-finite pixels.
   */
  encode(x: tf.Tensor): DiagonalNormal | tf.Tensor {
    const { mean, logVar } = this.encodeParams(x);
    if (!logVar) return mean;
    return new DiagonalNormal({ mean, logVar });
  }

  /** Decoder outputs before the link function (logits for Bernoulli, means for Gaussian), `[B, H, W, C]`. */
  decodeRaw(z: tf.Tensor): tf.Tensor4D {
    this.checkLatent('VaeModel.decode', z);
    return tf.tidy(() => {
      const b = z.shape[0];
      const h = this.mlp('dec', z as tf.Tensor2D, this.config.hidden.length);
      if (this.config.arch === 'mlp')
        return tf.reshape(dense(this.params, 'dec/out', h), [b, ...this.config.imageShape]);
      // [B, F] → [B, h, w, c] → upsample + conv per level → [B, H, W, C]
      const f = tf.reshape(tf.relu(dense(this.params, 'dec/proj', h)), [
        b,
        ...this.featureShape,
      ]) as tf.Tensor4D;
      return convDecoder(this.params, f, this.config.convChannels.length);
    });
  }

  /**
   * The decoder mean E[x|z]: pixel probabilities (Bernoulli), the continuous-Bernoulli mean, or means (Gaussian), `[B, H, W, C]`.
   * @returns the caller owns it.
   */
  decode(z: tf.Tensor): tf.Tensor4D {
    return tf.tidy(() => {
      const raw = this.decodeRaw(z);
      return decoderMean(this.config.likelihood, raw) as tf.Tensor4D;
    });
  }

  /**
   * log p(x|z) summed over pixels, per image: `[B]` (nats). `raw` is {@link VaeModel.decodeRaw}'s output.
   * Bernoulli: Σ x·l − softplus(l); continuous Bernoulli adds log C(λ); Gaussian: Σ −½[(x − μ)²/σ² + log σ² + ln 2π].
   */
  logLikelihood(x: tf.Tensor, raw: tf.Tensor): tf.Tensor1D {
    return tf.tidy(() => {
      const n = raw.shape[0];
      const { likelihood, decoderStd } = this.config;
      const logVar =
        decoderStd === 'learned' ? this.params['dec/logvar'] : tf.scalar(2 * Math.log(decoderStd));
      return logLikelihoodFlat(
        likelihood,
        tf.reshape(x, [n, this.pixels]),
        tf.reshape(raw, [n, this.pixels]),
        logVar,
      );
    });
  }

  /** Weights + config in sculpt's checkpoint layout (tensors are the model's own variables). */
  toCheckpoint(): Checkpoint {
    return packTrainingCheckpoint({
      kind: CHECKPOINT_KIND,
      version: 1,
      config: this.config as unknown as JsonValue,
      weights: this.params,
    });
  }

  /**
   * A model from a checkpoint written by `save` or a trainer.
   * @returns a new model; the caller owns it. The checkpoint's tensors are read, not taken.
   * @throws CheckpointError / SculptError for another kind or mismatched weights.
   */
  static fromCheckpoint(where: string, checkpoint: Checkpoint): VaeModel {
    const { config, weights } = unpackTrainingCheckpoint(where, checkpoint, CHECKPOINT_KIND);
    const model = VaeModel.fromConfig(config as unknown as VaeConfig);
    try {
      assignModelWeights(where, model.params, weights);
    } catch (error) {
      model.dispose();
      throw error;
    }
    return model;
  }

  /** Saves weights + config to a directory (core's atomic checkpoint). @example `await vae.save('ckpt/vae')` */
  async save(dir: string): Promise<void> {
    await saveCheckpoint(dir, this.toCheckpoint());
  }

  /**
   * Loads a model from a URL: the bytes of `toBytes()` or a saved folder's
   * `weights.safetensors`, with progress, an AbortSignal and a cache (the
   * browser Cache API by default; see core's `fetchCheckpoint`).
   * @returns a new model; the caller owns it.
   * @throws CheckpointError on a 404, a truncated download or corrupt bytes; AbortError when aborted.
   * @example `const model = await VaeModel.fromUrl('https://example.com/vae/weights.safetensors', { onProgress: (p) => console.log(p.loadedBytes) })`
   */
  static fromUrl(url: string, options: FetchCheckpointOptions = {}): Promise<VaeModel> {
    return modelFromUrl(url, options, (c) => VaeModel.fromCheckpoint('VaeModel.fromUrl', c));
  }

  /**
   * @internal How `load` and the trainer's `resume` read a checkpoint: every
   * `model/` tensor checked (name, shape, dtype) against the architecture of the
   * stored config before any tensor is made.
   */
  static loadOptions(): LoadCheckpointOptions {
    return expectTrainingWeights(CHECKPOINT_KIND, (config) =>
      weightSpecs(VaeModel.fromConfig(config as unknown as VaeConfig), (m) => m.params),
    );
  }

  /** Loads a model saved by `save` (or a trainer checkpoint). @returns the caller owns it. */
  static async load(dir: string): Promise<VaeModel> {
    const ckpt = await loadCheckpoint(dir, VaeModel.loadOptions());
    try {
      return VaeModel.fromCheckpoint('VaeModel.load', ckpt);
    } finally {
      tf.dispose(Object.values(ckpt.tensors));
    }
  }

  /** Frees the weights. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    tf.dispose(Object.values(this.params));
  }
}
