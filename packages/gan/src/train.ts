// Training a GanModel: two core Trainers (D and G), alternated one step each.
//
// One GAN step (Goodfellow et al. 2014, Algorithm 1, k = 1):
//   1. (spectral norm) one power iteration on D's weights;
//   2. D step on a real batch x (labels y) and fakes G(z, ỹ), ỹ uniform:
//      L_D + λ·GP (WGAN-GP) + (γ/2)·k_R1·R1 every k_R1-th step (lazy R1,
//      Karras et al. 2020, "StyleGAN2", App. B: the penalty scaled by its interval);
//   3. G step on fresh z, ỹ: L_G through the updated D.
// Each Trainer brings its own optimizer (Adam, β₁ = 0.5 by default, two
// learning rates: TTUR, Heusel et al. 2017), clipping, NaN guard and Rng; the
// G trainer keeps the EMA of G's weights (Karras et al. 2018). Their states
// plus the batch Rng make a checkpoint that resumes bit-exactly.
import {
  AbortError,
  adam,
  type Checkpoint,
  type EmaOptions,
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
  type TrainState,
} from '@sculpt/core';
import * as tf from '@tensorflow/tfjs-core';
import {
  checkLoss,
  classLoss,
  discriminatorLoss,
  type GanLoss,
  generatorLoss,
  gradientPenalty,
  r1Penalty,
} from './losses.js';
import { CHECKPOINT_KIND, GanModel } from './model.js';
import { oneHot } from './nets.js';
import { nestStates, rngJson, stateAt } from './trainer-state.js';

/** A training batch: real images `[B, H, W, C]` in [−1, 1] and (conditional models) one label per image. */
export interface GanBatch {
  images: tf.Tensor4D;
  labels?: ArrayLike<number>;
}

/** Options of {@link GanTrainer}. Plain JSON except learning rates given as functions. */
export interface GanTrainOptions {
  /** The adversarial objective. Default `'non-saturating'`. */
  loss?: GanLoss;
  /** D's learning rate or schedule. Default 2e-4. */
  discriminatorLearningRate?: number | LrSchedule;
  /** G's learning rate or schedule. Default 2e-4. */
  generatorLearningRate?: number | LrSchedule;
  /** Adam β₁ of both optimizers. Default 0.5 (DCGAN). */
  beta1?: number;
  /** Adam β₂ of both optimizers. Default 0.999. */
  beta2?: number;
  /** R1 weight γ (0 = off). Default 0. */
  r1Gamma?: number;
  /** Apply R1 every this many D steps (lazy regularisation). Default 16. */
  r1Every?: number;
  /** WGAN-GP weight λ (used with `loss: 'wgan-gp'`). Default 10. */
  gradientPenaltyWeight?: number;
  /** EMA of G's weights (core's). Default `{ decay: 0.999 }`; `false` disables it. */
  ema?: EmaOptions | false;
  /** Weight λ_C of the class losses when D has a class head (`auxiliaryClassifier`): D on real images, G on its fakes. Default 1. */
  classWeight?: number;
  /** Global-norm gradient clipping of each network. Default: none. */
  clipNorm?: number;
  /** Seed of the trainer's Rng (noise, fake labels, batches). Default 0. */
  seed?: number;
}

type Resolved = Required<
  Omit<GanTrainOptions, 'discriminatorLearningRate' | 'generatorLearningRate' | 'ema' | 'clipNorm'>
> & {
  ema: EmaOptions | false;
  clipNorm: number | null;
  /** The learning rates when given as numbers (null for a schedule: pass it again on resume). */
  discriminatorLearningRate: number | null;
  generatorLearningRate: number | null;
};

function rateOf(lr: number | LrSchedule | undefined): number | null {
  return typeof lr === 'function' ? null : (lr ?? 2e-4);
}

