/**
 * The one training loop of sculpt: every family (diffusion, VAE, GAN, GPT)
 * hands it parameters, a loss and an optimizer instead of writing its own.
 *
 * One step: split the Rng → loss and gradients (`tf.variableGrads`, in a
 * tidy) → optional global-norm clipping → read [loss, gradNorm, …terms] back
 * in one `await data()` (the only sync per step; it is what lets the NaN guard
 * stop before a bad update) → optimizer update → optional EMA update.
 */
import * as tf from '@tensorflow/tfjs-core';
import { AbortError, formatShape, NonFiniteLossError, SculptError } from '../errors.js';
import { Rng } from '../random/rng.js';
import { clipByGlobalNorm, globalNorm } from './clip.js';
import { BatchSource, disposeBatch, type FitData } from './data.js';
import { type EmaOptions, ExponentialMovingAverage } from './ema.js';
import type { Optimizer } from './optimizers.js';
import type { LrSchedule } from './schedules.js';
import {
  type JsonValue,
  jsonCount,
  jsonObject,
  prefixTensors,
  type TrainState,
  unprefixTensors,
} from './state.js';

/** What a loss function returns: a scalar, or a scalar plus named scalar terms to log and guard. */
export type LossOutput = tf.Scalar | { loss: tf.Scalar; terms?: Record<string, tf.Scalar> };

/**
 * A loss: runs the model on `batch` with `params` and returns a scalar. Any
 * randomness (noise, timesteps, dropout) comes from `rng`, a fresh child
 * generator per step. Called inside a tidy: return values are managed by the Trainer.
 */
export type LossFn<B> = (
  params: Readonly<Record<string, tf.Variable>>,
  batch: B,
  rng: Rng,
) => LossOutput;

/** Options of {@link Trainer}. */
export interface TrainerOptions<B> {
  /** The trainable parameters by name (updated in place; never disposed by the Trainer). */
  params: Record<string, tf.Variable>;
  /** The loss to minimise. */
  loss: LossFn<B>;
  /** The optimizer; the Trainer takes it over (`trainer.dispose()` frees its state). */
  optimizer: Optimizer;
  /** A rate or a schedule of the 0-based step index. Default: the optimizer's `learningRate`. */
  learningRate?: number | LrSchedule;
  /** Clip gradients to this global L2 norm (> 0). Default: no clipping. */
  clipNorm?: number;
  /** Keep an EMA of `params` (created and owned by the Trainer). Default: none. */
  ema?: EmaOptions;
  /** The source of all randomness. The Trainer advances it (split it first to share a seed). Default `new Rng(0)`. */
  rng?: Rng;
}

/** What one step did, as plain numbers. */
export interface StepResult {
  /** Steps completed, this one included (1 after the first step). */
  step: number;
  /** The loss before the update. */
  loss: number;
  /** The loss's named terms before the update (empty when the loss returned a bare scalar). */
  terms: Record<string, number>;
  /** The global L2 norm of the gradients before clipping. */
  gradNorm: number;
  /** The learning rate used. */
  lr: number;
}

/** What {@link FitCallbacks.onProgress} receives after every step. */
export interface FitProgress {
  /** Steps completed by the trainer (its `stepCount`). */
  step: number;
  /** Steps completed in this `fit` call. */
  done: number;
  /** Steps this `fit` call will run. */
  total: number;
  /** Wall time since `fit` started, in ms. */
  elapsedMs: number;
  /** Estimated ms left in this `fit` call. */
  etaMs: number;
}

/** Callbacks of {@link Trainer.fit}; each may be async (awaited before the next step). */
export interface FitCallbacks {
  /** After every step: log, preview samples, checkpoint (`trainer.getState()` is consistent here). */
  onStep?: (result: StepResult) => void | Promise<void>;
  /** After every epoch (`epoch` counts from 1). */
  onEpoch?: (epoch: number) => void | Promise<void>;
  /** After every step, for progress bars. */
  onProgress?: (progress: FitProgress) => void | Promise<void>;
}

