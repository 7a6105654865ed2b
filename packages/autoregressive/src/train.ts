// Training a GptModel on core's Trainer: AdamW with decoupled weight decay on
// matrices only (nanoGPT's configure_optimizers), warm-up + cosine decay,
// global-norm clipping, optional EMA, exact resume.
import {
  adamW,
  type Checkpoint,
  type CheckpointTarget,
  describeLr,
  type EmaOptions,
  type FitCallbacks,
  type FitData,
  type FitResult,
  type JsonValue,
  type LrSchedule,
  type LrSpec,
  lrFromSpec,
  packTrainingCheckpoint,
  Rng,
  readCheckpoint,
  restoreTrainer,
  SculptError,
  type StepResult,
  saveTrainingCheckpoint,
  Trainer,
} from '@sculpt/core';
import * as tf from '@tensorflow/tfjs-core';
// Node's tfjs-core build registers no gradients; tfjs-layers registers them.
import '@tensorflow/tfjs-layers';
import { CHECKPOINT_KIND, GptModel } from './model.js';

/** Options of {@link GptTrainer}. */
export interface GptTrainOptions {
  /** A rate or a schedule (e.g. `warmupCosineLr`). Default `1e-3`. */
  learningRate?: number | LrSchedule;
  /** Decoupled weight decay λ on matrices (rank ≥ 2: embeddings and linear weights). Default `0.1`. */
  weightDecay?: number;
  /** Adam β1. Default `0.9`. */
  beta1?: number;
  /** Adam β2. Default `0.99` (nanoGPT's for small models). */
  beta2?: number;
  /** Clip gradients to this global norm. Default `1`. */
  clipNorm?: number;
  /** Keep an EMA of the weights. Default: none. */
  ema?: EmaOptions;
  /** Seed of the trainer's Rng (batches, dropout). Default `0`. */
  seed?: number;
}

type Resolved = Required<Omit<GptTrainOptions, 'learningRate' | 'ema'>> & { ema?: EmaOptions };

function resolve(o: GptTrainOptions): Resolved {
  const r: Resolved = {
    weightDecay: o.weightDecay ?? 0.1,
    beta1: o.beta1 ?? 0.9,
    beta2: o.beta2 ?? 0.99,
    clipNorm: o.clipNorm ?? 1,
    seed: o.seed ?? 0,
    ...(o.ema ? { ema: o.ema } : {}),
  };
  if (!(r.weightDecay >= 0))
    throw new SculptError(
      'GptTrainer',
      'weightDecay must be ≥ 0',
      `got ${r.weightDecay}`,
      'nanoGPT uses 0.1',
    );
  return r;
}

/**
 * Trains a {@link GptModel} on windows `[B, T + 1]` of token ids (e.g.
 * `@sculpt/datasets`' `textWindows`): loss = mean next-token cross-entropy in nats.
 *
 * @example
 * ```ts
 * const trainer = new GptTrainer(gpt, { learningRate: warmupCosineLr({ peak: 1e-3, warmupSteps: 100, totalSteps: 5000 }) });
 * await trainer.fit({ data: (_step, rng) => textWindows(ids, { batchSize: 32, blockSize: 128, rng }), steps: 5000 });
 * await trainer.save('runs/gpt');
 * ```
 */
export class GptTrainer {
  /** The model being trained (not owned). */
  readonly model: GptModel;
  /** Core's trainer (owned). */
  readonly trainer: Trainer<tf.Tensor2D>;
  /** The resolved options (JSON). */
  readonly options: Readonly<Resolved>;
  /** The learning rate as JSON, when it is a number or a core schedule (stored for exact resume). */
  readonly learningRateSpec: LrSpec | undefined;

  constructor(model: GptModel, options: GptTrainOptions = {}) {
    this.model = model;
    this.options = Object.freeze(resolve(options));
    const learningRate = options.learningRate ?? 1e-3;
    this.learningRateSpec = describeLr(learningRate);
    this.trainer = new Trainer<tf.Tensor2D>({
      params: model.params,
      loss: (_p, windows, rng) => this.loss(windows, rng),
      optimizer: adamW({
        beta1: this.options.beta1,
        beta2: this.options.beta2,
        weightDecay: this.options.weightDecay,
        weightDecayFilter: (_name, p) => p.rank >= 2,
      }),
      learningRate,
      clipNorm: this.options.clipNorm,
      ema: this.options.ema,
      rng: new Rng(this.options.seed),
    });
  }

