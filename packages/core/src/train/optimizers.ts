/**
 * Optimizers over `tf.Variable`s whose state (moments, step count) is plain
 * tensors + JSON, so a checkpoint restores them exactly.
 *
 * Notation (Kingma & Ba 2015, Algorithm 1; Loshchilov & Hutter 2019, Algorithm 2):
 *   g_t  gradient, θ parameters, η learning rate, λ weight decay
 *   m_t = β1·m_{t−1} + (1−β1)·g_t          v_t = β2·v_{t−1} + (1−β2)·g_t²
 *   m̂_t = m_t / (1−β1^t)                    v̂_t = v_t / (1−β2^t)
 *   Adam:  θ_t = θ_{t−1} − η·m̂_t / (√v̂_t + ε)            (λ added to g_t: L2)
 *   AdamW: θ_t = θ_{t−1}·(1 − η·λ) − η·m̂_t / (√v̂_t + ε)  (decoupled decay)
 *
 * Where the active backend has the fused kernel `FUSED_KERNELS.adamUpdate`
 * (@sculpt/native on wasm), Adam runs one kernel per parameter in place of
 * ~12 elementwise ones, with the same float32 operations in the same order.
 */
import * as tf from '@tensorflow/tfjs-core';
import { formatShape, SculptError } from '../errors.js';
import { FUSED_KERNELS, hasFusedKernel } from '../fused.js';
import { assignChecked, type JsonValue, jsonCount, jsonObject, type TrainState } from './state.js';

/**
 * What every sculpt optimizer does. The {@link Trainer} calls
 * `applyGradients` once per step with the scheduled learning rate.
 */
export interface Optimizer {
  /** `'adam'`, `'adamw'` or `'sgd'`; checked by `setState`. */
  readonly kind: string;
  /** The learning rate used when `applyGradients` is called without one. */
  readonly learningRate: number;
  /** How many updates have been applied (Adam's `t`). */
  readonly stepCount: number;
  /**
   * Updates `params[name]` in place from `grads[name]`. Parameters without a
   * gradient are left alone; a gradient without a parameter throws. Neither
   * argument is disposed.
   */
  applyGradients(
    grads: Record<string, tf.Tensor>,
    params: Record<string, tf.Variable>,
    learningRate?: number,
  ): void;
  /** A copy of the state (moments keyed `'<param>/<slot>'`, step in json). The caller owns the tensors. */
  getState(): TrainState;
  /** Copies a state from `getState()` in. The caller keeps ownership of `state`. */
  setState(state: TrainState): void;
  /** Frees the moment tensors. */
  dispose(): void;
}

/** Options shared by every optimizer. */
export interface OptimizerOptions {
  /** Step size η. Default `1e-3`. */
  learningRate?: number;
  /** Weight decay λ ≥ 0. Default `0` (`0.01` for {@link adamW}). */
  weightDecay?: number;
  /**
   * Which parameters are decayed. Default: all. nanoGPT decays only matrices:
   * `(name, p) => p.rank >= 2`.
   */
  weightDecayFilter?: (name: string, param: tf.Variable) => boolean;
}

/** Options of {@link adam} and {@link adamW}. */
export interface AdamOptions extends OptimizerOptions {
  /** Decay of the first moment β1 in [0, 1). Default `0.9`. */
  beta1?: number;
  /** Decay of the second moment β2 in [0, 1). Default `0.999`. */
  beta2?: number;
  /** ε > 0 added to √v̂. Default `1e-8`. */
  epsilon?: number;
}

/** Options of {@link sgd}. */
export interface SgdOptions extends OptimizerOptions {
  /** Momentum μ in [0, 1). Default `0` (plain SGD). */
  momentum?: number;
  /** Nesterov momentum (needs μ > 0). Default `false`. */
  nesterov?: boolean;
}

/** Throws unless `lr` is a finite number ≥ 0. */
export function checkLearningRate(where: string, lr: number): void {
  if (!(Number.isFinite(lr) && lr >= 0)) {
    throw new SculptError(
      where,
      'learningRate must be a finite number ≥ 0',
      `got ${lr}`,
      'pass e.g. learningRate: 1e-3',
    );
  }
}

function checkUnit(where: string, name: string, value: number): void {
  if (!(value >= 0 && value < 1)) {
    throw new SculptError(where, `${name} must be in [0, 1)`, `got ${value}`);
  }
}

