// Training a VqVaeModel on core's Trainer. Loss per image:
//   Σ_pixels BCE(x, decoder(z + sg(e − z))) + β Σ_{h,w,d} (z − sg(e))²
// (van den Oord et al. 2017, eq. 3, codebook term replaced by the EMA update).
// After each gradient step the codebook takes one EMA step on that step's
// encodings; codes unused for `restartAfter` steps restart on random encodings.
import {
  AbortError,
  adam,
  type Checkpoint,
  type JsonValue,
  type LrSchedule,
  packTrainingCheckpoint,
  Rng,
  type RngState,
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
import {
  type CodebookUsage,
  codebookUsage,
  emaUpdate,
  kmeansInit,
  quantize,
  restartDeadCodes,
} from './quantizer.js';
import { explainPixelTerm, finitePixelsTerm, PIXEL_TERM } from './shared.js';
import { VQ_CHECKPOINT_KIND, VqVaeModel } from './vq-model.js';

/** Options of {@link VqVaeTrainer}. Plain JSON except `learningRate` as a function. */
export interface VqVaeTrainOptions {
  /** Learning rate or schedule (Adam). Default 1e-3. */
  learningRate?: number | LrSchedule;
  /** Global-norm gradient clipping. Default 10. */
  clipNorm?: number;
  /** Seed of the trainer's Rng (k-means seeds, restarts). Default 0. */
  seed?: number;
  /**
   * Refuse batches with NaN/±Infinity pixels (a `SculptError`, no update),
   * through the term `nonFinitePixels` of the step's one read, as in
   * `VaeTrainer`. `false` drops the term. Default `true`.
   */
  checkPixels?: boolean;
}

/** One step's figures: core's StepResult plus the codes restarted after it. */
export interface VqStepResult extends StepResult {
  /** Dead codes restarted after this step (0 on most steps). */
  restarted: number;
}

interface Stash {
  z: tf.Tensor2D;
  oneHot: tf.Tensor2D;
}

/**
 * Trains a {@link VqVaeModel}: Adam on the encoder/decoder, EMA on the codebook,
 * k-means initialisation of the codebook from the first batch, dead-code
 * restarts, and codebook usage accumulated over an epoch (`takeUsage`).
 *
 * @example
 * ```ts
 * const vq = VqVaeModel.create('tiny-vq');
 * const trainer = new VqVaeTrainer(vq, { learningRate: 3e-3 });
 * for (let i = 0; i < 100; i++) await trainer.step(images);
 * const { perplexity, fractionUsed } = await trainer.takeUsage();   // this "epoch"
 * ```
 */
export class VqVaeTrainer {
  /** The model being trained (not owned). */
  readonly model: VqVaeModel;
  /** The core trainer (owned). */
  readonly trainer: Trainer<tf.Tensor4D>;
  /** The resolved JSON options. */
  readonly options: Readonly<Required<Omit<VqVaeTrainOptions, 'learningRate'>>>;
  private rng: Rng;
  private initialised = false;
  private stash: Stash | undefined;
  private window: tf.Tensor1D;
  private windowSteps = 0;
  private epoch: tf.Tensor1D;

  constructor(model: VqVaeModel, options: VqVaeTrainOptions = {}) {
    this.model = model;
    this.options = Object.freeze({
      clipNorm: options.clipNorm ?? 10,
      seed: options.seed ?? 0,
      checkPixels: options.checkPixels ?? true,
    });
    this.rng = new Rng(this.options.seed);
    this.trainer = new Trainer<tf.Tensor4D>({
      params: model.params,
      loss: (_p, batch) => this.loss(batch),
      optimizer: adam(),
      learningRate: options.learningRate ?? 1e-3,
      clipNorm: this.options.clipNorm,
      rng: new Rng(this.options.seed + 1),
    });
    this.window = tf.zeros([model.config.numCodes]);
    this.epoch = tf.zeros([model.config.numCodes]);
  }

  /** Steps taken so far. */
  get stepCount(): number {
    return this.trainer.stepCount;
  }

  /**
   * The loss of one batch `[B, H, W, C]` in [0, 1] and its terms `recon` (BCE nats per
   * image) and `commitment` (β-weighted, per image). Keeps the step's encodings for the EMA.
   */
  loss(images: tf.Tensor4D): { loss: tf.Scalar; terms: Record<string, tf.Scalar> } {
    const pixels = this.options.checkPixels ? finitePixelsTerm(images) : undefined;
    const x = pixels?.clean ?? images;
    const z = this.model.encodeContinuous(x, { checkPixels: false });
    const out = tf.tidy(() => {
      const [b, h, w, d] = z.shape;
      const flat = tf.reshape(z, [b * h * w, d]) as tf.Tensor2D;
      const q = quantize(flat, this.model.ema.codebook as tf.Tensor2D);
      this.keep({ z: flat.clone(), oneHot: q.oneHot.clone() });
      const logits = this.model.decodeLogits(tf.reshape(q.quantized, [b, h, w, d]));
      const bce = tf.sub(tf.softplus(logits), tf.mul(x, logits));
      const recon = tf.div(tf.sum(bce), b) as tf.Scalar;
      const commitment = tf.mul(
        q.commitment,
        this.model.config.commitment * h * w * d,
      ) as tf.Scalar;
      const terms = { recon, commitment, ...(pixels ? { [PIXEL_TERM]: pixels.flag } : {}) };
      return { loss: tf.add(recon, commitment) as tf.Scalar, terms };
    });
    tf.dispose([z, ...(x === images ? [] : [x])]);
    return out;
  }

  private keep(s: Stash): void {
    this.dropStash();
    this.stash = { z: tf.keep(s.z), oneHot: tf.keep(s.oneHot) };
  }

  private dropStash(): void {
    if (this.stash) tf.dispose([this.stash.z, this.stash.oneHot]);
    this.stash = undefined;
  }

  /**
   * One step on `images` (not disposed): gradient step, EMA codebook step, usage
   * counts, and a dead-code restart every `restartAfter` steps. The first call
   * initialises the codebook by k-means on the batch's encodings.
   */
  async step(images: tf.Tensor4D): Promise<VqStepResult> {
    if (!this.initialised) this.initialise(images);
    let result: StepResult;
    try {
      result = await this.trainer.step(images);
    } catch (error) {
      this.dropStash();
      throw explainPixelTerm('VqVaeTrainer.step', error);
    }
    const s = this.stash;
    this.stash = undefined;
    if (!s) return { ...result, restarted: 0 };
    const { emaDecay, epsilon, restartAfter } = this.model.config;
    emaUpdate(this.model.ema, s.oneHot, s.z, emaDecay, epsilon);
    this.window = this.accumulate(this.window, s.oneHot);
    this.epoch = this.accumulate(this.epoch, s.oneHot);
    this.windowSteps++;
    let restarted = 0;
    if (restartAfter > 0 && this.windowSteps >= restartAfter) {
      restarted = await restartDeadCodes(this.model.ema, this.window, s.z, this.rng);
      this.window.dispose();
      this.window = tf.zeros([this.model.config.numCodes]);
      this.windowSteps = 0;
    }
    tf.dispose([s.z, s.oneHot]);
    return { ...result, restarted };
  }

  private accumulate(counts: tf.Tensor1D, oneHot: tf.Tensor2D): tf.Tensor1D {
    const next = tf.tidy(() => tf.add(counts, tf.sum(oneHot, 0)) as tf.Tensor1D);
    counts.dispose();
    return next;
  }

  private initialise(images: tf.Tensor4D): void {
    const z = this.model.encodeContinuous(images);
    const flat = tf.reshape(z, [-1, this.model.config.codeDim]) as tf.Tensor2D;
    kmeansInit(this.model.ema, flat, this.rng);
    tf.dispose([z, flat]);
    this.initialised = true;
  }

  /**
   * Codebook usage (perplexity, codes used) accumulated since the last call,
   * e.g. over an epoch of many batches, then resets the count.
   */
  async takeUsage(): Promise<CodebookUsage> {
    const counts = await this.epoch.data();
    this.epoch.dispose();
    this.epoch = tf.zeros([this.model.config.numCodes]);
    return codebookUsage(counts);
  }

  /**
   * Runs `steps` steps on batches `data(step, rng)` (disposed after use).
   * @throws AbortError when `signal` is aborted (between steps; resume with the rest).
   */
  async fit(options: {
    data: (step: number, rng: Rng) => tf.Tensor4D;
    steps: number;
    onStep?: (result: VqStepResult) => void | Promise<void>;
    signal?: AbortSignal;
  }): Promise<VqStepResult | undefined> {
    let last: VqStepResult | undefined;
    for (let i = 0; i < options.steps; i++) {
      if (options.signal?.aborted)
        throw new AbortError(
          'VqVaeTrainer.fit',
          `expected to run ${options.steps} steps`,
          `got aborted after ${i} (trainer at step ${this.stepCount})`,
          'call fit again with the remaining steps to resume',
        );
      const batch = options.data(this.stepCount, this.rng);
      try {
        last = await this.step(batch);
      } finally {
        batch.dispose();
      }
      await options.onStep?.(last);
    }
    return last;
  }

  /** Weights, codebook, optimizer and VQ state in sculpt's checkpoint layout (model tensors are live; `trainer/` tensors are copies). */
  checkpoint(extra: { [key: string]: JsonValue } = {}): Checkpoint {
    const vq = {
      initialised: this.initialised,
      windowSteps: this.windowSteps,
      window: Array.from(this.window.dataSync()),
      epoch: Array.from(this.epoch.dataSync()),
      rng: this.rng.getState() as unknown as JsonValue,
    };
    return packTrainingCheckpoint({
      kind: VQ_CHECKPOINT_KIND,
      version: 1,
      config: this.model.getConfig() as unknown as JsonValue,
      weights: this.model.allTensors(),
      trainer: this.trainer.getState(),
      extra: { trainOptions: this.options as unknown as JsonValue, vq, ...extra },
    });
  }

  /** Saves everything needed to continue bit-identically (atomic). */
  async save(dir: string): Promise<void> {
    await saveTrainingCheckpoint(dir, this.checkpoint());
  }

  /** Loads a checkpoint from `save`. @returns a new model and trainer the caller owns. */
  static resume(dir: string, options: VqVaeTrainOptions = {}) {
    return readCheckpoint(
      dir,
      (c) => VqVaeTrainer.fromCheckpoint('VqVaeTrainer.resume', c, options),
      VqVaeModel.loadOptions(),
    );
  }

  /** A model and trainer from a training checkpoint (tensors read, not taken). */
  static fromCheckpoint(
    where: string,
    checkpoint: Checkpoint,
    options: VqVaeTrainOptions = {},
  ): { model: VqVaeModel; trainer: VqVaeTrainer } {
    return restoreTrainer(where, checkpoint, {
      kind: VQ_CHECKPOINT_KIND,
      modelName: 'VqVaeModel',
      model: (w, c) => VqVaeModel.fromCheckpoint(w, c),
      trainer: (model, extra) => {
        const t = new VqVaeTrainer(model, {
          ...((extra.trainOptions ?? {}) as VqVaeTrainOptions),
          ...options,
        });
        t.restoreVq(where, extra.vq);
        return t;
      },
      setState: (trainer, state) => trainer.trainer.setState(state),
    });
  }

  private restoreVq(where: string, vq: JsonValue | undefined): void {
    const k = this.model.config.numCodes;
    const v = vq as
      | {
          initialised?: boolean;
          windowSteps?: number;
          window?: number[];
          epoch?: number[];
          rng?: RngState;
        }
      | undefined;
    if (!v || v.window?.length !== k || v.epoch?.length !== k || !v.rng)
      throw new SculptError(
        where,
        `expected VQ trainer state with ${k} code counts`,
        'a checkpoint without it',
        'resume from a checkpoint written by VqVaeTrainer.save',
      );
    this.initialised = v.initialised === true;
    this.windowSteps = v.windowSteps ?? 0;
    tf.dispose([this.window, this.epoch]);
    this.window = tf.tensor1d(v.window);
    this.epoch = tf.tensor1d(v.epoch);
    this.rng = Rng.fromState(v.rng);
  }

  /** Frees the optimizer state and counters (not the model). */
  dispose(): void {
    this.dropStash();
    tf.dispose([this.window, this.epoch]);
    this.trainer.dispose();
  }
}