function resolve(o: GanTrainOptions): Resolved {
  const where = 'GanTrainer';
  const r: Resolved = {
    loss: checkLoss(where, o.loss ?? 'non-saturating'),
    beta1: o.beta1 ?? 0.5,
    beta2: o.beta2 ?? 0.999,
    r1Gamma: o.r1Gamma ?? 0,
    r1Every: o.r1Every ?? 16,
    gradientPenaltyWeight: o.gradientPenaltyWeight ?? 10,
    classWeight: o.classWeight ?? 1,
    ema: o.ema ?? { decay: 0.999 },
    clipNorm: o.clipNorm ?? null,
    discriminatorLearningRate: rateOf(o.discriminatorLearningRate),
    generatorLearningRate: rateOf(o.generatorLearningRate),
    seed: o.seed ?? 0,
  };
  if (!(r.r1Gamma >= 0 && Number.isFinite(r.r1Gamma)))
    throw new SculptError(
      where,
      'expected r1Gamma ≥ 0',
      `got ${r.r1Gamma}`,
      'use 0 to turn R1 off',
    );
  if (!(Number.isInteger(r.r1Every) && r.r1Every >= 1))
    throw new SculptError(where, 'expected r1Every to be an integer ≥ 1', `got ${r.r1Every}`);
  if (!(r.classWeight >= 0 && Number.isFinite(r.classWeight)))
    throw new SculptError(where, 'expected classWeight ≥ 0', `got ${r.classWeight}`);
  if (!(r.gradientPenaltyWeight >= 0))
    throw new SculptError(
      where,
      'expected gradientPenaltyWeight ≥ 0',
      `got ${r.gradientPenaltyWeight}`,
    );
  return r;
}

/** What one GAN step did, as plain numbers (the diagnostics of a run). */
export interface GanStepResult {
  /** GAN steps completed, this one included. */
  step: number;
  /** D's total loss (penalties included) before its update. */
  discriminatorLoss: number;
  /** G's loss before its update. */
  generatorLoss: number;
  /** Mean D logit on the real batch. */
  dReal: number;
  /** Mean D logit on the fakes of the D step. */
  dFake: number;
  /** Fraction of the D step's real and fake images that D classifies right (logit sign); near 1 = D wins outright. */
  dAccuracy: number;
  /** Global gradient norm of D (before clipping). */
  discriminatorGradNorm: number;
  /** Global gradient norm of G (before clipping). */
  generatorGradNorm: number;
  /** R1 = E‖∇D(x)‖² on this step's real batch (only on lazy-R1 steps). */
  r1?: number;
  /** WGAN-GP's E(‖∇D(x̂)‖ − 1)² (only with `loss: 'wgan-gp'`). */
  gradientPenalty?: number;
  /** Class head's cross-entropy on the real batch (only with `auxiliaryClassifier`). */
  classLossReal?: number;
  /** Class head's cross-entropy on G's fakes against their labels (only with `auxiliaryClassifier`). */
  classLossFake?: number;
  /** Learning rates used: `[D, G]`. */
  learningRates: [number, number];
}

/** Callbacks of {@link GanTrainer.fit}; each may be async. */
export interface GanFitCallbacks {
  /** After every GAN step (the trainer is consistent here: checkpoint, preview). */
  onStep?: (result: GanStepResult) => void | Promise<void>;
}

/** Options of {@link GanTrainer.fit}. */
export interface GanFitOptions {
  /** Makes the real batch of GAN step `step` (0-based) from `rng` (the trainer's batch stream); disposed after use. */
  data: (step: number, rng: Rng) => GanBatch | Promise<GanBatch>;
  /** How many GAN steps this call runs. */
  steps: number;
  callbacks?: GanFitCallbacks;
  /** Stops between steps with an `AbortError`; the trainer stays resumable. */
  signal?: AbortSignal;
}

/** The D trainer's batch: the real batch plus its checked labels. */
interface DBatch {
  images: tf.Tensor4D;
  labels: Int32Array | undefined;
}

/**
 * Trains a {@link GanModel}: alternating D and G steps on two core
 * `Trainer`s (Adam, clipping, NaN guard, EMA of G, resumable state). Owns
 * its optimizers and EMA; the model stays the caller's.
 *
 * @example
 * ```ts
 * const gan = GanModel.create('tiny');
 * const trainer = new GanTrainer(gan, { loss: 'hinge', r1Gamma: 1 });
 * await trainer.fit({ data: (step, rng) => batchFor(step, rng), steps: 100, callbacks: { onStep: (r) => log(r.dReal, r.dFake) } });
 * await trainer.save('ckpt');
 * const { model, trainer: resumed } = await GanTrainer.resume('ckpt');
 * ```
 */
