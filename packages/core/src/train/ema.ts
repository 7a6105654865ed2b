/**
 * Exponential moving average of weights (Polyak averaging), as diffusers'
 * `EMAModel`. Notation: θ the live parameters, θ̄ the average, k the number
 * of updates so far (after this one), d_k the decay used at update k:
 *
 *   θ̄ ← θ̄ − (1 − d_k)·(θ̄ − θ)
 *   n = max(0, k − updateAfterStep − 1)        (n = 0 → d = 0: θ̄ copies θ)
 *   warmup 'none':  d = decay
 *   warmup 'count': d = min(decay, (1 + n)/(10 + n))             (TF's num_updates)
 *   warmup 'power': d = min(decay, 1 − (1 + n/invGamma)^(−power)) (diffusers' use_ema_warmup)
 *   d = max(d, minDecay)
 */
import * as tf from '@tensorflow/tfjs-core';
import { SculptError } from '../errors.js';
import { assignChecked, jsonCount, jsonObject, type TrainState } from './state.js';

/** Options of {@link ExponentialMovingAverage}. */
export interface EmaOptions {
  /** The largest decay, in [0, 1). Default `0.9999`. */
  decay?: number;
  /** The smallest decay once averaging started, in [0, decay]. Default `0`. */
  minDecay?: number;
  /** How the decay ramps up: `'none'` (constant), `'count'` or `'power'` (see the module header). Default `'count'` (diffusers' default path). */
  warmup?: 'none' | 'count' | 'power';
  /** `'power'` warm-up: γ⁻¹. Default `1`. */
  invGamma?: number;
  /** `'power'` warm-up exponent: `2/3` suits ~1M steps, `3/4` ~100k. Default `2/3`. */
  power?: number;
  /** Updates before this count copy the weights (d = 0). Default `0`. */
  updateAfterStep?: number;
}

/**
 * Keeps a shadow copy θ̄ of some parameters and moves it toward them after
 * each optimizer step; sample or evaluate with the average via
 * {@link ExponentialMovingAverage.withAveraged}.
 *
 * The average starts as a copy of `params` and is owned by this object
 * (`dispose()` frees it); `params` are never disposed.
 *
 * @example
 * ```ts
 * const ema = new ExponentialMovingAverage(params, { decay: 0.999 });
 * // after each optimizer step:
 * ema.update(params);
 * const preview = await ema.withAveraged(params, () => sample(model)); // params restored after
 * ```
 */
export class ExponentialMovingAverage {
  /** The options in force, defaults filled in. */
  readonly options: Readonly<Required<EmaOptions>>;
  private readonly shadow: Record<string, tf.Variable> = {};
  private count = 0;

  /**
   * @param params - the parameters to average (copied; not disposed).
   * @param options - see {@link EmaOptions}.
   */
  constructor(params: Record<string, tf.Tensor>, options: EmaOptions = {}) {
    const {
      decay = 0.9999,
      minDecay = 0,
      warmup = 'count',
      invGamma = 1,
      power = 2 / 3,
      updateAfterStep = 0,
    } = options;
    const where = 'ExponentialMovingAverage';
    if (!(decay >= 0 && decay < 1)) {
      throw new SculptError(
        where,
        'decay must be in [0, 1)',
        `got ${decay}`,
        'use e.g. decay: 0.999',
      );
    }
    if (!(minDecay >= 0 && minDecay <= decay)) {
      throw new SculptError(
        where,
        'minDecay must be in [0, decay]',
        `got minDecay=${minDecay}, decay=${decay}`,
      );
    }
    if (!['none', 'count', 'power'].includes(warmup)) {
      throw new SculptError(
        where,
        "warmup must be 'none', 'count' or 'power'",
        `got ${JSON.stringify(warmup)}`,
      );
    }
    if (!(invGamma > 0 && power > 0)) {
      throw new SculptError(
        where,
        'invGamma and power must be > 0',
        `got invGamma=${invGamma}, power=${power}`,
      );
    }
    if (!(Number.isInteger(updateAfterStep) && updateAfterStep >= 0)) {
      throw new SculptError(
        where,
        'updateAfterStep must be an integer ≥ 0',
        `got ${updateAfterStep}`,
      );
    }
    this.options = Object.freeze({ decay, minDecay, warmup, invGamma, power, updateAfterStep });
    // tf.variable shares p's (immutable) data; later assigns replace it, never write into it.
    for (const [name, p] of Object.entries(params)) this.shadow[name] = tf.variable(p, false);
  }

