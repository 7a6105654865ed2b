// Training a VaeModel on core's Trainer: loss = −E_q[log p(x|z)] + β·w(step)·KL,
// w(step) = min(1, step / klWarmupSteps); free bits clamp each latent dim's batch-mean KL at λ
// (Kingma et al. 2016, eq. 15).
import {
  adam,
  type Checkpoint,
  type FitCallbacks,
  type FitData,
  type FitResult,
  type JsonValue,
  type LrSchedule,
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
// Node's tfjs-core build registers no gradients; tfjs-layers registers them (as in @sculpt/diffusion).
import '@tensorflow/tfjs-layers';
import { CHECKPOINT_KIND, VaeModel } from './model.js';
import { elboTerms } from './objectives.js';
import { checkImageShape, explainPixelTerm, finitePixelsTerm, PIXEL_TERM } from './shared.js';

/** Options of {@link VaeTrainer}. Plain JSON except `learningRate` as a function. */
export interface VaeTrainOptions {
  /** Learning rate or schedule (Adam). Default 1e-3. */
  learningRate?: number | LrSchedule;
  /** β of the β-VAE (≥ 0). Default 1. */
  beta?: number;
  /** Steps of linear KL warm-up from 0 to β. Default 0 (none). */
  klWarmupSteps?: number;
  /** Free bits λ per latent dim in nats (0 disables). Default 0. */
  freeBits?: number;
  /** `'dynamic'`: pixels redrawn as Bernoulli(x) every step (binarized MNIST); `'none'`: as given. Default `'none'`. */
  binarize?: 'dynamic' | 'none';
  /** Global-norm gradient clipping. Default 10. */
  clipNorm?: number;
  /** Seed of the trainer's Rng. Default 0. */
  seed?: number;
  /**
   * Refuse batches with NaN/±Infinity pixels (a `SculptError`, no update
   * applied). The test makes no read of its own: it is the term
   * `nonFinitePixels` (0, or NaN for a bad batch) in the step's one read of
   * loss and terms. `false` drops the term. Default `true`.
   */
  checkPixels?: boolean;
}

type Resolved = Required<Omit<VaeTrainOptions, 'learningRate'>>;

function resolve(o: VaeTrainOptions): Resolved {
  const r: Resolved = {
    beta: o.beta ?? 1,
    klWarmupSteps: o.klWarmupSteps ?? 0,
    freeBits: o.freeBits ?? 0,
    binarize: o.binarize ?? 'none',
    clipNorm: o.clipNorm ?? 10,
    seed: o.seed ?? 0,
    checkPixels: o.checkPixels ?? true,
  };
  const where = 'VaeTrainer';
  if (!(r.beta >= 0))
    throw new SculptError(where, 'expected beta ≥ 0', `got ${r.beta}`, 'β = 1 is the ELBO');
  if (!(r.klWarmupSteps >= 0))
    throw new SculptError(where, 'expected klWarmupSteps ≥ 0', `got ${r.klWarmupSteps}`);
  if (!(r.freeBits >= 0))
    throw new SculptError(where, 'expected freeBits ≥ 0', `got ${r.freeBits}`);
  if (r.binarize !== 'dynamic' && r.binarize !== 'none')
    throw new SculptError(
      where,
      "expected binarize 'dynamic' or 'none'",
      `got '${String(r.binarize)}'`,
    );
  return r;
}

/**
 * Trains a {@link VaeModel} with core's `Trainer` (Adam, clipping, NaN guard,
 * resumable state). Reports the terms `recon` (nats), `kl` (nats) and `negElbo` per step.
 *
 * @example
 * ```ts
 * const vae = VaeModel.create('tiny');
 * const trainer = new VaeTrainer(vae, { klWarmupSteps: 100 });
 * await trainer.fit({ data: (step, rng) => batchFor(step, rng), steps: 200 });
 * await trainer.save('ckpt');
 * const { model, trainer: t2 } = await VaeTrainer.resume('ckpt');
 * ```
 */
export class VaeTrainer {
  /** The model being trained (not owned). */
  readonly model: VaeModel;
  /** The core trainer (owned). */
  readonly trainer: Trainer<tf.Tensor4D>;
  /** The resolved JSON options. */
  readonly options: Readonly<Resolved>;

  constructor(model: VaeModel, options: VaeTrainOptions = {}) {
    this.model = model;
    this.options = Object.freeze(resolve(options));
    this.trainer = new Trainer<tf.Tensor4D>({
      params: model.params,
      loss: (_p, batch, rng) => this.loss(batch, rng),
      optimizer: adam(),
      learningRate: options.learningRate ?? 1e-3,
      clipNorm: this.options.clipNorm,
      rng: new Rng(this.options.seed),
    });
  }

  /** Steps taken so far. */
  get stepCount(): number {
    return this.trainer.stepCount;
  }

  /** The KL weight β·min(1, step/warmup) at a step. */
  klWeight(step: number): number {
    const { beta, klWarmupSteps } = this.options;
    return klWarmupSteps > 0 ? beta * Math.min(1, step / klWarmupSteps) : beta;
  }

  /**
   * The training loss of one batch `[B, H, W, C]` in [0, 1] and its terms (mean over images).
   * @returns scalars the caller owns (the Trainer disposes them during training).
   */
  loss(images: tf.Tensor4D, rng: Rng): { loss: tf.Scalar; terms: Record<string, tf.Scalar> } {
    checkImageShape('VaeTrainer.step', images, this.model.config.imageShape);
    const pixels = this.options.checkPixels ? finitePixelsTerm(images) : undefined;
    const clean = pixels?.clean ?? images;
    const x =
      this.options.binarize === 'dynamic'
        ? tf.tidy(() => tf.cast(tf.less(rng.uniform(clean.shape), clean), 'float32'))
        : clean;
    const t = elboTerms(this.model, x, rng, { checkPixels: false });
    const out = tf.tidy(() => {
      const recon = tf.mean(t.recon);
      const kl = tf.mean(t.kl);
      const klObj =
        this.options.freeBits > 0 ? tf.sum(tf.maximum(t.klDims, this.options.freeBits)) : kl;
      const loss = tf.add(tf.neg(recon), tf.mul(klObj, this.klWeight(this.trainer.stepCount)));
      return {
        loss: loss as tf.Scalar,
        terms: {
          recon: recon as tf.Scalar,
          kl: kl as tf.Scalar,
          negElbo: tf.sub(kl, recon) as tf.Scalar,
          ...(pixels ? { [PIXEL_TERM]: pixels.flag } : {}),
        },
      };
    });
    tf.dispose([t.recon, t.kl, t.klDims]);
    if (x !== clean) x.dispose();
    if (clean !== images) clean.dispose();
    return out;
  }

  /**
   * One optimisation step on `images` (not disposed). @returns core's `StepResult`.
   * @throws SculptError for a wrong image shape or NaN/±Infinity pixels (no update applied).
   */
  async step(images: tf.Tensor4D): Promise<StepResult> {
    try {
      return await this.trainer.step(images);
    } catch (error) {
      throw explainPixelTerm('VaeTrainer.step', error);
    }
  }

  /** Runs `steps` steps; `data(step, rng)` makes each batch (disposed after use). */
  async fit(options: {
    data: FitData<tf.Tensor4D>;
    steps: number;
    callbacks?: FitCallbacks;
    signal?: AbortSignal;
  }): Promise<FitResult> {
    try {
      return await this.trainer.fit(options);
    } catch (error) {
      throw explainPixelTerm('VaeTrainer.fit', error);
    }
  }

  /** Weights, config and trainer state in sculpt's checkpoint layout (`trainer/` tensors are copies the caller disposes). */
  checkpoint(extra: { [key: string]: JsonValue } = {}): Checkpoint {
    return packTrainingCheckpoint({
      kind: CHECKPOINT_KIND,
      version: 1,
      config: this.model.getConfig() as unknown as JsonValue,
      weights: this.model.params,
      trainer: this.trainer.getState(),
      extra: { trainOptions: this.options as unknown as JsonValue, ...extra },
    });
  }

  /** Saves weights and trainer state (atomic: a failed save leaves the previous checkpoint). */
  save(dir: string): Promise<void> {
    return saveTrainingCheckpoint(dir, this.checkpoint());
  }

  /** Loads a checkpoint from `save` and continues bit-identically. @returns a new model and trainer the caller owns. */
  static resume(
    dir: string,
    options: VaeTrainOptions = {},
  ): Promise<{ model: VaeModel; trainer: VaeTrainer }> {
    return readCheckpoint(
      dir,
      (c) => VaeTrainer.fromCheckpoint('VaeTrainer.resume', c, options),
      VaeModel.loadOptions(),
    );
  }

  /** A model and trainer from a training checkpoint (tensors read, not taken). */
  static fromCheckpoint(
    where: string,
    checkpoint: Checkpoint,
    options: VaeTrainOptions = {},
  ): { model: VaeModel; trainer: VaeTrainer } {
    return restoreTrainer(where, checkpoint, {
      kind: CHECKPOINT_KIND,
      modelName: 'VaeModel',
      model: (w, c) => VaeModel.fromCheckpoint(w, c),
      trainer: (model, extra) =>
        new VaeTrainer(model, { ...((extra.trainOptions ?? {}) as VaeTrainOptions), ...options }),
      setState: (trainer, state) => trainer.trainer.setState(state),
    });
  }

  /** Frees the optimizer state (not the model). */
  dispose(): void {
    this.trainer.dispose();
  }
}
