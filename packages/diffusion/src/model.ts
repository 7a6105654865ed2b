// DiffusionModel: a U-Net + its config, seen from outside as a Denoiser.
// Sampling, img2img and inpainting go through @sculpt/samplers; weights go
// through core's checkpoints.
import {
  assignModelWeights,
  type Checkpoint,
  type Conditioning,
  checkpointFromBytes,
  checkpointToBytes,
  type Denoiser,
  expectTrainingWeights,
  type FetchCheckpointOptions,
  formatShape,
  type JsonValue,
  type LoadCheckpointOptions,
  loadCheckpoint,
  modelFromUrl,
  type NoiseSchedule,
  packTrainingCheckpoint,
  Rng,
  SculptError,
  saveCheckpoint,
  unpackTrainingCheckpoint,
  weightSpecs,
} from '@sculpt/core';
import { type DiffusionNetwork, discreteDenoiser, karrasDenoiser } from '@sculpt/samplers';
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { hasNonFinite } from './checks.js';
import {
  type DiffusionConfig,
  type DiffusionConfigInput,
  diffusionConfig,
  scheduleOf,
  sigmaRange,
} from './config.js';
import {
  type Img2ImgModelOptions,
  type InpaintModelOptions,
  img2imgModel,
  img2imgModelAsync,
  inpaintModel,
  inpaintModelAsync,
  type SampleOptions,
  sampleModel,
} from './sample.js';
import { buildUNet, DEFAULT_CONTEXT_LENGTH, hasContext, unetParams } from './unet.js';

/** EDM's c_noise = ln(σ)/4 spans about [−1.6, 1.1]; scaled so the sinusoids see a DDPM-like range. */
export const EDM_NOISE_SCALE = 250;
/** Checkpoint JSON tag of a diffusion model. */
export const CHECKPOINT_KIND = 'sculpt-diffusion';

/** Weights that the template initialises to zero (so residual branches start as the identity). */
const ZERO_INIT = /(_conv2\/kernel|out_conv\/kernel|proj_kernel)$/;

/** Re-draws every random initial weight from `rng` (tfjs-layers' initialisers are unseeded). */
function seedWeights(params: Record<string, tf.Variable>, rng: Rng): void {
  for (const [name, v] of Object.entries(params)) {
    if (ZERO_INIT.test(name)) continue;
    const shape = v.shape;
    if (name.endsWith('/embeddings')) {
      tf.tidy(() => v.assign(tf.mul(rng.normal(shape), 1 / Math.sqrt(shape[1] as number))));
    } else if (/kernel$/.test(name)) {
      const receptive = shape.slice(0, -2).reduce((a, b) => a * b, 1);
      const limit = Math.sqrt(
        6 / (receptive * (shape.at(-2) as number) + receptive * (shape.at(-1) as number)),
      );
      tf.tidy(() => v.assign(tf.sub(tf.mul(rng.uniform(shape), 2 * limit), limit))); // Glorot uniform
    }
  }
}

/** Options of {@link DiffusionModel.create}. */
export interface CreateModelOptions {
  /** Seed of the initial weights. Default 0. */
  seed?: number;
}

/**
 * A class-conditional (or unconditional) U-Net diffusion model.
 *
 * Owns its network and weights (`dispose()` frees them). The denoiser
 * (`model.denoiser`) is a core `Denoiser`, so every sampler in
 * @sculpt/samplers works with it; `sample`, `img2img` and `inpaint` live in
 * ./sample.ts, training in ./train.ts.
 *
 * @example
 * ```ts
 * const model = DiffusionModel.create('tiny', { seed: 1 });
 * const x0 = model.denoiser(x, sigma, { labels }); // [B, 8, 8, 1]
 * model.dispose();
 * ```
 */
export class DiffusionModel {
  /** The frozen config this model was built from. */
  readonly config: DiffusionConfig;
  /** The discrete noise schedule of the config. */
  readonly schedule: NoiseSchedule;
  /** The tfjs-layers U-Net (inputs image, timestep[, label]). Owned by the model. */
  readonly net: tfl.LayersModel;
  /** The weights by stable name; the model owns them. */
  readonly params: Readonly<Record<string, tf.Variable>>;
  private denoiserCache: (Denoiser & { dispose?: () => void }) | undefined;

  private constructor(config: DiffusionConfig) {
    this.config = config;
    this.schedule = scheduleOf(config);
    this.net = buildUNet(config.unet);
    this.params = unetParams(this.net);
  }

