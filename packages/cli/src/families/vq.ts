// The VQ-VAE presets of the vae family: @sculpt/vae's VqVaeModel trained by its
// VqVaeTrainer on grey-level images; evaluated by how well held-out images
// survive the code grid (class accuracy of reconstructions with the MNIST
// classifier of @sculpt/metrics, MSE) and by codebook usage.
import {
  type Checkpoint,
  type JsonValue,
  ownTrainingCheckpoint,
  Rng,
  type StepResult,
} from '@sculpt/core';
import { type ImageSet, imageSetTensors } from '@sculpt/datasets';
import { classAccuracy, classifyImages, loadMnistClassifier } from '@sculpt/metrics';
import { codebookUsage, VqVaeModel, VqVaeTrainer, vqVaeConfig } from '@sculpt/vae';
import * as tf from '@tensorflow/tfjs-core';
import type {
  EvalReport,
  EvaluateRequest,
  ImageFamilyModel,
  SampleRequest,
  TrainingData,
} from '../family.js';
import { checkImages, drawImages, trainingImages } from './images.js';

/** Learning rate of the CLI's VQ-VAE recipe. */
const VQ_LR = 2e-3;

const round = (v: number, digits = 4): number => Number(v.toPrecision(digits));

/** A fresh VQ-VAE run for `preset` ('tiny-vq' or 'mnist-vq') on `set`'s image shape. */
export function createVqRun(preset: string, set: ImageSet, seed: number, batchSize: number): VqRun {
  const imageShape: [number, number, number] = [set.height, set.width, set.channels];
  const config = vqVaeConfig({ preset: preset === 'tiny-vq' ? 'tiny-vq' : 'mnist-vq', imageShape });
  const model = VqVaeModel.create(config, { seed });
  return new VqRun(
    model,
    new VqVaeTrainer(model, { learningRate: VQ_LR, seed: seed + 1 }),
    batchSize,
    set,
  );
}

/** A VQ-VAE run from a checkpoint written by {@link VqRun.checkpoint}. */
export function restoreVqRun(checkpoint: Checkpoint, data: TrainingData | undefined): VqRun {
  const json = checkpoint.json as { batchSize?: number } | null;
  const { model, trainer } = VqVaeTrainer.fromCheckpoint('sculpt', checkpoint, {
    learningRate: VQ_LR,
  });
  const set = data === undefined ? undefined : checkImages('vae', data).train;
  return new VqRun(model, trainer, json?.batchSize ?? 32, set);
}

export class VqRun implements ImageFamilyModel {
  readonly kind = 'images' as const;
  readonly numClasses = 0;
  readonly sampleShape: readonly [number, number, number];
  readonly parameterCount: number;

  constructor(
    private readonly model: VqVaeModel,
    private readonly trainer: VqVaeTrainer,
    readonly batchSize: number,
    private readonly data: ImageSet | undefined,
  ) {
    this.sampleShape = model.config.imageShape;
    this.parameterCount = model.parameterCount;
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
      data: (_step, rng) => drawImages(set, this.batchSize, rng, '0,1').images,
      steps: options.steps,
      signal: options.signal,
      onStep: options.onStep,
    });
  }

  checkpoint(): Checkpoint {
    return ownTrainingCheckpoint(this.trainer.checkpoint({ batchSize: this.batchSize }));
  }

  /** Reconstructs up to `numSamples` held-out images through the code grid and scores them. */
  async evaluate(request: EvaluateRequest): Promise<EvalReport> {
    const held = checkImages('vae', request.data).heldOut;
    const n = Math.min(request.numSamples, held.count);
    const real = imageSetTensors(held, { indices: Array.from({ length: n }, (_, i) => i) });
    const codes = this.model.encodeCodes(real.images);
    const recon = this.model.decodeCodes(codes);
    try {
      const counts = new Array(this.model.config.numCodes).fill(0);
      for (const c of await codes.data()) counts[c]++;
      const usage = codebookUsage(counts);
      const mse = tf.tidy(() => tf.mean(tf.square(tf.sub(recon, real.images))).dataSync()[0]);
      const report: EvalReport = {
        heldOutImages: n,
        reconMse: round(mse),
        codesUsedPercent: round(100 * usage.fractionUsed, 3),
        perplexity: round(usage.perplexity),
      };
      const labels = Array.from(held.labels.subarray(0, n));
      const [, h, w, c] = recon.shape;
      if (h === 28 && w === 28 && c === 1 && labels.every((l) => l >= 0 && l < 10)) {
        const classifier = await loadMnistClassifier();
        const { predictions } = await classifyImages(classifier, recon);
        classifier.dispose();
        report.reconClassAccuracy = round(classAccuracy(predictions, labels).accuracy, 3);
      }
      return report;
    } finally {
      tf.dispose([real.images, real.labels, codes, recon]);
    }
  }

  /**
   * Decodes code grids drawn independently per position from the codebook's
   * EMA code frequencies (there is no learned prior; train one on `encodeCodes`).
   */
  async sample(request: SampleRequest): Promise<tf.Tensor4D> {
    const [h, w] = this.model.gridShape;
    const rng = new Rng(request.seed);
    const codes = tf.tidy(() => {
      const logits = tf.log(
        tf.add(tf.reshape(this.model.ema.counts, [1, -1]), 1e-6),
      ) as tf.Tensor2D;
      const draws = rng.categorical(logits, request.numSamples * h * w);
      return tf.reshape(tf.cast(draws, 'int32'), [request.numSamples, h, w]);
    });
    const out = this.model.decodeCodes(codes);
    codes.dispose();
    request.onStep?.(1, 1);
    return out;
  }

  dispose(): void {
    this.trainer.dispose();
    this.model.dispose();
  }
}