export class GanTrainer {
  /** The model being trained (not owned). */
  readonly model: GanModel;
  /** The resolved options (JSON part). */
  readonly options: Readonly<Resolved>;
  /** The core trainer of D (owned). */
  readonly discriminatorTrainer: Trainer<DBatch>;
  /** The core trainer of G, holding the EMA of G (owned). */
  readonly generatorTrainer: Trainer<number>;
  private batchRng: Rng;

  constructor(model: GanModel, options: GanTrainOptions = {}) {
    this.model = model;
    this.options = Object.freeze(resolve(options));
    const { beta1, beta2, ema, clipNorm, seed } = this.options;
    const [dRng, gRng, batchRng] = new Rng(seed).split(3) as Rng[];
    this.batchRng = batchRng;
    const clip = clipNorm === null ? {} : { clipNorm };
    this.discriminatorTrainer = new Trainer<DBatch>({
      params: model.discriminator as Record<string, tf.Variable>,
      loss: (_p, batch, rng) => this.discriminatorObjective(batch, rng),
      optimizer: adam({ beta1, beta2 }),
      learningRate: options.discriminatorLearningRate ?? 2e-4,
      ...clip,
      rng: dRng,
    });
    this.generatorTrainer = new Trainer<number>({
      params: model.generator as Record<string, tf.Variable>,
      loss: (_p, size, rng) => this.generatorObjective(size, rng),
      optimizer: adam({ beta1, beta2 }),
      learningRate: options.generatorLearningRate ?? 2e-4,
      ...clip,
      ...(ema === false ? {} : { ema }),
      rng: gRng,
    });
  }

  /** GAN steps completed so far. */
  get stepCount(): number {
    return this.generatorTrainer.stepCount;
  }

  /** Noise and uniform fake labels for `n` images. */
  private fakes(n: number, rng: Rng): { images: tf.Tensor4D; labels: Int32Array | undefined } {
    const k = this.model.numClasses;
    const labels = k > 0 ? rng.integers(n, 0, k) : undefined;
    const z = rng.normal([n, this.model.config.latentDim]) as tf.Tensor2D;
    const images = this.model.trainingFakes(z, labels, rng);
    z.dispose();
    return { images, labels };
  }

  /** L_D (+ penalties) of one batch, with the diagnostics as terms. Runs inside the D trainer's tape. */
  private discriminatorObjective(batch: DBatch, rng: Rng) {
    const o = this.options;
    const n = batch.images.shape[0];
    const lazyR1 = o.r1Gamma > 0 && this.discriminatorTrainer.stepCount % o.r1Every === 0;
    const fake = this.fakes(n, rng);
    const epsilon = o.loss === 'wgan-gp' ? rng.uniformArray(n) : undefined;
    const critic = (labels: Int32Array | undefined) => (x: tf.Tensor4D) =>
      this.model.critic(x, labels);
    const realOut = this.model.criticOutputs(batch.images, batch.labels);
    const real = realOut.logits;
    const fakeLogits = this.model.critic(fake.images, fake.labels);
    let loss = discriminatorLoss(o.loss, real, fakeLogits);
    const terms: Record<string, tf.Scalar> = {
      dReal: tf.mean(real),
      dFake: tf.mean(fakeLogits),
      dAccuracy: tf.div(
        tf.add(
          tf.sum(tf.cast(tf.greater(real, 0), 'float32')),
          tf.sum(tf.cast(tf.lessEqual(fakeLogits, 0), 'float32')),
        ),
        2 * n,
      ),
    };
    if (realOut.classLogits && batch.labels) {
      const ce = classLoss(realOut.classLogits, oneHot(batch.labels, this.model.numClasses));
      terms.classLossReal = ce;
      loss = tf.add(loss, tf.mul(ce, o.classWeight));
    }
    if (epsilon) {
      const gp = gradientPenalty(
        critic(batch.labels),
        batch.images,
        fake.images,
        tf.tensor1d(epsilon),
      );
      terms.gradientPenalty = gp;
      loss = tf.add(loss, tf.mul(gp, o.gradientPenaltyWeight));
    }
    if (lazyR1) {
      const r1 = r1Penalty(critic(batch.labels), batch.images);
      terms.r1 = r1;
      loss = tf.add(loss, tf.mul(r1, (o.r1Gamma / 2) * o.r1Every));
    }
    return { loss, terms };
  }