/** Options of {@link Trainer.fit}. */
export interface FitOptions<B> {
  /** Where batches come from. */
  data: FitData<B>;
  /** How many steps this call runs (not a total: resume with the remaining count). */
  steps: number;
  /** Progress, logging and checkpoint hooks. */
  callbacks?: FitCallbacks;
  /** Stops between steps with an {@link AbortError}; the trainer stays consistent and resumable. */
  signal?: AbortSignal;
  /** Steps per epoch when `data` is a function (for `onEpoch`). Default: no epochs. */
  stepsPerEpoch?: number;
  /** Dispose the tensors in each batch after its step. Default `true`; set `false` when batches are reused (preloaded arrays). */
  disposeBatches?: boolean;
}

/** What {@link Trainer.fit} returns. */
export interface FitResult {
  /** Steps run in this call. */
  stepsRun: number;
  /** The trainer's step count afterwards. */
  step: number;
  /** The last step's result (undefined when `steps` was 0). */
  last: StepResult | undefined;
}

/** Why `t` is not a scalar tensor, or undefined when it is. */
function notScalar(what: string, t: unknown): string | undefined {
  if (t instanceof tf.Tensor && t.rank === 0) return undefined;
  return `${what} ${t instanceof tf.Tensor ? `with shape ${formatShape(t.shape)}` : `of type ${typeof t}`}`;
}

/**
 * Trains `params` to minimise `loss`: one step with {@link Trainer.step}, many
 * with {@link Trainer.fit}. Deterministic for a seed on cpu/wasm: the only
 * randomness is `rng`, split once per step for the data and once for the loss,
 * so a run resumed from {@link Trainer.getState} continues bit-identically.
 *
 * Per step the loop reads back one small vector [loss, gradNorm, …terms]
 * (`await data()`): the NaN/Inf guard needs it before applying the update.
 *
 * @example
 * ```ts
 * const w = tf.variable(tf.zeros([3, 1]));
 * const trainer = new Trainer({
 *   params: { w },
 *   loss: (p, { x, y }) => tf.losses.meanSquaredError(y, tf.matMul(x, p.w)) as tf.Scalar,
 *   optimizer: adamW({ learningRate: 1e-2 }),
 *   learningRate: warmupCosineLr({ peak: 1e-2, warmupSteps: 10, totalSteps: 500 }),
 *   clipNorm: 1,
 *   ema: { decay: 0.99 },
 *   rng: new Rng(42),
 * });
 * await trainer.fit({ data: (step, rng) => makeBatch(rng), steps: 500, callbacks: { onStep: (r) => log(r.loss) } });
 * trainer.dispose(); // frees optimizer and EMA state, not w
 * ```
 */
export class Trainer<B = unknown> {
  /** The parameters being trained (the caller's record, updated in place). */
  readonly params: Readonly<Record<string, tf.Variable>>;
  /** The EMA of the parameters, when `ema` options were given (owned by the Trainer). */
  readonly ema: ExponentialMovingAverage | undefined;
  private readonly lossFn: LossFn<B>;
  private readonly optimizer: Optimizer;
  private readonly learningRate: number | LrSchedule | undefined;
  private readonly clipNorm: number | undefined;
  private rng: Rng;
  private count = 0;
  private busy = false;
  private disposed = false;

