// The VAE family: @sculpt/vae's MLP and conv VAEs (Bernoulli decoder on
// dynamically binarized pixels), trained by its VaeTrainer on core's Trainer,
// sampled from the prior and evaluated by their held-out −ELBO and IWAE bound
// in nats; the VQ-VAE presets live in ./vq.ts.
import {
  type Checkpoint,
  type JsonValue,
  ownTrainingCheckpoint,
  Rng,
  type StepResult,
} from '@sculpt/core';
import { type ImageSet, subsetImages } from '@sculpt/datasets';
import {
  evaluateBounds,
  interpolate,
  reconstruct,
  samplePrior,
  type VaeConfig,
  VaeModel,
  type VaePreset,
  VaeTrainer,
  VQ_CHECKPOINT_KIND,
  vaeConfig,
} from '@sculpt/vae';
import * as tf from '@tensorflow/tfjs-core';
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
import { checkImages, drawImages, trainingImages } from './images.js';
import { digitScores, figureIndices, interpolationRows, writeFigures } from './vae-figures.js';
import { createVqRun, restoreVqRun } from './vq.js';

const PRESETS = [
  {
    name: 'tiny',
    description: 'one hidden layer of 32, 4 latents: a step takes milliseconds (tests)',
  },
  {
    name: 'tiny-vq',
    description: 'VQ-VAE with 8 codes on a 2×2 grid (8×8 images): a step takes milliseconds',
  },
  { name: 'mlp', description: 'encoder 512-256, 32 latents (the mnist-mlp preset of @sculpt/vae)' },
  {
    name: 'mnist-conv',
    description:
      'conv VAE: stride-2 convs 16-32, dense 256, 32 latents (mnist-conv of @sculpt/vae)',
  },
  {
    name: 'mnist-vq',
    description: 'VQ-VAE: 7×7 grid of 64 codes of 32 dims, EMA codebook (mnist-vq of @sculpt/vae)',
  },
  {
    name: 'mnist-2d',
    description: 'encoder 512-256, 2 latents: a latent map you can draw (the docs demo)',
  },
] as const;

const BATCH: Record<string, number> = {
  tiny: 32,
  'tiny-vq': 32,
  mlp: 100,
  'mnist-conv': 100,
  'mnist-vq': 64,
  'mnist-2d': 100,
};
const isVq = (preset: string): boolean => preset === 'tiny-vq' || preset === 'mnist-vq';
/** The @sculpt/vae preset behind each (non-VQ) CLI preset name. */
const VAE_PRESET: Record<string, VaePreset> = {
  tiny: 'tiny',
  mlp: 'mnist-mlp',
  'mnist-conv': 'mnist-conv',
  'mnist-2d': 'mnist-2d',
};
/** Importance samples of the IWAE bound `sculpt eval` reports. */
const IWAE_K = 50;
/** KL warm-up of the CLI recipe (measured in packages/vae/README.md). */
const KL_WARMUP_STEPS = 500;

function configFor(preset: string, set: ImageSet): VaeConfig {
  const imageShape: [number, number, number] = [set.height, set.width, set.channels];
  return vaeConfig({ preset: VAE_PRESET[preset] ?? 'mnist-mlp', imageShape });
}

/**
 * The images of `set` picked by `indices`, binarized once with a fixed seed
 * (the binarized-MNIST convention for held-out likelihoods).
 * @returns `[N, H, W, C]` in {0, 1}; the caller owns it.
 */
function binarized(set: ImageSet, indices: ArrayLike<number>, seed: number): tf.Tensor4D {
  const picked = subsetImages(set, Array.from(indices));
  return tf.tidy(() => {
    const x = tf.tensor4d(picked.images, [picked.count, set.height, set.width, set.channels]);
    return tf.cast(tf.less(new Rng(seed).uniform(x.shape), x), 'float32') as tf.Tensor4D;
  });
}

class VaeRun implements ImageFamilyModel {
  readonly kind = 'images' as const;
  readonly numClasses = 0;
  readonly sampleShape: readonly [number, number, number];
  readonly parameterCount: number;

