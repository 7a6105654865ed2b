// The GAN family: @sculpt/gan's DCGAN (class-conditional with a projection
// discriminator when the images have labels), trained by its GanTrainer (one D
// and one G step per step, each on core's Trainer) and sampled with the EMA of G.
import {
  type Checkpoint,
  type JsonValue,
  ownTrainingCheckpoint,
  type Rng,
  type StepResult,
} from '@sculpt/core';
import type { ImageSet } from '@sculpt/datasets';
import {
  type GanBatch,
  type GanConfig,
  GanModel,
  GanTrainer,
  type GanTrainOptions,
  ganConfig,
} from '@sculpt/gan';
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
import { IMAGE_METRICS, scoreImageSamples } from '../metrics/images.js';
import { CYCLE_PRESET, createCycleRun, isCycleCheckpoint, restoreCycleRun } from './cyclegan.js';
import { checkImages, drawImages, trainingImages } from './images.js';

const PRESETS = [
  {
    name: 'tiny',
    description: 'widths 8/8, z of 16: a step takes milliseconds (tests, smoke runs)',
  },
  {
    name: 'dcgan',
    description:
      "the bench's DCGAN (z 100, G 128→64 maps, D 64/128 convs); on labelled data conditional (projection D + class head), lazy R1, EMA of G",
  },
  {
    name: 'stylegan-mnist',
    description:
      'StyleGAN-style G (mapping 64→w 64, modulated convs 4→7→14→28, noise, truncation/mixing) with the DCGAN D; non-saturating + lazy R1',
  },
  CYCLE_PRESET,
] as const;

const BATCH: Record<string, number> = { tiny: 16, dcgan: 64, 'stylegan-mnist': 64 };

/** Trainer options per preset: the DCGAN recipe, and for the style G the StyleGAN one (NS + lazy R1, G at 2e-3 for its equalized learning rate). */
const TRAIN: Record<string, GanTrainOptions> = {
  'stylegan-mnist': {
    loss: 'non-saturating',
    r1Gamma: 1,
    r1Every: 16,
    discriminatorLearningRate: 2e-4,
    generatorLearningRate: 2e-3,
    ema: { decay: 0.995 },
  },
};
/** The DCGAN recipe: non-saturating loss, Adam 2e-4 for both, lazy R1 (γ 1 every 16 D steps) against a D that wins outright, EMA of G. */
const DCGAN_TRAIN: GanTrainOptions = {
  loss: 'non-saturating',
  discriminatorLearningRate: 2e-4,
  generatorLearningRate: 2e-4,
  r1Gamma: 1,
  r1Every: 16,
  ema: { decay: 0.999 },
};

/** The preset's widths, sized to the data's images and classes. */
function configFor(preset: string, set: ImageSet, numClasses: number): GanConfig {
  if (set.height !== set.width || set.height % 4 !== 0) {
    throw new UsageError(
      'sculpt train gan',
      'expected square images whose side is a multiple of 4 (the DCGAN upsamples side/4 twice)',
      `got ${set.width}×${set.height}`,
      'crop or pad the images, e.g. to 28×28 or 32×32',
    );
  }
  const sized = { imageSize: set.height, channels: set.channels, numClasses };
  const classHead = { auxiliaryClassifier: numClasses > 0 };
  if (preset === 'stylegan-mnist') return ganConfig({ preset, ...sized });
  return preset === 'tiny'
    ? ganConfig({
        preset: 'tiny',
        ...sized,
        ...classHead,
        latentDim: 16,
        generatorWidth: 8,
        discriminatorWidth: 8,
      })
    : ganConfig({ preset: 'dcgan-mnist', ...sized, ...classHead });
}

/** Batches of (step, rng): resumed runs see the same batches. */
function batches(
  set: ImageSet,
  batchSize: number,
  conditional: boolean,
): (step: number, rng: Rng) => GanBatch {
  return (_step, rng) => {
    const { images, labels } = drawImages(set, batchSize, rng, '-1,1');
    return conditional ? { images, labels } : { images };
  };
}

class GanRun implements ImageFamilyModel {
  readonly kind = 'images' as const;
  readonly numClasses: number;
  readonly sampleShape: readonly [number, number, number];
  readonly parameterCount: number;