  /** L_G of `n` fresh fakes through the current D (+ λ_C · the class loss of the fakes). */
  private generatorObjective(
    n: number,
    rng: Rng,
  ): { loss: tf.Scalar; terms: Record<string, tf.Scalar> } {
    const fake = this.fakes(n, rng);
    const out = this.model.criticOutputs(fake.images, fake.labels);
    const adversarial = generatorLoss(this.options.loss, out.logits);
    if (!(out.classLogits && fake.labels)) return { loss: adversarial, terms: {} };
    const ce = classLoss(out.classLogits, oneHot(fake.labels, this.model.numClasses));
    const loss = tf.add(adversarial, tf.mul(ce, this.options.classWeight)) as tf.Scalar;
    return { loss, terms: { classLossFake: ce } };
  }

  /**
   * One GAN step (D, then G) on a real batch (not disposed).
   * @returns the step's diagnostics (plain numbers).
   * @throws NonFiniteLossError (core's) before a bad update of either network.
   */
  async step(batch: GanBatch): Promise<GanStepResult> {
    const where = 'GanTrainer.step';
    this.model.checkImages(where, batch?.images);
    const n = batch.images.shape[0];
    const labels =
      this.model.numClasses > 0 ? this.model.labelsFor(where, batch.labels, n) : undefined;
    this.model.updateSpectralNorm();
    const d = await this.discriminatorTrainer.step({ images: batch.images, labels });
    const g = await this.generatorTrainer.step(n);
    this.model.updateMeanStyle();
    return this.result(d, g);
  }

  private result(d: StepResult, g: StepResult): GanStepResult {
    const { dReal, dFake, dAccuracy, r1, gradientPenalty: gp, classLossReal } = d.terms;
    const { classLossFake } = g.terms;
    return {
      step: g.step,
      discriminatorLoss: d.loss,
      generatorLoss: g.loss,
      dReal,
      dFake,
      dAccuracy,
      discriminatorGradNorm: d.gradNorm,
      generatorGradNorm: g.gradNorm,
      ...(r1 === undefined ? {} : { r1 }),
      ...(gp === undefined ? {} : { gradientPenalty: gp }),
      ...(classLossReal === undefined ? {} : { classLossReal, classLossFake }),
      learningRates: [d.lr, g.lr],
    };
  }

  /**
   * Runs `steps` GAN steps, one real batch each from `data(step, rng)`.
   * An aborted `signal` stops it between steps with core's `AbortError`.
   * @returns the last step's diagnostics (undefined when `steps` is 0).
   */
  async fit(options: GanFitOptions): Promise<GanStepResult | undefined> {
    const { data, steps, callbacks = {}, signal } = options;
    if (!(Number.isInteger(steps) && steps >= 0))
      throw new SculptError('GanTrainer.fit', 'steps must be an integer ≥ 0', `got ${steps}`);
    let last: GanStepResult | undefined;
    for (let done = 0; done < steps; done++) {
      if (signal?.aborted) {
        throw new AbortError(
          'GanTrainer.fit',
          `expected to run ${steps} steps`,
          `got aborted after ${done} (trainer at step ${this.stepCount})`,
          'call fit again with the remaining steps to resume',
        );
      }
      const batch = await data(this.stepCount, this.batchRng.split() as Rng);
      try {
        last = await this.step(batch);
      } finally {
        batch.images.dispose();
      }
      await callbacks.onStep?.(last);
    }
    return last;
  }

