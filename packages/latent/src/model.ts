// LatentDiffusionModel: a KlAutoencoder + a frozen PromptEncoder + a
// text-conditioned @sculpt/diffusion U-Net over the scaled latents, trained
// in two stages (autoencoder, then denoiser on latents re-encoded once per
// epoch with the encoder's sampling noise) and sampled through latentDiffusion.
import {
  assignModelWeights,
  type Checkpoint,
  checkpointFromBytes,
  checkpointToBytes,
  type Denoiser,
  type EmaOptions,
  expectTrainingWeights,
  type FetchCheckpointOptions,
  type FitCallbacks,
  type FitResult,
  type JsonValue,
  karrasSigmas,
  type LoadCheckpointOptions,
  type LrSchedule,
  loadCheckpoint,
  modelFromUrl,
  packTrainingCheckpoint,
  Rng,
  SculptError,
  saveCheckpoint,
  unpackTrainingCheckpoint,
  weightSpecs,
} from '@sculpt/core';
import { DiffusionModel, DiffusionTrainer } from '@sculpt/diffusion';
import { classifierFreeGuidance, type DiffusionSampler } from '@sculpt/samplers';
import * as tf from '@tensorflow/tfjs-core';
import { KlAutoencoder, measureScaleFactor } from './autoencoder.js';
import { autoencoderTrainer, batchIndices, encodeLatents, LatentBatches } from './batches.js';
import { type LatentConfig, type LatentConfigInput, latentConfig } from './config.js';
import { type LatentDiffusionOptions, latentDiffusion } from './pipeline.js';
import { PromptEncoder } from './prompt-encoder.js';

/** Checkpoint JSON tag of a latent diffusion model. */
export const LATENT_CHECKPOINT_KIND = 'sculpt-latent';

/** Options of {@link LatentDiffusionModel.trainAutoencoder}. */
export interface AutoencoderTrainOptions {
  /** Training images `[N, S, S, C]` in [-1, 1] (not disposed). */
  images: tf.Tensor4D;
  steps: number;
  /** Default 64. */
  batchSize?: number;
  /** A rate or a schedule of the step (e.g. core's `warmupCosineLr`). Default 2e-3. */
  learningRate?: number | LrSchedule;
  /** Default 0. */
  seed?: number;
  callbacks?: FitCallbacks;
}

/** Options of {@link LatentDiffusionModel.trainDenoiser}. */
export interface DenoiserTrainOptions extends AutoencoderTrainOptions {
  /** One caption per image. */
  captions: readonly string[];
  /**
   * An EMA of the U-Net's weights, copied into the model when training ends
   * (what diffusers' `EMAModel` does before saving). Default `false`.
   */
  ema?: EmaOptions | false;
}

/** Options of {@link LatentDiffusionModel.sample}. */
export interface LatentSampleOptions {
  /** One prompt per image ('' = unconditional). */
  prompts: readonly string[];
  /** CFG scale w on the empty prompt (1 = off). Default 1. */
  guidanceScale?: number;
  /** Registered sampler name or object. Default `'dpmpp-2m'`. */
  sampler?: string | DiffusionSampler;
  /** Default 20. */
  steps?: number;
  /** Default 0. */
  seed?: number;
  /** Called after every sampler step with the latent (valid during the call). */
  onStep?: LatentDiffusionOptions['onStep'];
}

/**
 * A text-to-image latent diffusion model. Owns its three parts (`dispose()`).
 * @example
 * ```ts
 * const model = LatentDiffusionModel.create('tiny', { seed: 0 });
 * await model.trainAutoencoder({ images, steps: 50 });
 * await model.measureScale(images);
 * await model.trainDenoiser({ images, captions, steps: 50 });
 * const x = await model.sample({ prompts: ['a thick seven'], guidanceScale: 4 });
 * ```
 */