  /**
   * A new model with seeded random weights.
   * @param config - a preset name, a {@link DiffusionConfigInput} or a {@link DiffusionConfig}.
   * @param options - `seed` (default 0).
   * @returns a new model; the caller owns it.
   * @example
   * ```ts
   * const model = DiffusionModel.create('mnist', { seed: 0 });
   * ```
   */
  static create(
    config: string | DiffusionConfigInput | DiffusionConfig = 'mnist',
    options: CreateModelOptions = {},
  ): DiffusionModel {
    const input =
      typeof config === 'string'
        ? { preset: config as DiffusionConfigInput['preset'] }
        : (config as DiffusionConfigInput);
    const model = new DiffusionModel(diffusionConfig(input));
    seedWeights(model.params as Record<string, tf.Variable>, new Rng(options.seed ?? 0));
    return model;
  }

  /**
   * `DiffusionModel.fromConfig(model.getConfig())` builds the same
   * architecture (weights freshly initialised from `options.seed`).
   * @example
   * ```ts
   * const twin = DiffusionModel.fromConfig(model.getConfig());
   * ```
   */
  static fromConfig(config: DiffusionConfig, options: CreateModelOptions = {}): DiffusionModel {
    return DiffusionModel.create(config, options);
  }

  /**
   * @internal How `load`, `fromBytes` and `DiffusionTrainer.resume` read a
   * checkpoint: every `model/` weight checked (name, shape, dtype) against the
   * architecture of the stored config before any tensor is made.
   */
  static loadOptions(): LoadCheckpointOptions {
    return expectTrainingWeights(CHECKPOINT_KIND, (config) =>
      weightSpecs(
        new DiffusionModel(diffusionConfig(config as DiffusionConfigInput)),
        (m) => m.params,
      ),
    );
  }

  /** The frozen, JSON-serialisable config. @example `JSON.stringify(model.getConfig())` */
  getConfig(): DiffusionConfig {
    return this.config;
  }

  /** Number of classes (0 = unconditional); label `numClasses` is the null label. */
  get numClasses(): number {
    return this.config.unet.numClasses;
  }

  /** `[H, W, C]` of the images. */
  get imageShape(): [number, number, number] {
    const { imageSize, channels } = this.config.unet;
    return [imageSize, imageSize, channels];
  }

  /**
   * The raw network `(x, t, cond) → output` (ε, v or x₀ for discrete; F for EDM).
   * Missing labels mean the null label. The caller owns the result.
   */
  readonly network: DiffusionNetwork = (x, t, cond) =>
    tf.tidy(() => {
      const b = x.shape[0];
      const time = this.config.preconditioning === 'edm' ? tf.mul(t, EDM_NOISE_SCALE) : t;
      const inputs = [x, tf.reshape(time, [b, 1])];
      if (this.numClasses > 0) inputs.push(tf.reshape(this.labelsOrNull(cond, b), [b, 1]));
      if (hasContext(this.config.unet)) inputs.push(...this.contextOrNull(cond, b));
      return this.net.apply(inputs, { training: false }) as tf.Tensor;
    });

  /** `[context, mask]`; a missing context is all padding (the cross-attention then adds only its bias). */
  private contextOrNull(cond: Conditioning | undefined, batch: number): [tf.Tensor, tf.Tensor] {
    const { contextDim = 0, contextLength = DEFAULT_CONTEXT_LENGTH } = this.config.unet;
    const context = cond?.context;
    if (context === undefined) {
      return [tf.zeros([batch, contextLength, contextDim]), tf.zeros([batch, contextLength])];
    }
    if (context.shape.join(',') !== [batch, contextLength, contextDim].join(',')) {
      throw new SculptError(
        'DiffusionModel.network',
        `expected cond.context of shape [${batch}, ${contextLength}, ${contextDim}] (batch, contextLength, contextDim)`,
        `got ${formatShape(context.shape)}`,
        'encode prompts with a text encoder whose contextLength and width match the U-Net config',
      );
    }
    const mask = cond?.contextMask;
    return [
      context,
      mask instanceof tf.Tensor ? tf.cast(mask, 'float32') : tf.ones([batch, contextLength]),
    ];
  }

  private labelsOrNull(cond: Conditioning | undefined, batch: number): tf.Tensor {
    const labels = cond?.labels;
    if (labels === undefined) return tf.fill([batch], this.numClasses, 'float32');
    if (labels.shape[0] !== batch) {
      throw new SculptError(
        'DiffusionModel.network',
        `expected ${batch} labels (one per image)`,
        `got shape ${formatShape(labels.shape)}`,
      );
    }
    return tf.cast(labels, 'float32');
  }

