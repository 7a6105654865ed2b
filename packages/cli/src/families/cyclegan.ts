// The gan family's CycleGAN preset: @sculpt/gan's CycleGanModel trained by
// its CycleGanTrainer on two unpaired halves of the image data (plain ↔
// styleTransform'ed: thick inverted digits), evaluated against the known
// transform, and the model behind `sculpt translate`.
import {
  type Checkpoint,
  type JsonValue,
  ownTrainingCheckpoint,
  type StepResult,
} from '@sculpt/core';
import {
  type ImageSet,
  styleTransform,
  subsetImages,
  type UnpairedDomains,
  unpairedDigitDomains,
} from '@sculpt/datasets';
import {
  CYCLE_CHECKPOINT_KIND,
  type CycleGanConfig,
  CycleGanModel,
  type CycleGanStepResult,
  CycleGanTrainer,
  cycleGanConfig,
  type TranslateDirection,
  translateImages,
} from '@sculpt/gan';
import { classAccuracy, classifyImages, loadMnistClassifier } from '@sculpt/metrics';
import * as tf from '@tensorflow/tfjs-core';
import { UsageError } from '../errors.js';
import type {
  CreateModelOptions,
  EvalReport,
  EvaluateRequest,
  ImageFamilyModel,
  SampleRequest,
  TrainingData,
} from '../family.js';
import { checkImages, drawImages } from './images.js';

/** The CycleGAN preset of the gan family. */
export const CYCLE_PRESET = Object.freeze({
  name: 'cyclegan-digits',
  description:
    'CycleGAN: plain ↔ thick inverted digits learned from unpaired halves of the data; then sculpt translate',
});

/**
 * The training recipe of the preset, chosen by pilots (@sculpt/gan's README):
 * no identity loss (domain B inverts A's ink, so G_BA(a) ≈ a asks for the
 * opposite of G_BA's job) and λ_cyc = 5 instead of 10. With the preset's
 * stride-1 patch layer in D, the halved cycle weight is what lets the
 * adversarial term win against drawing the thick stroke's outline, a map
 * the cycle rewards as much as the thin digit.
 */
const CYCLE_RECIPE = Object.freeze({ identityWeight: 0, cycleWeight: 5 });

/** Whether a checkpoint holds a CycleGAN. */
export function isCycleCheckpoint(checkpoint: Checkpoint): boolean {
  return (checkpoint.json as { kind?: unknown } | null)?.kind === CYCLE_CHECKPOINT_KIND;
}

function configFor(set: ImageSet): CycleGanConfig {
  if (set.height !== set.width || set.height % 4 !== 0 || set.channels !== 1) {
    throw new UsageError(
      'sculpt train gan --preset cyclegan-digits',
      'expected square grayscale images whose side is a multiple of 4',
      `got ${set.width}×${set.height}×${set.channels}`,
      'use --data mnist (28×28 digits)',
    );
  }
  return cycleGanConfig({ preset: 'cyclegan-digits', imageSize: set.height });
}

const mae = (x: Float32Array, y: Float32Array): number => {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += Math.abs(x[i] - y[i]);
  return s / x.length;
};

const round = (v: number): number => Number(v.toPrecision(4));

/** The diagnostics as the CLI's log line: `loss` is both generators' total loss. */
function logStep(r: CycleGanStepResult): StepResult {
  const { step, generatorLoss, generatorGradNorm, learningRate, ...terms } = r;
  return { step, loss: generatorLoss, gradNorm: generatorGradNorm, lr: learningRate, terms };
}

class CycleGanRun implements ImageFamilyModel {
  readonly kind = 'images' as const;
  readonly numClasses = 0;
  readonly sampleShape: readonly [number, number, number];
  readonly parameterCount: number;
  private readonly domains: UnpairedDomains | undefined;

  constructor(
    private readonly model: CycleGanModel,
    private readonly trainer: CycleGanTrainer,
    readonly batchSize: number,
    private readonly data: Extract<TrainingData, { kind: 'images' }> | undefined,
  ) {
    this.sampleShape = model.imageShape;
    this.parameterCount = Object.values(model.weights).reduce((n, v) => n + v.size, 0);
    this.domains = data ? unpairedDigitDomains(data.train) : undefined;
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
    const domains = this.domains;
    if (!domains)
      throw new UsageError(
        'sculpt train',
        'expected training data',
        'got none (the model was loaded for translating)',
      );
    await this.trainer.fit({
      data: (_step, rng) => ({
        a: drawImages(domains.domainA, this.batchSize, rng, '-1,1').images,
        b: drawImages(domains.domainB, this.batchSize, rng, '-1,1').images,
      }),
      steps: options.steps,
      signal: options.signal,
      onStep: (r) => options.onStep(logStep(r)),
    });
  }

  checkpoint(): Checkpoint {
    return ownTrainingCheckpoint(this.trainer.checkpoint({ batchSize: this.batchSize }));
  }

