// The two training stages of a LatentDiffusionModel as one resumable trainer:
// steps [0, autoencoderSteps) train the KL autoencoder (core's Trainer), then
// the latent scale factor is measured on the training images, then the
// text-conditioned U-Net trains (@sculpt/diffusion's DiffusionTrainer) on
// latents re-encoded once per epoch. Both trainers' states (optimizer
// moments, Rng, step) go into one checkpoint, so a run stopped in either
// stage resumes bit-identically on cpu/wasm.
import {
  type Checkpoint,
  type FitCallbacks,
  type JsonValue,
  packTrainingCheckpoint,
  SculptError,
  type StepResult,
  type Trainer,
  type TrainState,
  unpackTrainingCheckpoint,
} from '@sculpt/core';
import { DiffusionTrainer } from '@sculpt/diffusion';
import type * as tf from '@tensorflow/tfjs-core';
import { autoencoderTrainer, LatentBatches } from './batches.js';
import { LATENT_CHECKPOINT_KIND, LatentDiffusionModel } from './model.js';

/** Options of {@link LatentTrainer}. */
export interface LatentTrainerOptions {
  /** Steps of stage 1 (the autoencoder); the U-Net trains from then on. */
  autoencoderSteps: number;
  /** Default 64. */
  batchSize?: number;
  /** Constant learning rate of the autoencoder. Default 2e-3. */
  autoencoderLearningRate?: number;
  /** Constant learning rate of the U-Net. Default 2e-3. */
  denoiserLearningRate?: number;
  /** Seeds batches, noise and the latent draws. Default 0. */
  seed?: number;
}

/** What {@link LatentTrainer.fit} trains on and reports to. */
export interface LatentFitOptions {
  /** Training images `[N, S, S, C]` in [-1, 1] (read, not disposed). */
  images: tf.Tensor4D;
  /** One caption per image (`captionImageSet` of @sculpt/datasets). */
  captions: readonly string[];
  /** Steps to run now, across stages (not a total: resume with the rest). */
  steps: number;
  /** Stops between steps with core's `AbortError`; the trainer stays resumable. */
  signal?: AbortSignal;
  /** `onStep` receives the run's step count over both stages. */
  callbacks?: Pick<FitCallbacks, 'onStep'>;
}

type Resolved = Required<LatentTrainerOptions>;

function resolve(options: LatentTrainerOptions): Resolved {
  const r = {
    batchSize: 64,
    autoencoderLearningRate: 2e-3,
    denoiserLearningRate: 2e-3,
    seed: 0,
    ...options,
  };
  if (!(Number.isInteger(r.autoencoderSteps) && r.autoencoderSteps >= 0)) {
    throw new SculptError(
      'LatentTrainer',
      'expected autoencoderSteps to be an integer ≥ 0',
      `got ${r.autoencoderSteps}`,
      'give the number of autoencoder steps before the U-Net trains',
    );
  }
  return r;
}

/** Both trainers' states under `autoencoder/` and `denoiser/` (tensors are fresh copies). */
function nestStates(states: Record<string, TrainState>): TrainState {
  const tensors: Record<string, tf.Tensor> = {};
  const json: TrainState['json'] = {};
  for (const [name, s] of Object.entries(states)) {
    for (const [k, v] of Object.entries(s.tensors)) tensors[`${name}/${k}`] = v;
    json[name] = s.json;
  }
  return { tensors, json };
}

function stateAt(state: TrainState, name: string): TrainState {
  const tensors: Record<string, tf.Tensor> = {};
  for (const [k, v] of Object.entries(state.tensors))
    if (k.startsWith(`${name}/`)) tensors[k.slice(name.length + 1)] = v;
  return { tensors, json: state.json[name] as TrainState['json'] };
}

/**
 * Trains a {@link LatentDiffusionModel} in two stages as one resumable run.
 * Owns its optimizer state, not the model.
 * @example
 * ```ts
 * const trainer = new LatentTrainer(model, { autoencoderSteps: 500, batchSize: 64 });
 * await trainer.fit({ images, captions, steps: 1500 });
 * await saveTrainingCheckpoint('runs/latent', trainer.checkpoint());
 * ```
 */
export class LatentTrainer {
  readonly model: LatentDiffusionModel;
  readonly options: Readonly<Resolved>;
  private readonly autoencoder: Trainer<tf.Tensor4D>;
  private readonly denoiser: DiffusionTrainer;