export class LatentDiffusionModel {
  readonly autoencoder: KlAutoencoder;
  readonly text: PromptEncoder;
  readonly diffusion: DiffusionModel;
  private readonly base: LatentConfig;

  private constructor(config: LatentConfig, seed: number) {
    this.base = config;
    this.autoencoder = new KlAutoencoder(config.autoencoder, { seed });
    this.text = new PromptEncoder(config.text);
    this.diffusion = DiffusionModel.create(config.diffusion, { seed: seed + 1 });
  }

  /**
   * A new model with seeded weights.
   * @example `LatentDiffusionModel.create('mnist-text', { seed: 0 })`
   */
  static create(
    config: string | LatentConfigInput | LatentConfig = 'mnist-text',
    options: { seed?: number } = {},
  ): LatentDiffusionModel {
    const input =
      typeof config === 'string' ? { preset: config as LatentConfigInput['preset'] } : config;
    return new LatentDiffusionModel(latentConfig(input as LatentConfigInput), options.seed ?? 0);
  }

  /** The same architecture (and measured scale) with fresh weights. @example `LatentDiffusionModel.fromConfig(m.getConfig())` */
  static fromConfig(config: LatentConfig, options: { seed?: number } = {}): LatentDiffusionModel {
    return LatentDiffusionModel.create(config, options);
  }

  /** The frozen config, with the autoencoder's measured scale factor. */
  getConfig(): LatentConfig {
    return Object.freeze({ ...this.base, autoencoder: this.autoencoder.config });
  }

  /**
   * Stage 1: trains the autoencoder (AdamW, squared error + klWeight · KL).
   * @returns core's FitResult.
   */
  async trainAutoencoder(options: AutoencoderTrainOptions): Promise<FitResult> {
    const { images, steps, batchSize = 64, learningRate = 2e-3, seed = 0 } = options;
    const n = images.shape[0];
    const trainer = autoencoderTrainer(this.autoencoder, { learningRate, seed });
    try {
      return await trainer.fit({
        data: (_step, rng) => tf.gather(images, batchIndices(rng, n, batchSize)) as tf.Tensor4D,
        steps,
        callbacks: options.callbacks,
      });
    } finally {
      trainer.dispose();
    }
  }

  /**
   * Measures the latent scale factor (1 / std of sampled latents) on `images` and records it.
   * @returns the factor.
   */
  async measureScale(images: tf.Tensor4D, seed = 0): Promise<number> {
    const factor = await measureScaleFactor(this.autoencoder, images, new Rng(seed));
    this.autoencoder.withScaleFactor(factor);
    return factor;
  }

  /** Scaled latents z ~ q(z|x) · scaleFactor of every image: `[N, ...latentShape]`, caller-owned. */
  encodeLatents(images: tf.Tensor4D, rng: Rng, batchSize = 500): tf.Tensor4D {
    return encodeLatents(this.autoencoder, images, rng, batchSize);
  }

  /**
   * Stage 2: trains the U-Net on latents (re-encoded each epoch), captions
   * dropped to '' with probability `captionDropout`.
   * @returns core's FitResult.
   */
  async trainDenoiser(options: DenoiserTrainOptions): Promise<FitResult> {
    const { images, captions, steps, batchSize = 64, learningRate = 2e-3, seed = 0 } = options;
    const { ema = false } = options;
    const batches = new LatentBatches({
      autoencoder: this.autoencoder,
      text: this.text,
      images,
      captions,
      batchSize,
      captionDropout: this.getConfig().captionDropout,
      seed: seed + 7,
    });
    const trainer = new DiffusionTrainer(this.diffusion, { learningRate, seed, ema });
    try {
      const result = await trainer.fit({
        data: batches.denoiser,
        steps,
        callbacks: options.callbacks,
      });
      trainer.applyEma();
      return result;
    } finally {
      batches.dispose();
      trainer.dispose();
    }
  }

