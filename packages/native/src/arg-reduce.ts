/**
 * `ArgMin` and `ArgMax` for backend `'wasm'` along the last axis of a float32
 * tensor, on the addon's threads (a VQ-VAE's nearest-code search over `[N, K]`
 * distances). Ties give the first index and a NaN never wins, as in tfjs's own
 * kernels; other axes, dtypes and tiny tensors go to the wasm kernel.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { NativeAddon } from './addon.js';
import { ELEMENTWISE_MIN, heapOf, offsetOf, type WasmBackendInternals } from './kernels.js';

/** `ArgMin` (`max` false) or `ArgMax` (`max` true): int32 indices, the last axis dropped. */
export function makeArgReduce(
  addon: NativeAddon,
  fallback: tf.KernelFunc,
  max: boolean,
): tf.KernelFunc {
  return (params) => {
    const x = params.inputs.x as tf.TensorInfo;
    const { axis } = params.attrs as unknown as { axis: number | number[] };
    const rank = x.shape.length;
    const first = Array.isArray(axis) ? axis[0] : axis;
    const along = first < 0 ? first + rank : first;
    const size = tf.util.sizeFromShape(x.shape);
    const lastAxis = rank > 0 && along === rank - 1 && (!Array.isArray(axis) || axis.length === 1);
    if (x.dtype !== 'float32' || !lastAxis || size < ELEMENTWISE_MIN) return fallback(params);
    const inner = x.shape[rank - 1];
    const backend = params.backend as unknown as WasmBackendInternals;
    const out = backend.makeOutput(x.shape.slice(0, -1), 'int32');
    addon.argReduce(
      heapOf(backend),
      offsetOf(backend, x),
      offsetOf(backend, out),
      size / inner,
      inner,
      max,
    );
    return out;
  };
}
