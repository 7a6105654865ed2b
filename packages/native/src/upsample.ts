/**
 * `ResizeNearestNeighbor` and `ResizeNearestNeighborGrad` for backend `'wasm'`
 * on the addon's threads (a VAE decoder's nearest 2× upsampling). The same
 * index map as tfjs's forward kernel (floor, or round with alignCorners, of
 * ratio·i, or ratio·(i + ½) with half-pixel centres); the gradient is that
 * map's exact adjoint, half-pixel centres included (tfjs-wasm's own gradient
 * kernel ignores them).
 */
import type * as tf from '@tensorflow/tfjs-core';
import type { NativeAddon } from './addon.js';
import { heapOf, offsetOf, type WasmBackendInternals } from './kernels.js';
import { type ResizeAttrs, resizable } from './resize.js';

/** Runs the addon from `from` into a new output of shape `outShape`; `dims` [b, h, w, c, oh, ow]. */
function run(
  addon: NativeAddon,
  params: Parameters<tf.KernelFunc>[0],
  from: tf.TensorInfo,
  outShape: number[],
  dims: number[],
  grad: boolean,
): tf.TensorInfo {
  const attrs = params.attrs as unknown as ResizeAttrs;
  const backend = params.backend as unknown as WasmBackendInternals;
  const out = backend.makeOutput(outShape, 'float32');
  addon.resizeNearest(
    heapOf(backend),
    offsetOf(backend, from),
    offsetOf(backend, out),
    Int32Array.from(dims),
    attrs.alignCorners,
    attrs.halfPixelCenters ?? false,
    grad,
  );
  return out;
}

/** `ResizeNearestNeighbor` on float32 NHWC images: `[B, h, w, C] → [B, oh, ow, C]`. */
export function makeResizeNearestNeighbor(
  addon: NativeAddon,
  fallback: tf.KernelFunc,
): tf.KernelFunc {
  return (params) => {
    const x = params.inputs.images as tf.TensorInfo;
    const [oh, ow] = (params.attrs as unknown as ResizeAttrs).size ?? [0, 0];
    const outShape = [x.shape[0], oh, ow, x.shape[3]];
    if (!resizable(x.shape, { ...x, shape: outShape })) return fallback(params);
    return run(addon, params, x, outShape, [...x.shape, oh, ow], false);
  };
}

/** `ResizeNearestNeighborGrad`: dy `[B, oh, ow, C]` summed back onto the images' pixels `[B, h, w, C]`. */
export function makeResizeNearestNeighborGrad(
  addon: NativeAddon,
  fallback: tf.KernelFunc,
): tf.KernelFunc {
  return (params) => {
    const { images, dy } = params.inputs as Record<string, tf.TensorInfo>;
    if (!resizable(images.shape, dy)) return fallback(params);
    const dims = [...images.shape, dy.shape[1], dy.shape[2]];
    return run(addon, params, dy, [...images.shape], dims, true);
  };
}