  /** @param options - see {@link TrainerOptions}. */
  constructor(options: TrainerOptions<B>) {
    const { params, loss, optimizer, learningRate, clipNorm, ema, rng = new Rng(0) } = options;
    const entries = Object.entries(params ?? {});
    if (entries.length === 0 || !entries.every(([, v]) => v instanceof tf.Variable)) {
      throw new SculptError(
        'Trainer',
        'params must be a non-empty record of tf.Variable',
        `got keys [${Object.keys(params ?? {}).join(', ')}]`,
        'wrap weights with tf.variable(...)',
      );
    }
    if (typeof loss !== 'function') {
      throw new SculptError(
        'Trainer',
        'loss must be a function (params, batch, rng) => Scalar',
        `got ${typeof loss}`,
      );
    }
    if (typeof learningRate === 'number' && !(Number.isFinite(learningRate) && learningRate >= 0)) {
      throw new SculptError(
        'Trainer',
        'learningRate must be a finite number ≥ 0 or a schedule',
        `got ${learningRate}`,
      );
    }
    if (clipNorm !== undefined && !(Number.isFinite(clipNorm) && clipNorm > 0)) {
      throw new SculptError(
        'Trainer',
        'clipNorm must be a finite number > 0',
        `got ${clipNorm}`,
        'leave clipNorm out to disable clipping',
      );
    }
    this.params = params;
    this.lossFn = loss;
    this.optimizer = optimizer;
    this.learningRate = learningRate;
    this.clipNorm = clipNorm;
    this.rng = rng;
    this.ema = ema ? new ExponentialMovingAverage(params, ema) : undefined;
  }

  /** Steps completed so far (restored by `setState`). */
  get stepCount(): number {
    return this.count;
  }

  /** The learning rate for the 0-based step index `step` (checked to be finite and ≥ 0). */
  learningRateAt(step: number): number {
    const s = this.learningRate;
    const lr = s === undefined ? this.optimizer.learningRate : typeof s === 'number' ? s : s(step);
    if (!(Number.isFinite(lr) && lr >= 0)) {
      throw new SculptError(
        'Trainer.step',
        `expected the learning-rate schedule to give a finite rate ≥ 0 at step index ${step}`,
        `got ${lr}`,
      );
    }
    return lr;
  }

  /**
   * Runs one optimisation step on `batch` (not disposed). Throws
   * {@link NonFiniteLossError} without touching the parameters, the optimizer,
   * the EMA or the step count when the loss, a term or the gradient norm is
   * NaN or infinite.
   *
   * @returns the step's numbers (plain JS; nothing to dispose).
   */
  async step(batch: B): Promise<StepResult> {
    this.enter('Trainer.step');
    try {
      return await this.runStep(batch);
    } finally {
      this.busy = false;
    }
  }

  /**
   * Runs `steps` steps, pulling a batch per step from `data`, calling the
   * callbacks after each. An aborted `signal` stops it before the next step
   * with an {@link AbortError}; a finished step is never half-applied.
   *
   * @returns `{ stepsRun, step, last }`.
   */
  async fit(options: FitOptions<B>): Promise<FitResult> {
    const { data, steps, callbacks = {}, signal, stepsPerEpoch, disposeBatches = true } = options;
    if (!(Number.isInteger(steps) && steps >= 0)) {
      throw new SculptError('Trainer.fit', 'steps must be an integer ≥ 0', `got ${steps}`);
    }
    if (stepsPerEpoch !== undefined && !(Number.isInteger(stepsPerEpoch) && stepsPerEpoch > 0)) {
      throw new SculptError(
        'Trainer.fit',
        'stepsPerEpoch must be a positive integer',
        `got ${stepsPerEpoch}`,
      );
    }
    this.enter('Trainer.fit');
    const source = new BatchSource(data);
    const start = performance.now();
    let last: StepResult | undefined;
    try {
      for (let done = 0; done < steps; done++) {
        if (signal?.aborted) {
          throw new AbortError(
            'Trainer.fit',
            `expected to run ${steps} steps`,
            `got aborted after ${done} (trainer at step ${this.count})`,
            'call fit again with the remaining steps to resume',
          );
        }
        const batch = await source.next(this.count, this.rng, callbacks.onEpoch);
        try {
          last = await this.runStep(batch);
        } finally {
          if (disposeBatches) disposeBatch(batch);
        }
        await callbacks.onStep?.(last);
        const elapsedMs = performance.now() - start;
        await callbacks.onProgress?.({
          step: this.count,
          done: done + 1,
          total: steps,
          elapsedMs,
          etaMs: (elapsedMs / (done + 1)) * (steps - done - 1),
        });
        if (stepsPerEpoch !== undefined && this.count % stepsPerEpoch === 0) {
          await callbacks.onEpoch?.(this.count / stepsPerEpoch);
        }
      }
      return { stepsRun: steps, step: this.count, last };
    } finally {
      await source.close();
      this.busy = false;
    }
  }