  /**
   * The model as a core `Denoiser` (x, σ, cond) → x̂₀ in the k-diffusion
   * convention, built once. Owned by the model.
   * @example
   * ```ts
   * const x0 = model.denoiser(x, tf.tensor1d([1.5, 1.5]), { labels });
   * ```
   */
  get denoiser(): Denoiser {
    if (!this.denoiserCache) {
      this.denoiserCache =
        this.config.preconditioning === 'edm'
          ? karrasDenoiser(this.network, { sigmaData: this.config.sigmaData })
          : discreteDenoiser(this.network, {
              schedule: this.schedule,
              prediction: this.config.prediction,
            });
    }
    return this.denoiserCache;
  }

  /** `{ sigmaMin, sigmaMax }` of sampling. */
  get sigmaRange(): { sigmaMin: number; sigmaMax: number } {
    return sigmaRange(this.config, this.schedule);
  }

  /** Checks class ids: integers in [0, numClasses). Returns them as an Int32Array. */
  checkLabels(where: string, labels: ArrayLike<number>, count: number): Int32Array {
    if (typeof labels === 'string' || labels === null || typeof labels !== 'object') {
      throw new SculptError(
        where,
        'expected labels as an array of class ids (numbers)',
        `got a ${labels === null ? 'null' : typeof labels}${typeof labels === 'string' ? ` (${JSON.stringify(String(labels).slice(0, 20))})` : ''}`,
        "pass e.g. labels: [0, 1] rather than '01'",
      );
    }
    if (this.numClasses === 0) {
      throw new SculptError(
        where,
        'expected no labels for an unconditional model (numClasses = 0)',
        `got ${labels.length}`,
        'leave labels out',
      );
    }
    if (labels.length !== count) {
      throw new SculptError(
        where,
        `expected ${count} labels (one per image)`,
        `got ${labels.length}`,
      );
    }
    for (let i = 0; i < labels.length; i++) {
      const l = labels[i];
      if (!(Number.isInteger(l) && l >= 0 && l < this.numClasses)) {
        throw new SculptError(
          where,
          `expected labels to be integers in [0, ${this.numClasses - 1}]`,
          `got labels[${i}] = ${l}`,
        );
      }
    }
    return Int32Array.from(labels);
  }

  /** Throws unless `images` is `[N, H, W, C]` float32 matching the config. */
  checkImages(where: string, images: tf.Tensor): void {
    const [h, w, c] = this.imageShape;
    const ok =
      images instanceof tf.Tensor &&
      images.rank === 4 &&
      images.shape[1] === h &&
      images.shape[2] === w &&
      images.shape[3] === c &&
      images.dtype === 'float32';
    if (!ok) {
      const got = images instanceof tf.Tensor ? formatShape(images.shape) : typeof images;
      throw new SculptError(
        where,
        `expected images of shape [N, ${h}, ${w}, ${c}] in [-1, 1]`,
        `got ${got}`,
        'reshape/scale the batch (datasets: range "-1,1")',
      );
    }
    if (hasNonFinite(images)) {
      throw new SculptError(
        where,
        'expected finite pixel values in [-1, 1]',
        'got NaN or ±Infinity',
        'clean the image (e.g. tf.where(tf.isNaN(x), 0, x)) before passing it',
      );
    }
  }

  /**
   * The weights and config as a core checkpoint (tensors prefixed `model/`).
   * @returns tensors that are the model's own variables (do not dispose) + JSON.
   */
  toCheckpoint(): Checkpoint {
    return packTrainingCheckpoint({
      kind: CHECKPOINT_KIND,
      version: 1,
      config: this.config as unknown as JsonValue,
      weights: this.params,
    });
  }

  /**
   * A model from a checkpoint written by `save`, `toBytes` or a trainer.
   * @returns a new model; the caller owns it. The checkpoint's tensors are not disposed.
   */
  static fromCheckpoint(where: string, checkpoint: Checkpoint): DiffusionModel {
    const { config, weights } = unpackTrainingCheckpoint(where, checkpoint, CHECKPOINT_KIND);
    const model = new DiffusionModel(diffusionConfig(config as unknown as DiffusionConfigInput));
    try {
      assignModelWeights(where, model.params, weights);
    } catch (error) {
      model.dispose();
      throw error;
    }
    return model;
  }

  /**
   * Saves weights + config into a directory (Node; core's atomic checkpoint).
   * @example `await model.save('checkpoints/mnist')`
   */
  async save(dir: string): Promise<void> {
    await saveCheckpoint(dir, this.toCheckpoint());
  }