  /** Steps taken so far. */
  get stepCount(): number {
    return this.trainer.stepCount;
  }

  /** The training loss of windows [B, T + 1] int32 (dropout on). @returns a scalar the caller owns. */
  loss(windows: tf.Tensor2D, rng: Rng): tf.Scalar {
    const { contextLength, vocabSize } = this.model.config;
    if (
      windows.rank !== 2 ||
      windows.dtype !== 'int32' ||
      windows.shape[1] < 2 ||
      windows.shape[1] > contextLength + 1
    )
      throw new SculptError(
        'GptTrainer.step',
        `int32 windows [B, T + 1] with 1 ≤ T ≤ contextLength = ${contextLength}`,
        `got ${windows.dtype} [${windows.shape.join(', ')}]`,
        `use textWindows(ids, { batchSize, blockSize: ${contextLength}, rng })`,
      );
    const range = tf.tidy(() => [tf.min(windows), tf.max(windows)].map((t) => t.dataSync()[0]));
    if (range[0] < 0 || range[1] >= vocabSize)
      throw new SculptError(
        'GptTrainer.step',
        `token ids in [0, ${vocabSize})`,
        `got ids from ${range[0]} to ${range[1]}`,
        'encode the text with the model tokenizer',
      );
    return this.model.loss(windows, { training: true, rng });
  }

  /** One optimisation step on `windows` (not disposed). */
  step(windows: tf.Tensor2D): Promise<StepResult> {
    return this.trainer.step(windows);
  }

  /** Runs `steps` steps; `data(step, rng)` makes each batch (disposed after use). */
  fit(options: {
    data: FitData<tf.Tensor2D>;
    steps: number;
    callbacks?: FitCallbacks;
    signal?: AbortSignal;
  }): Promise<FitResult> {
    return this.trainer.fit(options);
  }

  /** Weights, config, tokenizer and trainer state (the `trainer/` tensors are copies the caller disposes). */
  checkpoint(extra: { [key: string]: JsonValue } = {}): Checkpoint {
    return packTrainingCheckpoint({
      kind: CHECKPOINT_KIND,
      version: 1,
      config: this.model.checkpointConfig(),
      weights: this.model.params,
      trainer: this.trainer.getState(),
      extra: {
        trainOptions: this.options as unknown as JsonValue,
        ...(this.learningRateSpec
          ? { learningRate: this.learningRateSpec as unknown as JsonValue }
          : {}),
        ...extra,
      },
    });
  }

  /** Saves weights + tokenizer + trainer state (atomic: a failed save leaves the previous checkpoint). */
  save(target: CheckpointTarget): Promise<void> {
    return saveTrainingCheckpoint(target, this.checkpoint());
  }

  /** Loads a checkpoint from `save` and continues bit-identically. @returns a new model and trainer the caller owns. */
  static resume(
    target: CheckpointTarget,
    options: GptTrainOptions = {},
  ): Promise<{ model: GptModel; trainer: GptTrainer }> {
    return readCheckpoint(
      target,
      (c) => GptTrainer.fromCheckpoint('GptTrainer.resume', c, options),
      GptModel.loadOptions(),
    );
  }

  /** A model and trainer from a training checkpoint (tensors read, not taken). */
  static fromCheckpoint(
    where: string,
    checkpoint: Checkpoint,
    options: GptTrainOptions = {},
  ): { model: GptModel; trainer: GptTrainer } {
    return restoreTrainer(where, checkpoint, {
      kind: CHECKPOINT_KIND,
      modelName: 'GptModel',
      model: (w, c) => GptModel.fromCheckpoint(w, c),
      trainer: (model, extra) => {
        const stored = (extra.trainOptions ?? {}) as GptTrainOptions;
        const spec = extra.learningRate as LrSpec | undefined;
        const learningRate = options.learningRate ?? (spec ? lrFromSpec(spec) : undefined);
        return new GptTrainer(model, { ...stored, ...options, learningRate });
      },
      setState: (trainer, state) => trainer.trainer.setState(state),
    });
  }

  /** Frees the optimizer (and EMA) state, not the model. */
  dispose(): void {
    this.trainer.dispose();
  }
}