/** Optimizer state kept as named slot variables per parameter (internal). */
abstract class SlotOptimizer implements Optimizer {
  abstract readonly kind: string;
  readonly learningRate: number;
  protected readonly weightDecay: number;
  private readonly decayFilter: (name: string, param: tf.Variable) => boolean;
  private readonly slots: Record<string, Record<string, tf.Variable>> = {};
  private count = 0;

  protected constructor(
    private readonly where: string,
    private readonly slotNames: readonly string[],
    options: OptimizerOptions,
    defaultDecay: number,
  ) {
    const {
      learningRate = 1e-3,
      weightDecay = defaultDecay,
      weightDecayFilter = () => true,
    } = options;
    checkLearningRate(where, learningRate);
    if (!(Number.isFinite(weightDecay) && weightDecay >= 0)) {
      throw new SculptError(where, 'weightDecay must be a finite number ≥ 0', `got ${weightDecay}`);
    }
    this.learningRate = learningRate;
    this.weightDecay = weightDecay;
    this.decayFilter = weightDecayFilter;
  }

  get stepCount(): number {
    return this.count;
  }

  /** Updates one parameter (inside a tidy). `t` is the 1-based step, `decay` the λ for this parameter. */
  protected abstract update(
    param: tf.Variable,
    grad: tf.Tensor,
    slots: Record<string, tf.Variable>,
    lr: number,
    t: number,
    decay: number,
  ): void;

  /** The config stored in the state's json (checked on restore). */
  protected abstract config(): { [key: string]: JsonValue };

  applyGradients(
    grads: Record<string, tf.Tensor>,
    params: Record<string, tf.Variable>,
    learningRate = this.learningRate,
  ): void {
    checkLearningRate(`${this.where}.applyGradients`, learningRate);
    const names = Object.keys(grads);
    for (const name of names) this.checkPair(name, grads[name], params[name]);
    const t = this.count + 1;
    for (const name of names) {
      const param = params[name];
      const slots = this.slotsFor(name, param);
      const decay = this.weightDecay > 0 && this.decayFilter(name, param) ? this.weightDecay : 0;
      tf.tidy(() => this.update(param, grads[name], slots, learningRate, t, decay));
    }
    this.count = t;
  }

  getState(): TrainState {
    const tensors: Record<string, tf.Tensor> = {};
    for (const [param, slots] of Object.entries(this.slots)) {
      for (const [slot, v] of Object.entries(slots)) tensors[`${param}/${slot}`] = tf.clone(v);
    }
    return { tensors, json: { kind: this.kind, step: this.count, config: this.config() } };
  }

  setState(state: TrainState): void {
    const where = `${this.where}.setState`;
    const json = jsonObject(where, state?.json, 'json');
    if (json.kind !== this.kind) {
      throw new SculptError(
        where,
        `expected the state of a '${this.kind}' optimizer`,
        `got kind ${JSON.stringify(json.kind)}`,
        `restore into the optimizer type that saved it`,
      );
    }
    const step = jsonCount(where, json, 'step');
    // Group '<param>/<slot>' keys by parameter; parameter names may contain '/'.
    const byParam: Record<string, Record<string, tf.Tensor>> = {};
    for (const [key, value] of Object.entries(state.tensors)) {
      const cut = key.lastIndexOf('/');
      const slot = key.slice(cut + 1);
      if (cut < 0 || !this.slotNames.includes(slot)) {
        throw new SculptError(
          where,
          `expected tensor keys '<param>/<slot>' with slot in [${this.slotNames.join(', ')}]`,
          `got '${key}'`,
        );
      }
      const name = key.slice(0, cut);
      byParam[name] ??= {};
      byParam[name][slot] = value;
    }
    this.disposeSlots();
    for (const [param, slots] of Object.entries(byParam)) {
      this.slots[param] = {};
      for (const slot of this.slotNames) {
        const value = slots[slot];
        if (!value) {
          throw new SculptError(
            where,
            `expected slot '${slot}' for parameter '${param}'`,
            'got none',
          );
        }
        const v = tf.tidy(() => tf.variable(tf.zerosLike(value), false));
        assignChecked(where, `${param}/${slot}`, v, value);
        this.slots[param][slot] = v;
      }
    }
    this.count = step;
  }

  dispose(): void {
    this.disposeSlots();
  }

  private disposeSlots(): void {
    for (const slots of Object.values(this.slots))
      for (const v of Object.values(slots)) v.dispose();
    for (const k of Object.keys(this.slots)) delete this.slots[k];
  }