  /** How many times {@link ExponentialMovingAverage.update} ran. */
  get updateCount(): number {
    return this.count;
  }

  /** The decay d_k that update number `k` (1-based) uses. */
  decayAt(k: number): number {
    const { decay, minDecay, warmup, invGamma, power, updateAfterStep } = this.options;
    const n = Math.max(0, k - updateAfterStep - 1);
    if (n <= 0) return 0;
    let d = decay;
    if (warmup === 'count') d = Math.min(decay, (1 + n) / (10 + n));
    else if (warmup === 'power') d = Math.min(decay, 1 - (1 + n / invGamma) ** -power);
    return Math.max(d, minDecay);
  }

  /**
   * Moves the average toward `params`: θ̄ ← θ̄ − (1 − d)·(θ̄ − θ). Every averaged
   * name must be present. Returns the decay used.
   */
  update(params: Record<string, tf.Tensor>): number {
    this.checkNames('ExponentialMovingAverage.update', params);
    const d = this.decayAt(this.count + 1);
    tf.tidy(() => {
      for (const [name, avg] of Object.entries(this.shadow)) {
        avg.assign(tf.sub(avg, tf.mul(tf.sub(avg, params[name]), 1 - d)));
      }
    });
    this.count++;
    return d;
  }

  /** The average of parameter `name` (owned by this object: do not dispose). */
  get(name: string): tf.Tensor {
    const v = this.shadow[name];
    if (!v) {
      throw new SculptError(
        'ExponentialMovingAverage.get',
        `expected one of [${Object.keys(this.shadow).join(', ')}]`,
        `got '${name}'`,
      );
    }
    return v;
  }

  /** Writes the averages into `params` (in place), e.g. before exporting the final weights. */
  copyTo(params: Record<string, tf.Variable>): void {
    this.checkNames('ExponentialMovingAverage.copyTo', params);
    for (const [name, avg] of Object.entries(this.shadow))
      assignChecked('ExponentialMovingAverage.copyTo', name, params[name], avg);
  }

  /**
   * Runs `fn` with the averages swapped into `params`, then puts the live
   * values back (also when `fn` throws). Do not train inside `fn`.
   *
   * @returns what `fn` returns (awaited).
   */
  async withAveraged<T>(params: Record<string, tf.Variable>, fn: () => T | Promise<T>): Promise<T> {
    this.checkNames('ExponentialMovingAverage.withAveraged', params);
    const backup: Record<string, tf.Tensor> = {};
    for (const name of Object.keys(this.shadow)) backup[name] = tf.clone(params[name]);
    try {
      this.copyTo(params);
      return await fn();
    } finally {
      for (const [name, saved] of Object.entries(backup)) {
        params[name].assign(saved);
        saved.dispose();
      }
    }
  }

  /** A copy of the averages and the update count. The caller owns the tensors. */
  getState(): TrainState {
    const tensors: Record<string, tf.Tensor> = {};
    for (const [name, v] of Object.entries(this.shadow)) tensors[name] = tf.clone(v);
    return { tensors, json: { updateCount: this.count } };
  }

  /** Copies a state from {@link ExponentialMovingAverage.getState} in (names and shapes must match). */
  setState(state: TrainState): void {
    const where = 'ExponentialMovingAverage.setState';
    const count = jsonCount(where, jsonObject(where, state?.json, 'json'), 'updateCount');
    this.checkNames(where, state.tensors);
    for (const [name, v] of Object.entries(this.shadow))
      assignChecked(where, name, v, state.tensors[name]);
    this.count = count;
  }

  /** Frees the averages. */
  dispose(): void {
    for (const v of Object.values(this.shadow)) v.dispose();
  }

  private checkNames(where: string, params: Record<string, tf.Tensor>): void {
    const missing = Object.keys(this.shadow).filter((n) => !(params[n] instanceof tf.Tensor));
    if (missing.length > 0) {
      throw new SculptError(
        where,
        `expected a tensor for every averaged name`,
        `got none for [${missing.join(', ')}]`,
        'pass the same params the average was created from',
      );
    }
  }
}