  /**
   * The latent denoiser with CFG on the empty prompt (w = 1: the plain denoiser).
   * @returns a Denoiser and a `dispose` for the null context it holds.
   */
  guidedDenoiser(guidanceScale: number): { denoiser: Denoiser; dispose: () => void } {
    if (guidanceScale === 1) return { denoiser: this.diffusion.denoiser, dispose: () => {} };
    // The empty prompt's encoding is made inside CFG's tidy at each call (freed with it).
    const denoiser = classifierFreeGuidance(this.diffusion.denoiser, {
      guidanceScale,
      uncond: (cond) => {
        const b = cond?.context?.shape[0] ?? 1;
        const { context, contextMask } = this.text.encode(Array(b).fill(''));
        return { context, contextMask };
      },
    });
    return { denoiser, dispose: () => {} };
  }

  /**
   * Text-to-image: prompts → images `[N, S, S, C]` in [-1, 1] (caller-owned).
   * @example `const x = await model.sample({ prompts: ['a thick seven'], guidanceScale: 4, sampler: 'dpmpp-2m' })`
   */
  async sample(options: LatentSampleOptions): Promise<tf.Tensor4D> {
    const { prompts, guidanceScale = 1, steps = 20, seed = 0 } = options;
    checkPrompts('LatentDiffusionModel.sample', prompts);
    // Guidance is checked before the prompts become tensors, so a bad scale leaks nothing.
    const guided = this.guidedDenoiser(guidanceScale);
    const cond = this.text.encode(prompts);
    try {
      const images = await latentDiffusion({
        autoencoder: this.autoencoder,
        denoiser: guided.denoiser,
        sampler: options.sampler ?? 'dpmpp-2m',
        sigmas: karrasSigmas({ numSteps: steps, ...this.diffusion.sigmaRange }),
        numSamples: prompts.length,
        seed,
        cond: { context: cond.context, contextMask: cond.contextMask },
        denoiserLatentShape: this.diffusion.imageShape,
        onStep: options.onStep,
      });
      const clipped = tf.clipByValue(images, -1, 1) as tf.Tensor4D;
      images.dispose();
      return clipped;
    } finally {
      guided.dispose();
      tf.dispose([cond.context, cond.contextMask]);
    }
  }

  /** Every weight by checkpoint name: `autoencoder/…`, `unet/…`, `text/…` (the model's own variables). */
  namedWeights(): Record<string, tf.Variable> {
    const out: Record<string, tf.Variable> = {};
    for (const [prefix, params] of this.weightGroups())
      for (const [k, v] of Object.entries(params)) out[prefix + k] = v;
    return out;
  }

  private weightGroups(): [string, Record<string, tf.Variable>][] {
    return [
      ['autoencoder/', this.autoencoder.params],
      ['unet/', this.diffusion.params as Record<string, tf.Variable>],
      ['text/', this.text.params],
    ];
  }

  /** Weights (under `model/`) and config as a core checkpoint, in sculpt's layout. */
  toCheckpoint(): Checkpoint {
    return packTrainingCheckpoint({
      kind: LATENT_CHECKPOINT_KIND,
      version: 2,
      config: this.getConfig() as unknown as JsonValue,
      weights: this.namedWeights(),
    });
  }

  /**
   * A model from {@link LatentDiffusionModel.toCheckpoint}'s output or a
   * training checkpoint (`sculpt train latent`'s included); the checkpoint is not disposed.
   * @throws CheckpointError for another kind, or for any weight missing, left over or of another shape than the stored config builds.
   */
  static fromCheckpoint(where: string, checkpoint: Checkpoint): LatentDiffusionModel {
    const { config, weights } = unpackTrainingCheckpoint(where, checkpoint, LATENT_CHECKPOINT_KIND);
    const model = LatentDiffusionModel.create(config as unknown as LatentConfig);
    try {
      assignModelWeights(where, model.namedWeights(), weights);
    } catch (error) {
      model.dispose();
      throw error;
    }
    return model;
  }

