// The latent family: @sculpt/latent's text-to-image model — a KL autoencoder,
// a frozen text encoder and a text-conditioned latent U-Net — trained in two
// stages by its LatentTrainer (the autoencoder first, then the U-Net on the
// measured-scale latents; one checkpoint holds both trainers, so a run
// resumes in either stage), sampled from typed prompts with CFG through any
// sampler, and scored against prompts built from held-out captions.
import {
  type Checkpoint,
  type JsonValue,
  ownTrainingCheckpoint,
  Rng,
  SculptError,
  type StepResult,
} from '@sculpt/core';
import {
  type CaptionBins,
  captionImageSet,
  digitCaption,
  type ImageSet,
  imageSetTensors,
  parseCaption,
} from '@sculpt/datasets';
import {
  attributeAgreement,
  attributePromptPairs,
  type LatentConfig,
  LatentDiffusionModel,
  LatentTrainer,
  latentConfig,
  type PromptAttribute,
} from '@sculpt/latent';
import * as tf from '@tensorflow/tfjs-core';
import { UsageError } from '../errors.js';
import type {
  CreateModelOptions,
  EvalReport,
  EvaluateRequest,
  FamilyAdapter,
  FamilyModel,
  ImageFamilyModel,
  SampleRequest,
  TrainingData,
} from '../family.js';
import { balancedSubset, scoreImageSamples } from '../metrics/images.js';
import { checkImages, trainingImages } from './images.js';

const PRESETS = [
  {
    name: 'tiny-text',
    description: 'autoencoder 4/8/8 → 7×7×2 latents, U-Net width 8, text width 8 (tests)',
  },
  {
    name: 'mnist-text',
    description:
      'autoencoder 16/32/64 → 7×7×4 latents, U-Net width 64 with cross-attention, 2-layer text encoder',
  },
] as const;

/**
 * The @sculpt/latent preset behind each CLI preset, its batch size and the
 * steps of its autoencoder stage (the U-Net trains from then on, whatever
 * `--steps` is, so a resumed run with a larger `--steps` keeps the split).
 */
const RECIPE: Record<string, { preset: 'tiny' | 'mnist-text'; batch: number; aeSteps: number }> = {
  'tiny-text': { preset: 'tiny', batch: 16, aeSteps: 10 },
  'mnist-text': { preset: 'mnist-text', batch: 64, aeSteps: 500 },
};

/** The most images one sample call makes (the latent model's own bound on prompts). */
const MAX_SAMPLES = 4096;

/** Digit images only: captions name a digit and are measured on one grayscale channel. */
function digitImages(data: TrainingData): Extract<TrainingData, { kind: 'images' }> {
  const images = checkImages('latent', data);
  const { train } = images;
  if (images.classNames.length !== 10 || train.channels !== 1 || train.height % 4 !== 0) {
    throw new UsageError(
      '--data',
      'expected labelled grayscale digits with a side divisible by 4 (captions name the digit)',
      `got '${data.spec}' (${images.classNames.length} classes, ${train.height}×${train.width}×${train.channels})`,
      'use --data mnist',
    );
  }
  return images;
}

function configFor(preset: string, set: ImageSet): LatentConfig {
  const recipe = RECIPE[preset] ?? RECIPE['mnist-text'];
  return latentConfig({
    preset: recipe.preset,
    autoencoder: { imageSize: set.height, channels: set.channels },
    diffusion: { unet: { imageSize: set.height / 4 } },
  });
}

/** What the run keeps beside the trainers' state: the caption bins and seed (held-out prompts reuse them). */
interface RunExtra {
  batchSize: number;
  captionBins: CaptionBins;
  captionSeed: number;
}

class LatentRun implements ImageFamilyModel {
  readonly kind = 'images' as const;
  readonly numClasses = 0;
  readonly sampleShape: readonly [number, number, number];
  readonly parameterCount: number;
  private images: tf.Tensor4D | undefined;
  private captions: string[] | undefined;

  constructor(
    private readonly model: LatentDiffusionModel,
    private readonly trainer: LatentTrainer,
    private readonly extra: RunExtra,
    private readonly data: ImageSet | undefined,
  ) {
    const { imageSize, channels } = model.getConfig().autoencoder;
    this.sampleShape = [imageSize, imageSize, channels];
    this.parameterCount = Object.values(model.namedWeights()).reduce((n, v) => n + v.size, 0);
  }

  get batchSize(): number {
    return this.extra.batchSize;
  }

  get config(): JsonValue {
    return this.model.getConfig() as unknown as JsonValue;
  }

  get stepCount(): number {
    return this.trainer.stepCount;
  }

  async train(options: {
    steps: number;
    signal?: AbortSignal;
    onStep: (r: StepResult) => void | Promise<void>;
  }): Promise<void> {
    const set = trainingImages(this.data);
    if (!this.images || !this.captions) {
      const { captionBins: bins, captionSeed } = this.extra;
      this.captions = captionImageSet({ set, bins, rng: new Rng(captionSeed) }).captions;
      const t = imageSetTensors(set, { range: '-1,1' });
      t.labels.dispose();
      this.images = t.images;
    }
    await this.trainer.fit({
      images: this.images,
      captions: this.captions,
      steps: options.steps,
      signal: options.signal,
      callbacks: { onStep: options.onStep },
    });
  }

  checkpoint(): Checkpoint {
    return ownTrainingCheckpoint(
      this.trainer.checkpoint(this.extra as unknown as { [key: string]: JsonValue }),
    );
  }