  constructor(model: LatentDiffusionModel, options: LatentTrainerOptions) {
    this.model = model;
    this.options = Object.freeze(resolve(options));
    const { seed } = this.options;
    this.autoencoder = autoencoderTrainer(model.autoencoder, {
      learningRate: this.options.autoencoderLearningRate,
      seed,
    });
    this.denoiser = new DiffusionTrainer(model.diffusion, {
      learningRate: this.options.denoiserLearningRate,
      seed: seed + 1,
      ema: false,
    });
  }

  /** Steps completed over both stages. */
  get stepCount(): number {
    return this.autoencoder.stepCount + this.denoiser.stepCount;
  }

  /** The stage the next step belongs to. */
  get stage(): 'autoencoder' | 'denoiser' {
    return this.autoencoder.stepCount < this.options.autoencoderSteps ? 'autoencoder' : 'denoiser';
  }

  /** Runs `steps` more steps: what is left of stage 1, the scale measurement, then stage 2. */
  async fit(options: LatentFitOptions): Promise<void> {
    const { images, captions, steps, signal } = options;
    if (!(Number.isInteger(steps) && steps >= 0)) {
      throw new SculptError(
        'LatentTrainer.fit',
        'expected steps to be an integer ≥ 0',
        `got ${steps}`,
        'pass the number of steps to run, e.g. steps: 1000',
      );
    }
    const batches = new LatentBatches({
      autoencoder: this.model.autoencoder,
      text: this.model.text,
      images,
      captions,
      batchSize: this.options.batchSize,
      captionDropout: this.model.getConfig().captionDropout,
      seed: this.options.seed + 2,
    });
    const onStep = options.callbacks?.onStep;
    try {
      const first = Math.min(steps, this.options.autoencoderSteps - this.autoencoder.stepCount);
      if (first > 0) {
        await this.autoencoder.fit({
          data: batches.autoencoder,
          steps: first,
          signal,
          callbacks: { onStep },
        });
      }
      const rest = steps - Math.max(first, 0);
      if (rest <= 0) return;
      // Deterministic (fixed Rng, same weights): a run resumed here measures the same factor.
      if (this.denoiser.stepCount === 0)
        await this.model.measureScale(images, this.options.seed + 3);
      const offset = this.autoencoder.stepCount;
      await this.denoiser.fit({
        data: batches.denoiser,
        steps: rest,
        signal,
        callbacks: {
          onStep: onStep && ((r: StepResult) => onStep({ ...r, step: r.step + offset })),
        },
      });
    } finally {
      batches.dispose();
    }
  }

  /**
   * Weights, config and both trainers' states in core's layout, with `extra` JSON.
   * @returns a checkpoint whose `trainer/` tensors the caller disposes; `model/` ones are the model's.
   */
  checkpoint(extra: { [key: string]: JsonValue } = {}): Checkpoint {
    const state = nestStates({
      autoencoder: this.autoencoder.getState(),
      denoiser: this.denoiser.trainer.getState(),
    });
    return packTrainingCheckpoint({
      kind: LATENT_CHECKPOINT_KIND,
      version: 2,
      config: this.model.getConfig() as unknown as JsonValue,
      weights: this.model.namedWeights(),
      trainer: state,
      extra: { latentTrainer: { ...this.options }, ...extra },
    });
  }

  /**
   * A model and trainer from {@link LatentTrainer.checkpoint}'s output.
   * @returns both; the caller owns them. The checkpoint's tensors are read, not taken.
   * @throws SculptError for a model-only checkpoint or another kind.
   */
  static fromCheckpoint(
    where: string,
    checkpoint: Checkpoint,
  ): { model: LatentDiffusionModel; trainer: LatentTrainer } {
    const { trainer: state, extra } = unpackTrainingCheckpoint(
      where,
      checkpoint,
      LATENT_CHECKPOINT_KIND,
    );
    if (!state) {
      throw new SculptError(
        where,
        'expected a training checkpoint (weights + trainer state)',
        'got a model-only checkpoint',
        'use LatentDiffusionModel.load for weights only',
      );
    }
    const model = LatentDiffusionModel.fromCheckpoint(where, checkpoint);
    let trainer: LatentTrainer | undefined;
    try {
      trainer = new LatentTrainer(model, extra.latentTrainer as unknown as LatentTrainerOptions);
      trainer.autoencoder.setState(stateAt(state, 'autoencoder'));
      trainer.denoiser.trainer.setState(stateAt(state, 'denoiser'));
      return { model, trainer };
    } catch (error) {
      trainer?.dispose();
      model.dispose();
      throw error;
    }
  }

  /** Frees both optimizers' state (not the model). */
  dispose(): void {
    this.autoencoder.dispose();
    this.denoiser.dispose();
  }
}