  /**
   * Loads a model from a URL: the bytes of `toBytes()` or a saved folder's
   * `weights.safetensors`, with progress, an AbortSignal and a cache (the
   * browser Cache API by default; see core's `fetchCheckpoint`).
   * @returns a new model; the caller owns it.
   * @throws CheckpointError on a 404, a truncated download or corrupt bytes; AbortError when aborted.
   * @example `const model = await DiffusionModel.fromUrl('https://example.com/mnist/weights.safetensors', { onProgress: (p) => console.log(p.loadedBytes) })`
   */
  static fromUrl(url: string, options: FetchCheckpointOptions = {}): Promise<DiffusionModel> {
    return modelFromUrl(url, options, (c) =>
      DiffusionModel.fromCheckpoint('DiffusionModel.fromUrl', c),
    );
  }

  /**
   * Loads a model saved by `save` (or a trainer checkpoint).
   * @returns a new model; the caller owns it.
   * @example `const model = await DiffusionModel.load('checkpoints/mnist')`
   */
  static async load(dir: string): Promise<DiffusionModel> {
    const checkpoint = await loadCheckpoint(dir, DiffusionModel.loadOptions());
    try {
      return DiffusionModel.fromCheckpoint('DiffusionModel.load', checkpoint);
    } finally {
      tf.dispose(Object.values(checkpoint.tensors));
    }
  }

  /**
   * Weights + config as one buffer (browsers: fetch it, store it in IndexedDB).
   * @returns a new `ArrayBuffer` holding a core checkpoint blob.
   * @example `const bytes = await model.toBytes()`
   */
  async toBytes(): Promise<ArrayBuffer> {
    const bytes = await checkpointToBytes(this.toCheckpoint());
    return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  }

  /**
   * The inverse of `toBytes`.
   * @returns a new model; the caller owns it.
   * @example `const model = DiffusionModel.fromBytes(await (await fetch(url)).arrayBuffer())`
   */
  static fromBytes(bytes: ArrayBuffer | Uint8Array): DiffusionModel {
    const checkpoint = checkpointFromBytes(
      bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes),
      DiffusionModel.loadOptions(),
    );
    try {
      return DiffusionModel.fromCheckpoint('DiffusionModel.fromBytes', checkpoint);
    } finally {
      tf.dispose(Object.values(checkpoint.tensors));
    }
  }

  /**
   * Draws images; see {@link sampleModel}.
   * @returns `[N, H, W, C]` in [-1, 1]; the caller owns it.
   * @example `const x = await model.sample({ labels: [3, 3], guidanceScale: 3, sampler: 'dpmpp-2m', steps: 20, seed: 1 })`
   */
  sample(options: SampleOptions = {}): Promise<tf.Tensor4D> {
    return sampleModel(this, options);
  }

  /**
   * img2img with any sampler; see {@link img2imgModel}.
   * @returns `[N, H, W, C]` in [-1, 1]; the caller owns it.
   * @example `const y = model.img2img({ image, strength: 0.5, labels: [8] })`
   */
  img2img(options: Img2ImgModelOptions): tf.Tensor4D {
    return img2imgModel(this, options);
  }

  /**
   * img2img that yields between sampler steps and stops at `options.signal`;
   * see {@link img2imgModelAsync}. Prefer it in a page: `img2img` blocks until done.
   * @returns `[N, H, W, C]` in [-1, 1]; the caller owns it.
   * @example `const y = await model.img2imgAsync({ image, strength: 0.5, labels: [8], signal })`
   */
  img2imgAsync(options: Img2ImgModelOptions): Promise<tf.Tensor4D> {
    return img2imgModelAsync(this, options);
  }

  /**
   * Inpainting with any sampler; see {@link inpaintModel}.
   * @returns `[N, H, W, C]` in [-1, 1]; the caller owns it.
   * @example `const y = model.inpaint({ image, mask, labels: [2] })`
   */
  inpaint(options: InpaintModelOptions): tf.Tensor4D {
    return inpaintModel(this, options);
  }

  /**
   * Inpainting that yields between sampler steps and stops at `options.signal`;
   * see {@link inpaintModelAsync}. Prefer it in a page: `inpaint` blocks until done.
   * @returns `[N, H, W, C]` in [-1, 1]; the caller owns it.
   * @example `const y = await model.inpaintAsync({ image, mask, labels: [2], signal })`
   */
  inpaintAsync(options: InpaintModelOptions): Promise<tf.Tensor4D> {
    return inpaintModelAsync(this, options);
  }

  /** Frees the weights and cached tensors. */
  dispose(): void {
    this.denoiserCache?.dispose?.();
    this.denoiserCache = undefined;
    this.net.dispose();
  }
}