  async sample(request: SampleRequest): Promise<tf.Tensor4D> {
    const n = request.numSamples;
    if (!(Number.isInteger(n) && n >= 1 && n <= MAX_SAMPLES)) {
      throw new SculptError(
        'sculpt sample (latent)',
        `expected numSamples to be an integer from 1 to ${MAX_SAMPLES} (every image and its latents live at once)`,
        `got ${n}`,
        `ask for at most ${MAX_SAMPLES} samples per call, e.g. --n 64`,
      );
    }
    const given = request.prompts?.length
      ? request.prompts
      : Array.from({ length: 10 }, (_, d) => digitCaption({ digit: d }));
    const prompts = Array.from({ length: request.numSamples }, (_, i) => given[i % given.length]);
    const steps = request.steps ?? 20;
    const images = await this.model.sample({
      prompts,
      guidanceScale: request.guidanceScale ?? 4,
      sampler: request.sampler,
      steps,
      seed: request.seed,
      onStep: request.onStep ? (s) => request.onStep?.(s.i + 1, steps) : undefined,
    });
    const out = tf.tidy(() => tf.div(tf.add(images, 1), 2) as tf.Tensor4D); // [−1, 1] → [0, 1]
    images.dispose();
    return out;
  }

  async evaluate(request: EvaluateRequest): Promise<EvalReport> {
    const data = digitImages(request.data);
    const n = Math.min(request.numSamples, data.heldOut.count);
    // Digits interleaved (0, 1, …, 9, 0, …): the held-out set is stored grouped by digit.
    const held = captionImageSet({
      set: balancedSubset(data.heldOut, n),
      bins: this.extra.captionBins,
      rng: new Rng(request.seed),
    }).captions;
    const labels = held.map((c) => parseCaption(c).digit);
    const base = { ...request.sampling, seed: request.seed };
    const images = await this.sample({ ...base, numSamples: n, prompts: held });
    let scores: EvalReport;
    try {
      scores = await scoreImageSamples({
        images,
        labels,
        numClasses: 10,
        train: data.train,
        heldOut: data.heldOut,
        seed: request.seed,
      });
    } finally {
      images.dispose();
    }
    const numPairs = Math.max(10, Math.floor(n / 10));
    return {
      ...scores,
      thickVsThin: await this.agreement('thickness', numPairs, base),
      slantedVsUpright: await this.agreement('slant', numPairs, base),
      pairs: numPairs,
      prompts: n,
      guidanceScale: request.sampling.guidanceScale ?? 4,
    };
  }

  /** Same-seed samples of "thick"/"thin" (or "slanted"/"upright") prompt pairs: how often the asked one measures larger. */
  private async agreement(
    attribute: PromptAttribute,
    numPairs: number,
    base: Omit<SampleRequest, 'numSamples'>,
  ): Promise<number> {
    const { high, low } = attributePromptPairs({ attribute, numPairs });
    const a = await this.sample({ ...base, numSamples: numPairs, prompts: high });
    const b = await this.sample({ ...base, numSamples: numPairs, prompts: low });
    try {
      return await attributeAgreement({ attribute, high: a, low: b });
    } finally {
      tf.dispose([a, b]);
    }
  }

  dispose(): void {
    this.images?.dispose();
    this.trainer.dispose();
    this.model.dispose();
  }
}

/** The latent (text-to-image) family of the `sculpt` command. */
export const latentFamily: FamilyAdapter = Object.freeze({
  name: 'latent',
  description:
    'text-to-image latent diffusion: KL autoencoder, then a prompt-conditioned latent U-Net (sample with --prompt)',
  presets: PRESETS,
  defaultPreset: 'mnist-text',
  dataKinds: ['images'] as const,
  defaultData: 'mnist',
  generates: 'images',
  usesSamplers: true,
  takesPrompts: true,
  sampleDefaults: { sampler: 'dpmpp-2m', steps: 20, guidanceScale: 4 },
  metrics: ['classAccuracy', 'thickVsThin', 'slantedVsUpright', 'fd', 'kid'],
  smoke: { preset: 'tiny-text', data: 'mnist', batchSize: 8, tinyImages: false },

  async create(options: CreateModelOptions): Promise<FamilyModel> {
    const { train } = digitImages(options.data);
    const recipe = RECIPE[options.preset] ?? RECIPE['mnist-text'];
    const model = LatentDiffusionModel.create(configFor(options.preset, train), {
      seed: options.seed,
    });
    const batchSize = options.batchSize ?? recipe.batch;
    const trainer = new LatentTrainer(model, {
      autoencoderSteps: recipe.aeSteps,
      batchSize,
      seed: options.seed + 1,
    });
    const captionSeed = options.seed;
    const { bins } = captionImageSet({ set: train, rng: new Rng(captionSeed) });
    return new LatentRun(model, trainer, { batchSize, captionBins: bins, captionSeed }, train);
  },

  async restore(
    checkpoint: Checkpoint,
    options: { data?: TrainingData; totalSteps: number | undefined },
  ): Promise<FamilyModel> {
    const { model, trainer } = LatentTrainer.fromCheckpoint('sculpt', checkpoint);
    const stored = (checkpoint.json ?? {}) as unknown as Partial<RunExtra>;
    const extra: RunExtra = {
      batchSize: stored.batchSize ?? trainer.options.batchSize,
      captionBins: stored.captionBins as CaptionBins,
      captionSeed: stored.captionSeed ?? 0,
    };
    const set = options.data === undefined ? undefined : digitImages(options.data).train;
    return new LatentRun(model, trainer, extra, set);
  },
});
