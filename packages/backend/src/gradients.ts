/**
 * Gradients of `Sum` and `Mean` that multiply `dy` by `tf.onesLike(x)` (a
 * backend kernel) instead of `tf.ones(x.shape)` (built in JavaScript).
 *
 * tfjs 4.22's registered gradients build that all-ones tensor in JavaScript
 * (a typed array filled element by element, then uploaded to the backend),
 * one per reduction per step: a GroupNorm U-Net step spent ~24% of its time
 * there (Node CPU profile, `makeOnesTypedArray`). `tf.onesLike(x)` makes the
 * same tensor with a backend kernel (a fill), and the scaling by `1/n` for
 * `Mean` happens on the small `dy`.
 */
import * as tf from '@tensorflow/tfjs-core';

const SCULPT_GRADIENT = Symbol.for('sculpt.gradient');

/** `dy` scaled, reshaped to `x`'s rank (1 on the reduced `axes`) and broadcast to `x`'s shape. */
function broadcastBack(dy: tf.Tensor, x: tf.Tensor, axes: number[], scale: number) {
  const expanded = x.shape.map((n, d) => (axes.includes(d) ? 1 : n));
  const small = scale === 1 ? dy : tf.div(dy, scale);
  // onesLike is a backend kernel (a fill); tf.broadcastTo would be Tile, which tfjs's wasm
  // backend runs element by element (a U-Net step took 4× longer with it).
  return tf.mul(tf.reshape(small, expanded), tf.onesLike(x));
}

function register(kernelName: 'Sum' | 'Mean'): void {
  const current = tf.getGradient(kernelName) as
    | (tf.GradConfig & { [SCULPT_GRADIENT]?: true })
    | undefined;
  if (current?.[SCULPT_GRADIENT]) return;
  tf.registerGradient({
    kernelName,
    inputsToSave: ['x'],
    gradFunc: (dy, saved, attrs) => {
      const [x] = saved;
      const { axis } = attrs as unknown as tf.SumAttrs;
      const axes = tf.util.parseAxisParam(axis, x.shape);
      const scale = kernelName === 'Mean' ? axes.reduce((n, a) => n * x.shape[a], 1) : 1;
      return { x: () => broadcastBack(dy as tf.Tensor, x, axes, scale) };
    },
    [SCULPT_GRADIENT]: true,
  } as tf.GradConfig);
}

/**
 * Registers sculpt's `Sum` and `Mean` gradients (see the top of this file):
 * same values as tfjs's, without the JavaScript all-ones tensor. Idempotent;
 * `initBackend` calls it for every backend.
 *
 * @example
 * ```ts
 * registerFastGradients(); // initBackend does this
 * ```
 */
export function registerFastGradients(): void {
  register('Sum');
  register('Mean');
}