  /** Translates images `[N, H, W, C]` in [0, 1]; returns them in [0, 1] (the caller owns both). */
  async translate(images: tf.Tensor4D, direction: TranslateDirection): Promise<tf.Tensor4D> {
    const x = tf.tidy(() => tf.sub(tf.mul(images, 2), 1) as tf.Tensor4D);
    try {
      const y = this.model.translate(x, direction);
      const out = tf.tidy(() => tf.clipByValue(tf.div(tf.add(y, 1), 2), 0, 1) as tf.Tensor4D);
      y.dispose();
      return out;
    } finally {
      x.dispose();
    }
  }

  /** Pairs (held-out digit, its A→B translation), seeded choice of digits; needs the training data. */
  async sample(request: SampleRequest): Promise<tf.Tensor4D> {
    const held = this.data?.heldOut;
    if (!held)
      throw new UsageError(
        'sculpt sample',
        'expected a model that generates from noise',
        'got a CycleGAN (it translates images)',
        'use sculpt translate <checkpoint> --in mnist --direction AtoB',
      );
    const pairs = Math.ceil(request.numSamples / 2);
    const idx = Array.from({ length: pairs }, (_, i) => (request.seed * 7 + i * 13) % held.count);
    const a = tf.tensor4d(subsetImages(held, idx).images, [pairs, ...this.sampleShape]);
    const b = await this.translate(a, 'AtoB');
    request.onStep?.(1, 1);
    const out = tf.tidy(() => {
      const both = tf.stack([a, b], 1); // [pairs, 2, H, W, C]
      return tf.slice(tf.reshape(both, [2 * pairs, ...this.sampleShape]), 0, request.numSamples);
    });
    tf.dispose([a, b]);
    return out as tf.Tensor4D;
  }

  /**
   * The acceptance metrics on `numSamples` held-out digits: A→B's mean |pixel error|
   * against the true transform and the classifier's accuracy on B→A translations.
   */
  async evaluate(request: EvaluateRequest): Promise<EvalReport> {
    const data = checkImages('gan', request.data);
    const n = Math.min(request.numSamples, data.heldOut.count);
    // Evenly spaced through the held-out set (MNIST's is ordered by class).
    const stride = Math.floor(data.heldOut.count / n);
    const held = subsetImages(
      data.heldOut,
      Array.from({ length: n }, (_, i) => i * stride),
    );
    const trueB = styleTransform(held);
    const toB = await translateImages(this.model, held.images, n, 'AtoB');
    const toA = await translateImages(this.model, trueB.images, n, 'BtoA');
    const report: EvalReport = {
      heldOut: n,
      aToBPixelError: round(mae(toB, trueB.images)),
      reference: { aToBPixelErrorOfUntranslatedA: round(mae(held.images, trueB.images)) },
    };
    const digits = held.height === 28 && held.width === 28 && held.labels.every((l) => l >= 0);
    if (!digits) return report;
    const classifier = await loadMnistClassifier();
    const accuracy = async (images: Float32Array) => {
      const x = tf.tensor4d(images, [n, 28, 28, 1]);
      const { predictions } = await classifyImages(classifier, x);
      x.dispose();
      return round(classAccuracy(predictions, held.labels).accuracy);
    };
    try {
      report.bToAAccuracy = await accuracy(toA);
      report.aToBAccuracy = await accuracy(toB);
      report.reference = {
        ...(report.reference as { [key: string]: JsonValue }),
        accuracyOfHeldOutA: await accuracy(held.images),
        accuracyOfUntranslatedB: await accuracy(trueB.images),
      };
    } finally {
      classifier.dispose();
    }
    return report;
  }

  dispose(): void {
    this.trainer.dispose();
    this.model.dispose();
  }
}

/** A fresh CycleGAN run sized to the data. */
export function createCycleRun(options: CreateModelOptions): ImageFamilyModel {
  const data = checkImages('gan', options.data);
  const model = CycleGanModel.create(configFor(data.train), { seed: options.seed });
  // The trainer's Rngs (batches, pools) get their own stream, apart from the initialisation's.
  const trainer = new CycleGanTrainer(model, { ...CYCLE_RECIPE, seed: options.seed + 1 });
  return new CycleGanRun(model, trainer, options.batchSize ?? 8, data);
}

/** A CycleGAN run from a checkpoint; `data` when training will continue. */
export function restoreCycleRun(checkpoint: Checkpoint, data?: TrainingData): ImageFamilyModel {
  const json = checkpoint.json as { batchSize?: number } | null;
  const { model, trainer } = CycleGanTrainer.fromCheckpoint('sculpt', checkpoint);
  const images = data === undefined ? undefined : checkImages('gan', data);
  return new CycleGanRun(model, trainer, json?.batchSize ?? 8, images);
}