  /**
   * A copy of everything but the parameters needed to resume exactly:
   * optimizer moments (`'optimizer/<param>/<slot>'`), EMA weights
   * (`'ema/<param>'`), and in json the step, the Rng state, the next learning
   * rate and the optimizer/EMA counters. Save the parameters beside it.
   *
   * @returns `{ tensors, json }`; the caller owns the tensors.
   */
  getState(): TrainState {
    const opt = this.optimizer.getState();
    const tensors = prefixTensors('optimizer', opt.tensors);
    let ema: JsonValue = null;
    if (this.ema) {
      const e = this.ema.getState();
      Object.assign(tensors, prefixTensors('ema', e.tensors));
      ema = e.json;
    }
    const r = this.rng.getState();
    return {
      tensors,
      json: {
        step: this.count,
        rng: { key: [r.key[0], r.key[1]], counter: r.counter },
        learningRate: this.learningRateAt(this.count),
        clipNorm: this.clipNorm ?? null,
        optimizer: opt.json,
        ema,
      },
    };
  }

  /** Restores a state from {@link Trainer.getState} (copies it; the caller keeps ownership of `state`). */
  setState(state: TrainState): void {
    const where = 'Trainer.setState';
    const json = jsonObject(where, state?.json, 'json');
    const step = jsonCount(where, json, 'step');
    const rng = Rng.fromState(json.rng as never);
    this.optimizer.setState({
      tensors: unprefixTensors('optimizer', state.tensors),
      json: jsonObject(where, json.optimizer, 'optimizer'),
    });
    if (this.ema) {
      if (json.ema === null || json.ema === undefined) {
        throw new SculptError(
          where,
          'expected EMA state for a trainer with ema',
          'got none',
          'restore a state saved by a trainer with the same ema option',
        );
      }
      this.ema.setState({
        tensors: unprefixTensors('ema', state.tensors),
        json: jsonObject(where, json.ema, 'ema'),
      });
    }
    this.rng = rng;
    this.count = step;
  }

  /** Frees the optimizer's and the EMA's state. The parameters stay the caller's. */
  dispose(): void {
    this.optimizer.dispose();
    this.ema?.dispose();
    this.disposed = true;
  }

  private enter(where: string): void {
    if (this.disposed) {
      throw new SculptError(where, 'expected a live trainer', 'got one that was disposed');
    }
    if (this.busy) {
      throw new SculptError(
        where,
        'expected one step at a time',
        'got a call while another step or fit is running',
        'await the previous call',
      );
    }
    this.busy = true;
  }

  private async runStep(batch: B): Promise<StepResult> {
    const index = this.count;
    const lr = this.learningRateAt(index);
    const { values, grads, termNames } = this.forwardBackward(batch, this.rng.split());
    let read: Float32Array;
    try {
      read = (await values.data()) as Float32Array;
    } catch (e) {
      tf.dispose(grads);
      throw e;
    } finally {
      values.dispose();
    }
    const [loss, gradNorm] = [read[0], read[1]];
    const terms: Record<string, number> = Object.fromEntries(
      termNames.map((name, i) => [name, read[2 + i]]),
    );
    const bad = !Number.isFinite(loss)
      ? 'the loss'
      : (termNames.find((n) => !Number.isFinite(terms[n])) ??
        (!Number.isFinite(gradNorm) ? 'the gradient norm' : undefined));
    if (bad !== undefined) {
      tf.dispose(grads);
      const value = bad === 'the loss' ? loss : bad === 'the gradient norm' ? gradNorm : terms[bad];
      const label = bad.startsWith('the ') ? bad : `term '${bad}'`;
      throw new NonFiniteLossError(
        'Trainer.step',
        `expected a finite loss, terms and gradient norm at step ${index + 1}`,
        `got ${value} in ${label} (no update applied)`,
        'lower the learning rate, set clipNorm, or check the batch for NaN/Inf',
      );
    }
    try {
      this.optimizer.applyGradients(grads, this.params, lr);
    } finally {
      tf.dispose(grads);
    }
    this.ema?.update(this.params);
    this.count = index + 1;
    return { step: this.count, loss, terms, gradNorm, lr };
  }