  constructor(
    private readonly model: GanModel,
    private readonly trainer: GanTrainer,
    readonly batchSize: number,
    private readonly data: ImageSet | undefined,
  ) {
    this.numClasses = model.numClasses;
    this.sampleShape = model.imageShape;
    this.parameterCount = Object.values(model.weights).reduce((n, v) => n + v.size, 0);
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
    await this.trainer.fit({
      data: batches(set, this.batchSize, this.numClasses > 0),
      steps: options.steps,
      signal: options.signal,
      callbacks: {
        // The log's `loss` is D's; G's loss and the diagnostics are terms beside it.
        onStep: (r) =>
          options.onStep({
            step: r.step,
            loss: r.discriminatorLoss,
            gradNorm: r.discriminatorGradNorm,
            lr: r.learningRates[0],
            terms: {
              generatorLoss: r.generatorLoss,
              dReal: r.dReal,
              dFake: r.dFake,
              dAccuracy: r.dAccuracy,
              generatorGradNorm: r.generatorGradNorm,
              ...(r.r1 === undefined ? {} : { r1: r.r1 }),
              ...(r.gradientPenalty === undefined ? {} : { gradientPenalty: r.gradientPenalty }),
              ...(r.classLossReal === undefined
                ? {}
                : { classLossReal: r.classLossReal, classLossFake: r.classLossFake ?? 0 }),
            },
          }),
      },
    });
  }

  checkpoint(): Checkpoint {
    return ownTrainingCheckpoint(this.trainer.checkpoint({ batchSize: this.batchSize }));
  }

  async evaluate(request: EvaluateRequest): Promise<EvalReport> {
    const data = checkImages('gan', request.data);
    const labels =
      this.numClasses > 0
        ? Array.from({ length: request.numSamples }, (_, i) => i % this.numClasses)
        : undefined;
    const images = await this.sample({
      numSamples: request.numSamples,
      labels,
      seed: request.seed,
      signal: request.signal,
      ...(request.sampling.truncation === undefined
        ? {}
        : { truncation: request.sampling.truncation }),
    });
    try {
      return await scoreImageSamples({
        images,
        labels,
        numClasses: this.numClasses,
        train: data.train,
        heldOut: data.heldOut,
        seed: request.seed,
      });
    } finally {
      images.dispose();
    }
  }

  async sample(request: SampleRequest): Promise<tf.Tensor4D> {
    const labels = this.numClasses > 0 ? request.labels : undefined;
    const images = await this.trainer.withEma(() =>
      this.model.sample({
        numSamples: request.numSamples,
        labels,
        seed: request.seed,
        truncation: request.truncation,
      }),
    );
    request.onStep?.(1, 1);
    const out = tf.tidy(() => tf.clipByValue(tf.div(tf.add(images, 1), 2), 0, 1) as tf.Tensor4D);
    images.dispose();
    return out;
  }

  /** G's EMA weights, the tracked mean w and the config: `GanGenerator.fromBytes` loads them. */
  async exportSampler(): Promise<{ bytes: Uint8Array; loader: string }> {
    const bytes = await this.trainer.withEma(() => this.model.exportGenerator());
    return { bytes: new Uint8Array(bytes), loader: "GanGenerator.fromUrl (from '@sculpt/gan')" };
  }

  dispose(): void {
    this.trainer.dispose();
    this.model.dispose();
  }
}

/** The GAN family of the `sculpt` command. */
export const ganFamily: FamilyAdapter = Object.freeze({
  name: 'gan',
  description:
    'DCGAN or StyleGAN-style generator; class-conditional (projection discriminator) when the images have labels; CycleGAN (cyclegan-digits) for sculpt translate',
  presets: PRESETS,
  defaultPreset: 'dcgan',
  dataKinds: ['images'] as const,
  defaultData: 'mnist',
  generates: 'images',
  usesSamplers: false,
  sampleDefaults: {},
  metrics: IMAGE_METRICS,
  smoke: { preset: 'tiny', data: 'mnist', batchSize: 8 },

  async create(options: CreateModelOptions): Promise<FamilyModel> {
    if (options.preset === CYCLE_PRESET.name) return createCycleRun(options);
    const data = checkImages('gan', options.data);
    const set = data.train;
    const labelled = data.classNames.length > 0 && set.labels.every((l) => l >= 0);
    const numClasses = labelled ? data.classNames.length : 0;
    const model = GanModel.create(configFor(options.preset, set, numClasses), {
      seed: options.seed,
    });
    // The trainer's Rng (batches, z) gets its own stream, apart from the initialisation's.
    const trainer = new GanTrainer(model, {
      ...(TRAIN[options.preset] ?? DCGAN_TRAIN),
      seed: options.seed + 1,
    });
    const batchSize = options.batchSize ?? BATCH[options.preset] ?? 32;
    return new GanRun(model, trainer, batchSize, set);
  },

  async restore(
    checkpoint: Checkpoint,
    options: { data?: TrainingData; totalSteps: number | undefined },
  ): Promise<FamilyModel> {
    if (isCycleCheckpoint(checkpoint)) return restoreCycleRun(checkpoint, options.data);
    const json = checkpoint.json as { batchSize?: number } | null;
    const { model, trainer } = GanTrainer.fromCheckpoint('sculpt', checkpoint);
    const set = options.data === undefined ? undefined : checkImages('gan', options.data).train;
    return new GanRun(model, trainer, json?.batchSize ?? 32, set);
  },
});
