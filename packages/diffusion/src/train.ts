// Training a DiffusionModel on core's Trainer.
//
// Notation (DDPM / EDM): x₀ data in [−1, 1]; ε ~ N(0, I).
//   discrete: t ~ U{0…T−1}, x_t = √ᾱ_t x₀ + √(1−ᾱ_t) ε, SNR_t = ᾱ_t/(1−ᾱ_t);
//     targets ε, v = √ᾱ_t ε − √(1−ᾱ_t) x₀ (Salimans & Ho 2022, eq. 9) or x₀.
//   edm (Karras et al. 2022, Table 1): ln σ ~ N(P_mean, P_std²), x = x₀ + σε,
//     F-target (x₀ − c_skip x)/c_out, SNR = 1/σ².
// Min-SNR-γ (Hang et al. 2023, arXiv 2303.09556, eq. 8) weights the error in
// x₀-space by min(SNR, γ): per objective that is min(SNR, γ)/SNR (ε),
// min(SNR, γ)/(SNR + 1) (v), min(SNR, γ) (x₀), min(SNR, γ)·c_out² (EDM's F).
import {
  adamW,
  type Checkpoint,
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
import { CHECKPOINT_KIND, DiffusionModel } from './model.js';

/** A training batch: images `[B, H, W, C]` in [−1, 1] and (class-conditional models) one label per image. */
export interface DiffusionBatch {
  images: tf.Tensor4D;
  labels?: Int32Array;
  /** Context sequence `[B, L, D]` for a U-Net with `contextDim` (e.g. encoded captions; drop captions for CFG before encoding). */
  context?: tf.Tensor3D;
  /** `[B, L]`: 1 = token, 0 = padding. Default all ones. */
  contextMask?: tf.Tensor2D;
}

/** Loss weighting across noise levels. */
export type LossWeighting = 'none' | 'min-snr';

/** Options of {@link DiffusionTrainer}. Plain JSON except `learningRate` as a function. */
export interface DiffusionTrainOptions {
  /** Peak learning rate or a schedule. Default 1e-3 (AdamW). */
  learningRate?: number | LrSchedule;
  /** AdamW decoupled weight decay. Default 1e-4. */
  weightDecay?: number;
  /** Default `'min-snr'`. */
  lossWeighting?: LossWeighting;
  /** γ of min-SNR. Default 5. */
  minSnrGamma?: number;
  /** Probability of replacing a label by the null label (classifier-free guidance). Default 0.1. */
  conditionDropout?: number;
  /** EMA of the weights (core's). Default `{ decay: 0.999 }`; `false` disables it. */
  ema?: EmaOptions | false;
  /** Global-norm gradient clipping. Default 1. */
  clipNorm?: number;
  /** EDM: mean and std of ln σ. Default −1.2 and 1.2. */
  edmLogSigmaMean?: number;
  /** See `edmLogSigmaMean`. */
  edmLogSigmaStd?: number;
  /** Seed of the trainer's Rng (noise, timesteps, dropout). Default 0. */
  seed?: number;
}

type Resolved = Required<Omit<DiffusionTrainOptions, 'learningRate' | 'ema'>> & {
  ema: EmaOptions | false;
};

function resolve(options: DiffusionTrainOptions): Resolved {
  const r: Resolved = {
    weightDecay: options.weightDecay ?? 1e-4,
    lossWeighting: options.lossWeighting ?? 'min-snr',
    minSnrGamma: options.minSnrGamma ?? 5,
    conditionDropout: options.conditionDropout ?? 0.1,
    ema: options.ema ?? { decay: 0.999 },
    clipNorm: options.clipNorm ?? 1,
    edmLogSigmaMean: options.edmLogSigmaMean ?? -1.2,
    edmLogSigmaStd: options.edmLogSigmaStd ?? 1.2,
    seed: options.seed ?? 0,
  };
  const where = 'DiffusionTrainer';
  if (!['none', 'min-snr'].includes(r.lossWeighting))
    throw new SculptError(
      where,
      "expected lossWeighting 'none' or 'min-snr'",
      `got '${r.lossWeighting}'`,
    );
  if (!(r.minSnrGamma > 0))
    throw new SculptError(where, 'expected minSnrGamma > 0', `got ${r.minSnrGamma}`);
  if (!(r.conditionDropout >= 0 && r.conditionDropout < 1))
    throw new SculptError(
      where,
      'expected conditionDropout in [0, 1)',
      `got ${r.conditionDropout}`,
    );
  return r;
}

/** Per-image CPU-side noise levels and weights for one batch. */
interface Levels {
  time: Float32Array; // network time input
  signal: Float32Array; // x = signal·x₀ + noise·ε
  noise: Float32Array;
  weight: Float32Array;
  sigma: Float32Array; // EDM σ (for the target)
}

/**
 * Trains a {@link DiffusionModel} with core's `Trainer` (AdamW, clipping, EMA,
 * NaN guard, resumable state). Owns its optimizer and EMA state; the model
 * stays the caller's.
 *
 * @example
 * ```ts
 * const model = DiffusionModel.create('tiny');
 * const trainer = new DiffusionTrainer(model, { learningRate: 2e-3 });
 * await trainer.fit({ data: (step, rng) => batchFor(step, rng), steps: 100 });
 * await trainer.save('ckpt');                    // weights + trainer state + config
 * const { model: m2, trainer: t2 } = await DiffusionTrainer.resume('ckpt');
 * ```
 */
export class DiffusionTrainer {
  /** The model being trained (not owned). */
  readonly model: DiffusionModel;
  /** The core trainer (owned). */
  readonly trainer: Trainer<DiffusionBatch>;
  /** The resolved options (JSON part). */
  readonly options: Readonly<Resolved>;
  /** The learning rate or schedule it trains with (stored in checkpoints when it is core's). */
  readonly learningRate: number | LrSchedule;

  constructor(model: DiffusionModel, options: DiffusionTrainOptions = {}) {
    this.model = model;
    this.options = Object.freeze(resolve(options));
    this.learningRate = options.learningRate ?? 1e-3;
    const { weightDecay, ema, clipNorm, seed } = this.options;
    this.trainer = new Trainer<DiffusionBatch>({
      params: model.params as Record<string, tf.Variable>,
      loss: (_params, batch, rng) => this.loss(batch, rng),
      optimizer: adamW({ weightDecay }),
      learningRate: this.learningRate,
      clipNorm,
      ...(ema === false ? {} : { ema }),
      rng: new Rng(seed),
    });
  }

  /** Steps taken so far. */
  get stepCount(): number {
    return this.trainer.stepCount;
  }

  private levels(batch: number, rng: Rng): Levels {
    const c = this.model.config;
    const o = this.options;
    const out: Levels = {
      time: new Float32Array(batch),
      signal: new Float32Array(batch),
      noise: new Float32Array(batch),
      weight: new Float32Array(batch),
      sigma: new Float32Array(batch),
    };
    if (c.preconditioning === 'edm') {
      const z = rng.normalArray(batch);
      const sd = c.sigmaData;
      for (let i = 0; i < batch; i++) {
        const s = Math.exp(o.edmLogSigmaMean + o.edmLogSigmaStd * z[i]);
        const cOut2 = (s * s * sd * sd) / (s * s + sd * sd);
        out.sigma[i] = s;
        out.time[i] = Math.log(s) / 4;
        out.signal[i] = 1;
        out.noise[i] = s;
        out.weight[i] =
          o.lossWeighting === 'min-snr' ? Math.min(1 / (s * s), o.minSnrGamma) * cOut2 : 1;
      }
      return out;
    }
    const abar = this.model.schedule.alphasCumprod;
    const u = rng.uniformArray(batch);
    for (let i = 0; i < batch; i++) {
      const t = Math.min(abar.length - 1, Math.floor(u[i] * abar.length));
      const a = abar[t];
      const snr = a / (1 - a);
      const clipped = Math.min(snr, o.minSnrGamma);
      out.time[i] = t;
      out.signal[i] = Math.sqrt(a);
      out.noise[i] = Math.sqrt(1 - a);
      const w =
        c.prediction === 'epsilon'
          ? clipped / snr
          : c.prediction === 'v'
            ? clipped / (snr + 1)
            : clipped;
      out.weight[i] = o.lossWeighting === 'min-snr' ? w : 1;
    }
    return out;
  }

  private labels(batch: DiffusionBatch, n: number, rng: Rng): Float32Array | undefined {
    const k = this.model.numClasses;
    if (k === 0) return undefined;
    const given =
      batch.labels === undefined
        ? new Int32Array(n).fill(k)
        : this.model.checkLabels('DiffusionTrainer.step', batch.labels, n);
    const drop = rng.uniformArray(n);
    return Float32Array.from(given, (l, i) => (drop[i] < this.options.conditionDropout ? k : l));
  }

  /**
   * The weighted denoising loss of one batch (mean over images of the
   * per-image weighted mean squared error). Used by the trainer; exposed for tests.
   * @returns a scalar; the caller owns it.
   */
  loss(batch: DiffusionBatch, rng: Rng): tf.Scalar {
    this.model.checkImages('DiffusionTrainer.step', batch.images);
    const x0 = batch.images;
    const n = x0.shape[0];
    const lv = this.levels(n, rng);
    const labels = this.labels(batch, n, rng);
    const eps = rng.normal(x0.shape);
    return tf.tidy(() => {
      const col = (a: Float32Array) => tf.tensor4d(a, [n, 1, 1, 1]);
      const x = tf.add(tf.mul(x0, col(lv.signal)), tf.mul(eps, col(lv.noise)));
      const edm = this.model.config.preconditioning === 'edm';
      const sd = this.model.config.sigmaData;
      const cIn = edm
        ? Float32Array.from(lv.sigma, (s) => 1 / Math.sqrt(s * s + sd * sd))
        : undefined;
      const input = cIn ? tf.mul(x, col(cIn)) : x;
      const cond = {
        ...(labels ? { labels: tf.tensor1d(labels) as tf.Tensor1D } : {}),
        ...(batch.context ? { context: batch.context } : {}),
        ...(batch.contextMask ? { contextMask: batch.contextMask } : {}),
      };
      const out = this.model.network(input, tf.tensor1d(lv.time), cond);
      const target = this.target(x0, eps, x, lv);
      const perImage = tf.mean(tf.square(tf.sub(out, target)), [1, 2, 3]);
      eps.dispose();
      return tf.mean(tf.mul(perImage, tf.tensor1d(lv.weight))) as tf.Scalar;
    });
  }

  private target(x0: tf.Tensor, eps: tf.Tensor, x: tf.Tensor, lv: Levels): tf.Tensor {
    const n = x0.shape[0];
    const col = (a: Float32Array) => tf.tensor4d(a, [n, 1, 1, 1]);
    const c = this.model.config;
    if (c.preconditioning === 'edm') {
      const sd2 = c.sigmaData ** 2;
      const cSkip = Float32Array.from(lv.sigma, (s) => sd2 / (s * s + sd2));
      const cOut = Float32Array.from(lv.sigma, (s) => (s * c.sigmaData) / Math.sqrt(s * s + sd2));
      return tf.div(tf.sub(x0, tf.mul(x, col(cSkip))), col(cOut));
    }
    if (c.prediction === 'epsilon') return eps;
    if (c.prediction === 'sample') return x0;
    return tf.sub(tf.mul(eps, col(lv.signal)), tf.mul(x0, col(lv.noise))); // v
  }

  /**
   * One optimisation step on `batch` (not disposed).
   * @returns core's `StepResult` (`loss`, `gradNorm`, `lr`, `step`).
   */
  step(batch: DiffusionBatch): Promise<StepResult> {
    return this.trainer.step(batch);
  }

  /**
   * Runs `steps` steps; `data(step, rng)` makes each batch (disposed after use).
   * @returns core's `FitResult`.
   */
  fit(options: {
    data: FitData<DiffusionBatch>;
    steps: number;
    callbacks?: FitCallbacks;
    signal?: AbortSignal;
  }): Promise<FitResult> {
    return this.trainer.fit(options);
  }

  /** Copies the EMA weights into the model (e.g. before sampling or exporting). No-op without EMA. */
  applyEma(): void {
    this.trainer.ema?.copyTo(this.model.params as Record<string, tf.Variable>);
  }

  /** Runs `fn` with the EMA weights swapped in, then restores the live weights. */
  withEma<T>(fn: () => T | Promise<T>): Promise<T> {
    if (!this.trainer.ema) return Promise.resolve(fn());
    return this.trainer.ema.withAveraged(this.model.params as Record<string, tf.Variable>, fn);
  }

  /**
   * Saves weights + trainer state (optimizer, EMA, Rng, step) + config + options to a directory.
   * @example `await trainer.save('checkpoints/run1')`
   */
  save(dir: string): Promise<void> {
    return saveTrainingCheckpoint(dir, this.checkpoint());
  }

  /**
   * Weights, config and trainer state in sculpt's checkpoint layout (what
   * {@link DiffusionTrainer.save} writes), with `extra` JSON beside them.
   *
   * @returns a checkpoint whose `trainer/` tensors are fresh copies the caller
   *   disposes; the `model/` tensors are the model's own variables (do not dispose).
   */
  checkpoint(extra: { [key: string]: JsonValue } = {}): Checkpoint {
    const state = this.trainer.getState();
    return packTrainingCheckpoint({
      kind: CHECKPOINT_KIND,
      version: 1,
      config: this.model.getConfig() as unknown as JsonValue,
      weights: this.model.params,
      trainer: state,
      extra: {
        trainOptions: {
          ...(this.options as unknown as { [key: string]: JsonValue }),
          // null: a function of the caller's own, which resuming must be given again.
          learningRate: (describeLr(this.learningRate) ?? null) as unknown as JsonValue,
        },
        ...extra,
      },
    });
  }

  /**
   * Loads a checkpoint written by `save` and continues where it stopped
   * (same Rng stream, optimizer moments and EMA).
   * @param options - overrides the saved options (e.g. a new `learningRate` function; JSON options are restored).
   * @returns a new model and trainer; the caller owns both.
   * @example `const { model, trainer } = await DiffusionTrainer.resume('checkpoints/run1')`
   */
  static resume(
    dir: string,
    options: DiffusionTrainOptions = {},
  ): Promise<{ model: DiffusionModel; trainer: DiffusionTrainer }> {
    return readCheckpoint(
      dir,
      (c) => DiffusionTrainer.fromCheckpoint('DiffusionTrainer.resume', c, options),
      DiffusionModel.loadOptions(),
    );
  }

  /**
   * A model and trainer from a checkpoint in sculpt's layout (written by
   * {@link DiffusionTrainer.save} or {@link DiffusionTrainer.checkpoint}).
   *
   * @param options - overrides of the stored training options.
   * @returns a new model and trainer; the caller owns both. The checkpoint's tensors are read, not taken.
   * @throws SculptError for a model-only checkpoint or one of another kind.
   */
  static fromCheckpoint(
    where: string,
    checkpoint: Checkpoint,
    options: DiffusionTrainOptions = {},
  ): { model: DiffusionModel; trainer: DiffusionTrainer } {
    return restoreTrainer(where, checkpoint, {
      kind: CHECKPOINT_KIND,
      modelName: 'DiffusionModel',
      model: (w, c) => DiffusionModel.fromCheckpoint(w, c),
      trainer: (model, extra) => {
        const { learningRate: storedLr, ...stored } = (extra.trainOptions ?? {}) as Omit<
          DiffusionTrainOptions,
          'learningRate'
        > & { learningRate?: LrSpec | null };
        let learningRate = options.learningRate;
        if (learningRate === undefined && storedLr !== undefined) {
          if (storedLr === null)
            throw new SculptError(
              where,
              'expected options.learningRate: the run was trained with a schedule function of its own, which a checkpoint cannot store',
              'got no learningRate',
              'pass the same schedule again, e.g. DiffusionTrainer.resume(dir, { learningRate: mySchedule })',
            );
          learningRate = lrFromSpec(storedLr);
        }
        return new DiffusionTrainer(model, { ...stored, ...options, learningRate });
      },
      setState: (trainer, state) => trainer.trainer.setState(state),
    });
  }

  /** Frees the optimizer and EMA state (not the model). */
  dispose(): void {
    this.trainer.dispose();
  }
}
