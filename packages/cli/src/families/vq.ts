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
import {
  codebookUsage,
  interpolate,
  quantize,
  VqVaeModel,
  VqVaeTrainer,
  vqVaeConfig,
} from '@sculpt/vae';
import * as tf from '@tensorflow/tfjs-core';
import type {
  EvalReport,
  EvaluateRequest,
  ImageFamilyModel,
  SampleRequest,
  TrainingData,
} from '../family.js';
import { balancedSubset } from '../metrics/images.js';
import { checkImages, drawImages, trainingImages } from './images.js';
import { digitScores, figureIndices, interpolationRows, writeFigures } from './vae-figures.js';

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
    const all = checkImages('vae', request.data).heldOut;
    // Classes interleaved, so that `--n` below the held-out count still covers every digit.
    const held = balancedSubset(all, Math.min(request.numSamples, all.count));
    const n = held.count;
    const real = imageSetTensors(held);
    const codes = this.model.encodeCodes(real.images);
    const recon = this.model.decodeCodes(codes);
    try {
      const counts = new Array(this.model.config.numCodes).fill(0);
      for (const c of await codes.data()) counts[c]++;
      const usage = codebookUsage(counts);
      const mse = tf.tidy(() => tf.mean(tf.square(tf.sub(recon, real.images))));
      const report: EvalReport = {
        heldOutImages: n,
        reconMse: round((await mse.data())[0]),
        codesUsedPercent: round(100 * usage.fractionUsed, 3),
        perplexity: round(usage.perplexity),
      };
      mse.dispose();
      const labels = Array.from(held.labels);
      return {
        ...report,
        ...(await digitScores({ reconstructions: recon, labels })),
        ...(await this.figures(request.writeImages, all)),
      };
    } finally {
      tf.dispose([real.images, real.labels, codes, recon]);
    }
  }

  /**
   * Reconstructions of one held-out image per class, and rows that lerp the
   * encoder outputs z_e between pairs of them, each point quantised to its
   * nearest codes before decoding, as PNG grids.
   */
  private async figures(
    write: EvaluateRequest['writeImages'],
    held: ImageSet,
  ): Promise<EvalReport> {
    if (!write) return {};
    const real = imageSetTensors(held, { indices: figureIndices(held) });
    const codes = this.model.encodeCodes(real.images);
    const reconstructions = this.model.decodeCodes(codes);
    const interpolations = tf.tidy(() => {
      const z = this.model.encodeContinuous(real.images);
      const flat = tf.reshape(z, [z.shape[0], -1]) as tf.Tensor2D;
      const rows = interpolationRows(flat, (a, b, steps) => interpolate(a, b, steps, 'lerp'));
      const d = this.model.config.codeDim;
      const q = quantize(
        tf.reshape(rows, [-1, d]) as tf.Tensor2D,
        this.model.ema.codebook as tf.Tensor2D,
      );
      return this.model.decode(tf.reshape(q.quantized, [rows.shape[0], ...this.model.latentShape]));
    });
    try {
      return await writeFigures(write, { real: real.images, reconstructions, interpolations });
    } finally {
      tf.dispose([real.images, real.labels, codes, reconstructions, interpolations]);
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