  /** Runs `fn` with G's EMA weights swapped in, then restores the live weights. */
  withEma<T>(fn: () => T | Promise<T>): Promise<T> {
    const ema = this.generatorTrainer.ema;
    if (!ema) return Promise.resolve(fn());
    return ema.withAveraged(this.model.generator as Record<string, tf.Variable>, fn);
  }

  /** Copies G's EMA weights into the model (e.g. before exporting). No-op without EMA. */
  applyEma(): void {
    this.generatorTrainer.ema?.copyTo(this.model.generator as Record<string, tf.Variable>);
  }

  /**
   * Both trainers' states and the batch Rng: tensors `d/…`, `g/…`; json `{ d, g, batchRng }`.
   * @returns fresh tensors the caller owns.
   */
  getState(): TrainState {
    const nested = nestStates({
      d: this.discriminatorTrainer.getState(),
      g: this.generatorTrainer.getState(),
    });
    return { ...nested, json: { ...nested.json, batchRng: rngJson(this.batchRng.getState()) } };
  }

  /** Restores a state from {@link GanTrainer.getState} (copies it in). */
  setState(state: TrainState): void {
    const part = (prefix: string): TrainState => stateAt('GanTrainer.setState', state, prefix);
    const batchRng = Rng.fromState(state.json.batchRng as unknown as RngState);
    this.discriminatorTrainer.setState(part('d'));
    this.generatorTrainer.setState(part('g'));
    this.batchRng = batchRng;
  }

  /**
   * Weights, config and both trainers' state in sculpt's checkpoint layout.
   * @returns a checkpoint whose `trainer/` tensors are fresh copies the caller
   *   disposes; the `model/` tensors are the model's own variables (do not dispose).
   */
  checkpoint(extra: { [key: string]: JsonValue } = {}): Checkpoint {
    return packTrainingCheckpoint({
      kind: CHECKPOINT_KIND,
      version: 1,
      config: this.model.getConfig() as unknown as JsonValue,
      weights: this.model.weights,
      trainer: this.getState(),
      extra: { trainOptions: this.options as unknown as JsonValue, ...extra },
    });
  }

  /** Saves weights, trainer state, config and options (atomic: a failed save leaves the previous checkpoint). */
  save(dir: string): Promise<void> {
    return saveTrainingCheckpoint(dir, this.checkpoint());
  }

  /**
   * Loads a checkpoint written by `save` and continues where it stopped.
   * @param options - overrides of the stored options (e.g. learning-rate functions).
   * @returns a new model and trainer; the caller owns both.
   * @example `const { model, trainer } = await GanTrainer.resume('checkpoints/run1')`
   */
  static resume(
    dir: string,
    options: GanTrainOptions = {},
  ): Promise<{ model: GanModel; trainer: GanTrainer }> {
    return readCheckpoint(
      dir,
      (c) => GanTrainer.fromCheckpoint('GanTrainer.resume', c, options),
      GanModel.loadOptions(),
    );
  }

  /**
   * A model and trainer from a training checkpoint (the tensors are read, not taken).
   * @returns a new model and trainer; the caller owns both.
   * @throws SculptError for a model-only checkpoint; CheckpointError for another kind.
   */
  static fromCheckpoint(
    where: string,
    checkpoint: Checkpoint,
    options: GanTrainOptions = {},
  ): { model: GanModel; trainer: GanTrainer } {
    return restoreTrainer(where, checkpoint, {
      kind: CHECKPOINT_KIND,
      modelName: 'GanModel',
      model: (w, c) => GanModel.fromCheckpoint(w, c),
      trainer: (model, extra) => {
        // JSON null marks an option that was not a plain number (no clipping, a schedule).
        const stored = Object.fromEntries(
          Object.entries((extra.trainOptions ?? {}) as Record<string, JsonValue>).filter(
            ([, v]) => v !== null,
          ),
        ) as GanTrainOptions;
        return new GanTrainer(model, { ...stored, ...options });
      },
      setState: (trainer, state) => trainer.setState(state),
    });
  }

  /** Frees both optimizers and the EMA (not the model). */
  dispose(): void {
    this.discriminatorTrainer.dispose();
    this.generatorTrainer.dispose();
  }
}