  /** Loss, terms and (clipped) gradients in one tidy; returns [loss, norm, …terms] as one vector. */
  private forwardBackward(
    batch: B,
    rng: Rng,
  ): { values: tf.Tensor1D; grads: Record<string, tf.Tensor>; termNames: string[] } {
    const entries = Object.entries(this.params).filter(([, v]) => v.trainable);
    const keyOf = new Map(entries.map(([k, v]) => [v.name, k]));
    let terms: Record<string, tf.Scalar> = {};
    // A bad return value is reported after the backward pass: throwing inside
    // variableGrads would leak the tensors tfjs saved on its tape.
    let problem: string | undefined;
    try {
      const result = tf.tidy(() => {
        const { value, grads: byVarName } = tf.variableGrads(
          () => {
            const out = this.lossFn(this.params, batch, rng);
            const loss = out instanceof tf.Tensor ? out : out?.loss;
            problem = notScalar('the loss', loss);
            const termEntries =
              out instanceof tf.Tensor || !out?.terms ? [] : Object.entries(out.terms);
            for (const [name, t] of termEntries) problem ??= notScalar(`term '${name}'`, t);
            if (problem !== undefined) {
              return loss instanceof tf.Tensor ? tf.sum(loss) : tf.scalar(0);
            }
            // Terms are made inside variableGrads' own tidy: keep them past it; disposed below.
            terms = Object.fromEntries(termEntries);
            for (const [, t] of termEntries) tf.keep(t);
            return loss as tf.Scalar;
          },
          entries.map(([, v]) => v),
        );
        let grads: Record<string, tf.Tensor> = {};
        for (const [name, g] of Object.entries(byVarName)) grads[keyOf.get(name) as string] = g;
        let norm: tf.Scalar;
        if (this.clipNorm !== undefined) ({ grads, norm } = clipByGlobalNorm(grads, this.clipNorm));
        else norm = globalNorm(Object.values(grads));
        const termNames = Object.keys(terms);
        const values = tf.stack([
          value,
          norm,
          ...termNames.map((n) => tf.cast(terms[n], 'float32')),
        ]) as tf.Tensor1D;
        return { values, grads, termNames };
      });
      if (problem !== undefined) {
        tf.dispose([result.values, ...Object.values(result.grads)]);
        throw lossShapeError(problem);
      }
      return result;
    } catch (e) {
      throw problem !== undefined ? lossShapeError(problem) : explainMissingGradients(e);
    } finally {
      tf.dispose([...new Set(Object.values(terms))]);
    }
  }
}

function lossShapeError(problem: string): SculptError {
  return new SculptError(
    'Trainer.step',
    'expected the loss and its terms to be scalar tensors',
    `got ${problem}`,
    'reduce with tf.mean or tf.sum; return a Scalar or { loss, terms }',
  );
}

/** The Node build of tfjs-core registers no gradients; say how to get them instead of tfjs's bare message. */
function explainMissingGradients(e: unknown): unknown {
  if (!(e instanceof Error) || !e.message.includes('gradient function not found')) return e;
  return new SculptError(
    'Trainer.step',
    "expected tfjs-core's gradients to be registered",
    `got "${e.message}"`,
    "import '@tensorflow/tfjs' or '@tensorflow/tfjs-layers' once in the app (the Node build of tfjs-core registers none)",
  );
}