  constructor(
    private readonly model: VaeModel,
    private readonly trainer: VaeTrainer,
    readonly batchSize: number,
    private readonly data: ImageSet | undefined,
  ) {
    this.sampleShape = model.config.imageShape;
    this.parameterCount = Object.values(model.params).reduce((n, v) => n + v.size, 0);
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
      // Indices from the step's own Rng, so a resumed run sees the same batches.
      data: (_step, rng) => drawImages(set, this.batchSize, rng, '0,1').images,
      steps: options.steps,
      signal: options.signal,
      callbacks: { onStep: options.onStep },
    });
  }

  checkpoint(): Checkpoint {
    return ownTrainingCheckpoint(this.trainer.checkpoint({ batchSize: this.batchSize }));
  }

  async evaluate(request: EvaluateRequest): Promise<EvalReport> {
    const data = checkImages('vae', request.data);
    // Classes interleaved, so that `--n` below the held-out count still covers every digit.
    const held = balancedSubset(data.heldOut, Math.min(request.numSamples, data.heldOut.count));
    const binary = binarized(
      held,
      Array.from({ length: held.count }, (_, i) => i),
      request.seed,
    );
    const samples = await this.sample({ numSamples: request.numSamples, seed: request.seed });
    try {
      const bounds = await evaluateBounds(this.model, binary, new Rng(request.seed + 1), {
        k: IWAE_K,
      });
      const scores = await scoreImageSamples({
        images: samples,
        labels: undefined,
        numClasses: 0,
        train: data.train,
        heldOut: data.heldOut,
        seed: request.seed,
      });
      const digits = await this.digitReport(binary, held.labels, samples);
      return {
        negElbo: round(bounds.negElbo),
        negIwae: round(bounds.negIwae),
        iwaeK: bounds.k,
        recon: round(bounds.recon),
        kl: round(bounds.kl),
        activeUnits: bounds.activeUnits,
        bitsPerDim: round(bounds.bitsPerDim),
        heldOutImages: bounds.count,
        ...scores,
        ...digits,
        ...(await this.figures(request.writeImages, data.heldOut, request.seed)),
      };
    } finally {
      tf.dispose([binary, samples]);
    }
  }

  /** Class accuracy of the reconstructions of `images` and the class histogram of `samples`. */
  private async digitReport(
    images: tf.Tensor4D,
    labels: ArrayLike<number>,
    samples: tf.Tensor4D,
  ): Promise<EvalReport> {
    const reconstructions = reconstruct(this.model, images);
    try {
      return await digitScores({ reconstructions, labels: Array.from(labels), samples });
    } finally {
      reconstructions.dispose();
    }
  }

  /** Reconstructions of one held-out digit per class, and slerps between pairs of them, as PNG grids. */
  private async figures(
    write: EvaluateRequest['writeImages'],
    held: ImageSet,
    seed: number,
  ): Promise<EvalReport> {
    if (!write) return {};
    const real = binarized(held, figureIndices(held), seed);
    const reconstructions = reconstruct(this.model, real);
    const interpolations = tf.tidy(() => {
      const { mean } = this.model.encodeParams(real);
      return this.model.decode(interpolationRows(mean, (a, b, steps) => interpolate(a, b, steps)));
    });
    try {
      return await writeFigures(write, { real, reconstructions, interpolations });
    } finally {
      tf.dispose([real, reconstructions, interpolations]);
    }
  }

  async sample(request: SampleRequest): Promise<tf.Tensor4D> {
    const out = samplePrior(this.model, request.numSamples, new Rng(request.seed));
    request.onStep?.(1, 1);
    return out;
  }

  dispose(): void {
    this.trainer.dispose();
    this.model.dispose();
  }
}

const round = (v: number): number => Number(v.toFixed(3));

/** The VAE family of the `sculpt` command. */
export const vaeFamily: FamilyAdapter = Object.freeze({
  name: 'vae',
  description:
    'MLP/conv VAEs (Bernoulli decoder; held-out −ELBO and IWAE in nats) and VQ-VAEs (code grids)',
  presets: PRESETS,
  defaultPreset: 'mlp',
  dataKinds: ['images'] as const,
  defaultData: 'mnist',
  generates: 'images',
  usesSamplers: false,
  sampleDefaults: {},
  // What every VAE preset reports (reconClassAccuracy and the samples' class
  // histogram for 28×28 digits); the VQ-VAE presets report reconClassAccuracy,
  // reconMse, codesUsedPercent and perplexity instead (see ./vq.ts). Both write
  // reconstructions.png and interpolations.png beside the metrics.
  metrics: ['negElbo', 'negIwae', 'bitsPerDim', 'activeUnits', 'fd', 'kid', 'reconClassAccuracy'],
  smoke: { preset: 'tiny', data: 'mnist', batchSize: 8 },

  async create(options: CreateModelOptions): Promise<FamilyModel> {
    const set = checkImages('vae', options.data).train;
    const batchSize = options.batchSize ?? BATCH[options.preset] ?? 32;
    if (isVq(options.preset)) return createVqRun(options.preset, set, options.seed, batchSize);
    const model = VaeModel.create(configFor(options.preset, set), { seed: options.seed });
    const trainer = new VaeTrainer(model, {
      learningRate: 1e-3,
      binarize: 'dynamic',
      klWarmupSteps: KL_WARMUP_STEPS,
      seed: options.seed + 1,
    });
    return new VaeRun(model, trainer, batchSize, set);
  },

  async restore(
    checkpoint: Checkpoint,
    options: { data?: TrainingData; totalSteps: number | undefined },
  ): Promise<FamilyModel> {
    const json = checkpoint.json as { batchSize?: number; kind?: string } | null;
    if (json?.kind === VQ_CHECKPOINT_KIND) return restoreVqRun(checkpoint, options.data);
    const { model, trainer } = VaeTrainer.fromCheckpoint('sculpt', checkpoint, {
      learningRate: 1e-3,
    });
    const set = options.data === undefined ? undefined : checkImages('vae', options.data).train;
    return new VaeRun(model, trainer, json?.batchSize ?? 32, set);
  },
});