  /**
   * @internal How `load` and `fromBytes` read a checkpoint: every `model/`
   * tensor checked (name, shape, dtype) against the three parts the stored
   * config builds, before any tensor is made.
   */
  static loadOptions(): LoadCheckpointOptions {
    return expectTrainingWeights(LATENT_CHECKPOINT_KIND, (config) =>
      weightSpecs(LatentDiffusionModel.create(config as unknown as LatentConfig), (m) =>
        m.namedWeights(),
      ),
    );
  }

  /** Saves weights + config to a directory (Node). @example `await model.save('runs/latent')` */
  save(dir: string): Promise<void> {
    return saveCheckpoint(dir, this.toCheckpoint());
  }

  /**
   * Loads what `save` wrote (or a `sculpt train latent` run's checkpoint folder).
   * @throws CheckpointError for a file of another kind or weights that do not fit its config.
   * @example `const m = await LatentDiffusionModel.load('runs/latent')`
   */
  static async load(dir: string): Promise<LatentDiffusionModel> {
    const checkpoint = await loadCheckpoint(dir, LatentDiffusionModel.loadOptions());
    try {
      return LatentDiffusionModel.fromCheckpoint('LatentDiffusionModel.load', checkpoint);
    } finally {
      tf.dispose(Object.values(checkpoint.tensors));
    }
  }

  /**
   * Loads a model from a URL (the bytes of `toBytes()`), with progress, an
   * AbortSignal and a cache (the browser Cache API by default; core's `fetchCheckpoint`).
   * @returns a new model; the caller owns it.
   * @example `const model = await LatentDiffusionModel.fromUrl('/checkpoints/latent-mnist-text.safetensors')`
   */
  static fromUrl(url: string, options: FetchCheckpointOptions = {}): Promise<LatentDiffusionModel> {
    return modelFromUrl(url, { ...LatentDiffusionModel.loadOptions(), ...options }, (c) =>
      LatentDiffusionModel.fromCheckpoint('LatentDiffusionModel.fromUrl', c),
    );
  }

  /** Weights + config as one buffer (browsers). */
  async toBytes(): Promise<Uint8Array> {
    return checkpointToBytes(this.toCheckpoint());
  }

  /**
   * The inverse of `toBytes`.
   * @throws CheckpointError for bytes of another kind or weights that do not fit their config.
   * @example `const m = LatentDiffusionModel.fromBytes(await model.toBytes())`
   */
  static fromBytes(bytes: Uint8Array): LatentDiffusionModel {
    const checkpoint = checkpointFromBytes(bytes, LatentDiffusionModel.loadOptions());
    try {
      return LatentDiffusionModel.fromCheckpoint('LatentDiffusionModel.fromBytes', checkpoint);
    } finally {
      tf.dispose(Object.values(checkpoint.tensors));
    }
  }

  /** Frees every weight. */
  dispose(): void {
    this.autoencoder.dispose();
    this.text.dispose();
    this.diffusion.dispose();
  }
}

/** More prompts than one call should hold: every image and its latents live at once. */
const MAX_PROMPTS = 4096;

/** @throws SculptError unless `prompts` is an array of 1 to {@link MAX_PROMPTS} strings. */
function checkPrompts(where: string, prompts: unknown): void {
  const ok =
    Array.isArray(prompts) &&
    prompts.length >= 1 &&
    prompts.length <= MAX_PROMPTS &&
    prompts.every((p) => typeof p === 'string');
  if (ok) return;
  throw new SculptError(
    where,
    `expected prompts to be an array of 1 to ${MAX_PROMPTS} strings (one image each)`,
    `got ${Array.isArray(prompts) ? `an array of ${prompts.length}` : typeof prompts}`,
    `pass e.g. prompts: ['a thick seven']; for more images, sample in batches of up to ${MAX_PROMPTS}`,
  );
}
