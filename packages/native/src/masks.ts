/**
 * `Greater` and `Select` for backend `'wasm'` on the addon's threads: the
 * gradient of `LeakyRelu` is `where(x > 0, dy, α·dy)`, a `Greater` against a
 * scalar and a `Select` over every activation of a GAN, both of which tfjs's
 * wasm kernels run through their general broadcasting loops. Bool tensors take
 * one byte per element in the wasm memory, so their offsets count bytes.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { NativeAddon } from './addon.js';
import { ELEMENTWISE_MIN, heapOf, offsetOf, type WasmBackendInternals } from './kernels.js';

const { sizeFromShape: size, arraysEqual } = tf.util;

function byteOffsetOf(backend: WasmBackendInternals, t: tf.TensorInfo): number {
  return offsetOf(backend, t) * 4; // exact: offsetOf divides the byte offset by 4
}

/** `Greater` on float32 `a`, `b` of one shape, or one of them a single value. */
export function makeGreater(addon: NativeAddon, fallback: tf.KernelFunc): tf.KernelFunc {
  return (params) => {
    const a = params.inputs.a as tf.TensorInfo;
    const b = params.inputs.b as tf.TensorInfo;
    if (a.dtype !== 'float32' || b.dtype !== 'float32') return fallback(params);
    const [na, nb] = [size(a.shape), size(b.shape)];
    // The operand with more elements gives the shape; the other must match it or be one value.
    const full = na >= nb ? a : b;
    const n = size(full.shape);
    const other = full === a ? b : a;
    const sameShape = arraysEqual(a.shape, b.shape);
    const scalar = size(other.shape) === 1 && other.shape.length <= full.shape.length;
    if (n < ELEMENTWISE_MIN || !(sameShape || scalar)) return fallback(params);
    const backend = params.backend as unknown as WasmBackendInternals;
    const out = backend.makeOutput([...full.shape], 'bool');
    addon.greater(
      heapOf(backend),
      offsetOf(backend, a),
      na === 1 && !sameShape ? 0 : 1,
      offsetOf(backend, b),
      nb === 1 && !sameShape ? 0 : 1,
      byteOffsetOf(backend, out),
      n,
    );
    return out;
  };
}

/** `Select` (`tf.where`) with a bool condition of the float32 values' shape. */
export function makeSelect(addon: NativeAddon, fallback: tf.KernelFunc): tf.KernelFunc {
  return (params) => {
    const { condition, t, e } = params.inputs as Record<string, tf.TensorInfo>;
    const n = size(t.shape);
    const supported =
      condition.dtype === 'bool' &&
      t.dtype === 'float32' &&
      e.dtype === 'float32' &&
      arraysEqual(condition.shape, t.shape) &&
      arraysEqual(t.shape, e.shape) &&
      n >= ELEMENTWISE_MIN;
    if (!supported) return fallback(params);
    const backend = params.backend as unknown as WasmBackendInternals;
    const out = backend.makeOutput([...t.shape], 'float32');
    addon.select(
      heapOf(backend),
      byteOffsetOf(backend, condition),
      offsetOf(backend, t),
      offsetOf(backend, e),
      offsetOf(backend, out),
      n,
    );
    return out;
  };
}
