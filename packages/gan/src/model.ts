// GanModel: a DCGAN generator + discriminator and their config. Training
// lives in ./train.ts; weights go through core's checkpoints.
import {
  assignModelWeights,
  type Checkpoint,
  checkpointFromBytes,
  checkpointToBytes,
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
import { type GanConfig, type GanConfigInput, type GanPresetName, ganConfig } from './config.js';
import { generatorToBytes, newGeneratorParams } from './generator.js';
import {
  type DiscriminatorOutputs,
  discriminatorOutputs,
  discriminatorParams,
  oneHot,
  type Params,
  powerIteration,
  spectralVectors,
} from './nets.js';
import {
  checkLabels,
  type GanGenerateOptions,
  type GanSampleOptions,
  type GeneratorParts,
  generateImages,
  generatorImages,
  sampleImages,
} from './sampling.js';

/** Decay of the tracked mean w per G step (StyleGAN2's w_avg_beta). */
const MEAN_STYLE_DECAY = 0.995;

/** Checkpoint JSON tag of a GAN. */
export const CHECKPOINT_KIND = 'sculpt-gan';

/** Options of {@link GanModel.create}. */
export interface CreateGanOptions {
  /** Seed of the initial weights. Default 0. */
  seed?: number;
}

/**
 * A DCGAN: generator G(z, y) and discriminator D(x, y), class-conditional
 * when `config.numClasses > 0` (label embedding into G, projection D), with
 * optional spectral norm on D. Owns its weights (`dispose()` frees them).
 *
 * @example
 * ```ts
 * const gan = GanModel.create('tiny', { seed: 1 });
 * const images = gan.sample({ numSamples: 4, seed: 2 }); // [4, 8, 8, 1] in [-1, 1]
 * images.dispose();
 * gan.dispose();
 * ```
 */
export class GanModel implements GeneratorParts {
  /** The frozen config this model was built from. */
  readonly config: GanConfig;
  /** Generator weights by name (owned by the model). */
  readonly generator: Readonly<Params>;
  /** Discriminator weights by name (owned by the model). */
  readonly discriminator: Readonly<Params>;
  /** Spectral-norm power-iteration vectors (not trained; empty without spectral norm). */
  readonly spectral: Readonly<Params>;
  /** The style generator's tracked mean w (`avg`, [styleDim]; not trained, empty for a DCGAN). */
  readonly meanStyle: Readonly<Params>;
  /** The batch mean of w of the last training fakes (kept until {@link GanModel.updateMeanStyle}). */
  private pendingStyle: tf.Tensor | undefined;

  private constructor(config: GanConfig, rng: Rng) {
    this.config = config;
    const [g, d, s] = rng.split(3) as Rng[];
    ({ generator: this.generator, meanStyle: this.meanStyle } = newGeneratorParams(config, g));
    this.discriminator = discriminatorParams(config, d);
    this.spectral = config.spectralNorm ? spectralVectors(this.discriminator, s) : {};
  }

  /**
   * A new model with seeded random weights.
   * @param config - a preset name, a {@link GanConfigInput} or a {@link GanConfig}. Default `'dcgan-mnist'`.
   * @param options - `seed` (default 0).
   * @returns a new model; the caller owns it.
   * @example
   * ```ts
   * const gan = GanModel.create({ preset: 'cdcgan-mnist', spectralNorm: true }, { seed: 0 });
   * ```
   */
  static create(
    config: GanPresetName | GanConfigInput | GanConfig = 'dcgan-mnist',
    options: CreateGanOptions = {},
  ): GanModel {
    const input = typeof config === 'string' ? { preset: config } : (config as GanConfigInput);
    return new GanModel(ganConfig(input), new Rng(options.seed ?? 0));
  }

  /**
   * `GanModel.fromConfig(model.getConfig())` builds the same architecture
   * (weights freshly initialised from `options.seed`).
   * @example `const twin = GanModel.fromConfig(gan.getConfig())`
   */
  static fromConfig(config: GanConfig, options: CreateGanOptions = {}): GanModel {
    return GanModel.create(config, options);
  }

  /** The frozen, JSON-serialisable config. @example `JSON.stringify(gan.getConfig())` */
  getConfig(): GanConfig {
    return this.config;
  }

  /** Number of classes (0 = unconditional). */
  get numClasses(): number {
    return this.config.numClasses;
  }

  /** `[H, W, C]` of the images. */
  get imageShape(): [number, number, number] {
    const { imageSize, channels } = this.config;
    return [imageSize, imageSize, channels];
  }

  /** Every weight by name: `g/…`, `d/…`, (spectral norm) `sn/…` and (style G) `w/avg`. The model owns them. */
  get weights(): Readonly<Record<string, tf.Variable>> {
    const out: Record<string, tf.Variable> = {};
    for (const [prefix, p] of [
      ['g', this.generator],
      ['d', this.discriminator],
      ['sn', this.spectral],
      ['w', this.meanStyle],
    ] as const)
      for (const [k, v] of Object.entries(p)) out[`${prefix}/${k}`] = v;
    return out;
  }

  /**
   * G(z, y): noise `[B, latentDim]` (+ one label per row) → images `[B, H, W, C]` in (−1, 1).
   * Style generators also take `truncation`, `mixing` and a `noise` Rng.
   * @returns a new tensor; the caller owns it.
   * @throws SculptError for a wrong z shape, bad labels or controls out of range.
   * @example `const x = gan.generate(z, [3, 7], { truncation: 0.7 })`
   */
  generate(
    z: tf.Tensor2D,
    labels?: ArrayLike<number>,
    options: GanGenerateOptions = {},
  ): tf.Tensor4D {
    return generateImages('GanModel.generate', this, z, labels, options);
  }

  /**
   * G on the trainer's fakes, inside its tape: noise from `rng`, and (style G)
   * the batch mean of w kept for {@link GanModel.updateMeanStyle}.
   */
  trainingFakes(z: tf.Tensor2D, labels: Int32Array | undefined, rng: Rng): tf.Tensor4D {
    const { images, styles } = generatorImages(this, z, labels, { noise: rng });
    if (styles) {
      this.pendingStyle?.dispose();
      this.pendingStyle = tf.keep(tf.mean(styles, 0));
    }
    return images;
  }

  /** w̄ ← w̄ + (1 − β)(mean w of the last training fakes − w̄), β = 0.995 (the trainer calls it after each G step). */
  updateMeanStyle(): void {
    const batchMean = this.pendingStyle;
    if (!batchMean) return;
    const avg = this.meanStyle.avg;
    tf.tidy(() => avg.assign(tf.add(avg, tf.mul(tf.sub(batchMean, avg), 1 - MEAN_STYLE_DECAY))));
    batchMean.dispose();
    this.pendingStyle = undefined;
  }

  /**
   * D(x, y): images `[B, H, W, C]` in [−1, 1] (+ one label per image) → logits `[B]`.
   * @returns a new tensor; the caller owns it.
   * @example `const logits = gan.discriminate(images, labels)`
   */
  discriminate(images: tf.Tensor4D, labels?: ArrayLike<number>): tf.Tensor1D {
    const where = 'GanModel.discriminate';
    this.checkImages(where, images);
    const y = this.labelsFor(where, labels, images.shape[0]);
    return tf.tidy(() => this.critic(images, y));
  }

  /** D on already-checked inputs, inside the caller's tidy (used by the trainer). */
  critic(images: tf.Tensor4D, labels: Int32Array | undefined): tf.Tensor1D {
    return this.criticOutputs(images, labels).logits;
  }

  /** D's logits and (with `auxiliaryClassifier`) class logits `[B, K]`, inside the caller's tidy. */
  criticOutputs(images: tf.Tensor4D, labels: Int32Array | undefined): DiscriminatorOutputs {
    const sn = this.config.spectralNorm ? this.spectral : undefined;
    const y = labels ? oneHot(labels, this.numClasses) : undefined;
    return discriminatorOutputs(this.discriminator, sn, images, y);
  }

  /** One spectral-norm power iteration on D's weights (the trainer calls it before each D step). No-op without spectral norm. */
  updateSpectralNorm(): void {
    if (this.config.spectralNorm) powerIteration(this.discriminator, this.spectral);
  }

  /**
   * Draws images from G with seeded noise.
   * @returns `[N, H, W, C]` in (−1, 1); the caller owns it.
   * @example `const x = gan.sample({ labels: [0, 1, 2], seed: 3 })`
   */
  sample(options: GanSampleOptions = {}): tf.Tensor4D {
    return sampleImages('GanModel.sample', this, options);
  }

  /** Checks class ids against the model: integers in [0, numClasses), one per image. */
  labelsFor(
    where: string,
    labels: ArrayLike<number> | undefined,
    count: number,
  ): Int32Array | undefined {
    return checkLabels(where, this.numClasses, labels, count);
  }

  /** Throws unless `images` is `[N, H, W, C]` matching the config. */
  checkImages(where: string, images: tf.Tensor): void {
    const [h, w, c] = this.imageShape;
    const ok =
      images instanceof tf.Tensor &&
      images.rank === 4 &&
      images.shape[1] === h &&
      images.shape[2] === w &&
      images.shape[3] === c;
    if (!ok) {
      const got = images instanceof tf.Tensor ? formatShape(images.shape) : typeof images;
      throw new SculptError(
        where,
        `expected images of shape [N, ${h}, ${w}, ${c}] in [-1, 1]`,
        `got ${got}`,
        'reshape/scale the batch (datasets: range "-1,1")',
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
      weights: this.weights,
    });
  }

  /**
   * @internal How `load`, `fromBytes` and the trainer's `resume` read a
   * checkpoint: every `model/` tensor checked (name, shape, dtype) against the
   * architecture of the stored config before any tensor is made.
   */
  static loadOptions(): LoadCheckpointOptions {
    return expectTrainingWeights(CHECKPOINT_KIND, (config) =>
      weightSpecs(GanModel.create(config as unknown as GanConfigInput), (m) => m.weights),
    );
  }

  /**
   * A model from a checkpoint written by `save`, `toBytes` or a trainer.
   * @returns a new model; the caller owns it. The checkpoint's tensors are not disposed.
   * @throws CheckpointError for another kind; SculptError for weights that do not fit the config.
   */
  static fromCheckpoint(where: string, checkpoint: Checkpoint): GanModel {
    const { config, weights } = unpackTrainingCheckpoint(where, checkpoint, CHECKPOINT_KIND);
    const model = GanModel.create(config as unknown as GanConfigInput);
    try {
      assignModelWeights(where, model.weights, weights);
    } catch (error) {
      model.dispose();
      throw error;
    }
    return model;
  }

  /**
   * Saves weights + config into a directory (Node; core's atomic checkpoint).
   * @example `await gan.save('checkpoints/gan')`
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
   * @example `const model = await GanModel.fromUrl('https://example.com/dcgan/weights.safetensors', { onProgress: (p) => console.log(p.loadedBytes) })`
   */
  static fromUrl(url: string, options: FetchCheckpointOptions = {}): Promise<GanModel> {
    return modelFromUrl(url, options, (c) => GanModel.fromCheckpoint('GanModel.fromUrl', c));
  }

  /**
   * Loads a model saved by `save` (or a trainer checkpoint).
   * @returns a new model; the caller owns it.
   * @example `const gan = await GanModel.load('checkpoints/gan')`
   */
  static async load(dir: string): Promise<GanModel> {
    const checkpoint = await loadCheckpoint(dir, GanModel.loadOptions());
    try {
      return GanModel.fromCheckpoint('GanModel.load', checkpoint);
    } finally {
      tf.dispose(Object.values(checkpoint.tensors));
    }
  }

  /**
   * Weights + config as one buffer (browsers: fetch it, store it in IndexedDB).
   * @returns a new `ArrayBuffer` holding a core checkpoint blob.
   * @example `const bytes = await gan.toBytes()`
   */
  async toBytes(): Promise<ArrayBuffer> {
    const bytes = await checkpointToBytes(this.toCheckpoint());
    return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  }

  /**
   * The inverse of `toBytes`.
   * @returns a new model; the caller owns it.
   * @example `const gan = GanModel.fromBytes(await (await fetch(url)).arrayBuffer())`
   */
  static fromBytes(bytes: ArrayBuffer | Uint8Array): GanModel {
    const checkpoint = checkpointFromBytes(
      bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes),
      GanModel.loadOptions(),
    );
    try {
      return GanModel.fromCheckpoint('GanModel.fromBytes', checkpoint);
    } finally {
      tf.dispose(Object.values(checkpoint.tensors));
    }
  }

  /**
   * G alone as one small file for a web page: G's current weights, the
   * tracked mean w and the config (no D, no optimizer state). Export the EMA
   * weights through the trainer: `trainer.withEma(() => gan.exportGenerator())`.
   * `GanGenerator.fromBytes`/`fromUrl` load it and draw the same images for a seed.
   * @returns a new `ArrayBuffer`: a safetensors file whose metadata holds the config.
   * @example `await writeFile('cdcgan.safetensors', new Uint8Array(await gan.exportGenerator()))`
   */
  exportGenerator(): Promise<ArrayBuffer> {
    return generatorToBytes(this);
  }

  /** Frees every weight. */
  dispose(): void {
    this.pendingStyle?.dispose();
    tf.dispose(Object.values(this.weights));
  }
}
