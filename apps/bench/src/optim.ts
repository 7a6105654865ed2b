/**
 * The Adam the workloads train with: in sculpt's modes sculpt's own
 * (`adam()`/`adamW()` of @sculpt/core, what its Trainer runs: one fused kernel
 * per parameter where @sculpt/native registered `SculptAdamUpdate`), in plain
 * tfjs's modes (and with `--tfjs-adam`) tfjs's `tf.train.adam`. Same maths and
 * hyperparameters either way.
 */
import { adam, adamW, type Optimizer } from '@sculpt/core';
import * as tf from '@tensorflow/tfjs-core';

let kind: 'sculpt' | 'tfjs' = 'tfjs';

/** Chooses the Adam that {@link benchAdam} and {@link benchAdamW} build from now on. */
export function useAdam(which: 'sculpt' | 'tfjs'): void {
  kind = which;
}

/** A tfjs `Optimizer` (so `minimize` works) that updates through a sculpt optimizer. */
export class SculptAdam extends tf.Optimizer {
  static readonly className = 'SculptAdam';

  constructor(private readonly inner: Optimizer) {
    super();
  }

  applyGradients(grads: tf.NamedTensorMap | { name: string; tensor: tf.Tensor }[]): void {
    const named: tf.NamedTensorMap = Array.isArray(grads)
      ? Object.fromEntries(grads.map((g) => [g.name, g.tensor]))
      : grads;
    const registered = tf.engine().registeredVariables;
    const params: Record<string, tf.Variable> = {};
    for (const name of Object.keys(named)) params[name] = registered[name];
    this.inner.applyGradients(named, params);
  }

  override dispose(): void {
    this.inner.dispose();
  }

  getConfig(): tf.serialization.ConfigDict {
    return {};
  }
}

/** Adam with tfjs's defaults (ε = the backend's, 1e-7 in float32). */
export function benchAdam(
  learningRate: number,
  beta1 = 0.9,
  beta2 = 0.999,
  epsilon?: number,
): tf.Optimizer {
  const eps = epsilon ?? tf.backend().epsilon();
  if (kind === 'tfjs') return tf.train.adam(learningRate, beta1, beta2, eps);
  return new SculptAdam(adam({ learningRate, beta1, beta2, epsilon: eps }));
}

/**
 * AdamW decaying only `decayed`: sculpt's `adamW()`, or tfjs's Adam that
 * `adamWStep` (nn.ts) pairs with its own decay step.
 */
export function benchAdamW(
  learningRate: number,
  beta1: number,
  beta2: number,
  epsilon: number,
  weightDecay: number,
  decayed: tf.Variable[],
): tf.Optimizer {
  if (kind === 'tfjs') return tf.train.adam(learningRate, beta1, beta2, epsilon);
  const names = new Set(decayed.map((v) => v.name));
  const inner = adamW({
    learningRate,
    beta1,
    beta2,
    epsilon,
    weightDecay,
    weightDecayFilter: (name) => names.has(name),
  });
  return new SculptAdam(inner);
}