  private slotsFor(name: string, param: tf.Variable): Record<string, tf.Variable> {
    let slots = this.slots[name];
    if (!slots) {
      slots = {};
      for (const slot of this.slotNames)
        slots[slot] = tf.tidy(() => tf.variable(tf.zerosLike(param), false));
      this.slots[name] = slots;
    } else {
      const first = slots[this.slotNames[0]];
      if (first && !sameShape(first.shape, param.shape)) {
        throw new SculptError(
          `${this.where}.applyGradients`,
          `expected parameter '${name}' to keep shape ${formatShape(first.shape)}`,
          `got ${formatShape(param.shape)}`,
          'create a new optimizer for a new model',
        );
      }
    }
    return slots;
  }

  private checkPair(name: string, grad: tf.Tensor, param: tf.Variable | undefined): void {
    const where = `${this.where}.applyGradients`;
    if (!param) {
      throw new SculptError(
        where,
        `expected a parameter for every gradient`,
        `got gradient '${name}' with no parameter of that name`,
        'key grads and params by the same names',
      );
    }
    if (!sameShape(grad.shape, param.shape)) {
      throw new SculptError(
        where,
        `expected gradient '${name}' of shape ${formatShape(param.shape)}`,
        `got ${formatShape(grad.shape)}`,
      );
    }
    if (param.dtype !== 'float32') {
      throw new SculptError(
        where,
        `expected float32 parameters`,
        `got '${name}' of dtype ${param.dtype}`,
      );
    }
  }
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

class AdamOptimizer extends SlotOptimizer {
  readonly kind: string;
  private readonly beta1: number;
  private readonly beta2: number;
  private readonly epsilon: number;

  constructor(
    where: string,
    kind: 'adam' | 'adamw',
    private readonly decoupled: boolean,
    options: AdamOptions,
    defaultDecay: number,
  ) {
    super(where, ['m', 'v'], options, defaultDecay);
    const { beta1 = 0.9, beta2 = 0.999, epsilon = 1e-8 } = options;
    checkUnit(where, 'beta1', beta1);
    checkUnit(where, 'beta2', beta2);
    if (!(Number.isFinite(epsilon) && epsilon > 0)) {
      throw new SculptError(where, 'epsilon must be a finite number > 0', `got ${epsilon}`);
    }
    this.kind = kind;
    this.beta1 = beta1;
    this.beta2 = beta2;
    this.epsilon = epsilon;
  }

  protected config(): { [key: string]: JsonValue } {
    return {
      learningRate: this.learningRate,
      beta1: this.beta1,
      beta2: this.beta2,
      epsilon: this.epsilon,
      weightDecay: this.weightDecay,
    };
  }

  protected update(
    param: tf.Variable,
    grad: tf.Tensor,
    { m, v }: Record<string, tf.Variable>,
    lr: number,
    t: number,
    decay: number,
  ): void {
    const { beta1: b1, beta2: b2, epsilon } = this;
    // Bias corrections in float64 on the CPU, then one float32 scalar each.
    const bc1 = 1 - b1 ** t;
    const bc2 = 1 - b2 ** t;
    if (useFusedAdam(grad, m, v)) {
      const [param1, m1, v1] = tf.engine().runKernel(
        FUSED_KERNELS.adamUpdate,
        { param, grad, m, v },
        {
          beta1: b1,
          beta2: b2,
          epsilon,
          learningRate: lr,
          biasCorrection1: bc1,
          biasCorrection2: bc2,
          weightDecay: decay,
          decoupled: this.decoupled,
        },
      ) as tf.Tensor[];
      // assign shares each output's data; the surrounding tidy disposes the outputs themselves.
      m.assign(m1);
      v.assign(v1);
      param.assign(param1);
      return;
    }
    const g = !this.decoupled && decay > 0 ? tf.add(grad, tf.mul(param, decay)) : grad;
    const m1 = tf.add(tf.mul(m, b1), tf.mul(g, 1 - b1));
    const v1 = tf.add(tf.mul(v, b2), tf.mul(tf.square(g), 1 - b2));
    const step = tf.mul(tf.div(tf.div(m1, bc1), tf.add(tf.sqrt(tf.div(v1, bc2)), epsilon)), lr);
    const base = this.decoupled && decay > 0 ? tf.mul(param, 1 - lr * decay) : param;
    m.assign(m1);
    v.assign(v1);
    param.assign(tf.sub(base, step));
  }
}

/** Whether one fused kernel call can do this update (the parameter is float32, checked before). */
function useFusedAdam(grad: tf.Tensor, m: tf.Variable, v: tf.Variable): boolean {
  return (
    grad.dtype === 'float32' &&
    m.dtype === 'float32' &&
    v.dtype === 'float32' &&
    hasFusedKernel(FUSED_KERNELS.adamUpdate)
  );
}

class SgdOptimizer extends SlotOptimizer {
  readonly kind = 'sgd';
  private readonly momentum: number;
  private readonly nesterov: boolean;

  constructor(options: SgdOptions) {
    const { momentum = 0, nesterov = false } = options;
    super('sgd', momentum > 0 ? ['momentum'] : [], options, 0);
    checkUnit('sgd', 'momentum', momentum);
    if (nesterov && momentum === 0) {
      throw new SculptError('sgd', 'nesterov needs momentum > 0', 'got momentum 0');
    }
    this.momentum = momentum;
    this.nesterov = nesterov;
  }

  protected config(): { [key: string]: JsonValue } {
    return {
      learningRate: this.learningRate,
      momentum: this.momentum,
      nesterov: this.nesterov,
      weightDecay: this.weightDecay,
    };
  }

  protected update(
    param: tf.Variable,
    grad: tf.Tensor,
    slots: Record<string, tf.Variable>,
    lr: number,
    _t: number,
    decay: number,
  ): void {
    // PyTorch's SGD (dampening 0): b_t = μ·b_{t−1} + g_t; θ −= η·(g_t + μ·b_t) if Nesterov else η·b_t.
    const g = decay > 0 ? tf.add(grad, tf.mul(param, decay)) : grad;
    let direction = g;
    if (this.momentum > 0) {
      const buf = tf.add(tf.mul(slots.momentum, this.momentum), g);
      slots.momentum.assign(buf);
      direction = this.nesterov ? tf.add(g, tf.mul(buf, this.momentum)) : buf;
    }
    param.assign(tf.sub(param, tf.mul(direction, lr)));
  }
}

/**
 * Adam (Kingma & Ba 2015) with optional L2 weight decay added to the gradient
 * (PyTorch's `torch.optim.Adam` semantics). For decoupled decay use {@link adamW}.
 * Where the active backend has `FUSED_KERNELS.adamUpdate` (wasm after
 * @sculpt/native's `registerNativeKernels()`), each parameter's update is one
 * kernel call; elsewhere ~12 tfjs ops. Both round the same float32 operations
 * in the same order: the update is bit-equal either way (tested on wasm and cpu).
 *
 * @param options - `learningRate = 1e-3`, `beta1 = 0.9`, `beta2 = 0.999`,
 *   `epsilon = 1e-8`, `weightDecay = 0`, `weightDecayFilter = all`.
 * @returns a new {@link Optimizer}; the caller (or the Trainer it is handed to) owns its state.
 * @example
 * ```ts
 * const opt = adam({ learningRate: 1e-3 });
 * opt.applyGradients({ w: gradW }, { w }, 5e-4);
 * ```
 */
export function adam(options: AdamOptions = {}): Optimizer {
  return new AdamOptimizer('adam', 'adam', false, options, 0);
}

/**
 * AdamW (Loshchilov & Hutter 2019): Adam with weight decay decoupled from the
 * gradient, `θ ← θ·(1 − η·λ) − η·m̂/(√v̂ + ε)`, as in `torch.optim.AdamW`.
 *
 * @param options - as {@link adam}, but `weightDecay = 0.01`.
 * @returns a new {@link Optimizer}; the caller (or the Trainer it is handed to) owns its state.
 * @example
 * ```ts
 * const opt = adamW({ learningRate: 3e-4, weightDecay: 0.1, weightDecayFilter: (_, p) => p.rank >= 2 });
 * ```
 */
export function adamW(options: AdamOptions = {}): Optimizer {
  return new AdamOptimizer('adamW', 'adamw', true, options, 0.01);
}

/**
 * Stochastic gradient descent with optional (Nesterov) momentum and L2
 * weight decay, as `torch.optim.SGD` with dampening 0.
 *
 * @param options - `learningRate = 1e-3`, `momentum = 0`, `nesterov = false`, `weightDecay = 0`.
 * @returns a new {@link Optimizer}; the caller (or the Trainer it is handed to) owns its state.
 * @example
 * ```ts
 * const opt = sgd({ learningRate: 0.1, momentum: 0.9 });
 * ```
 */
export function sgd(options: SgdOptions = {}): Optimizer {
  return new SgdOptimizer(options);
}
