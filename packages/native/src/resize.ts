/**
 * `ResizeBilinear` and `ResizeBilinearGrad` for backend `'wasm'` on the
 * addon's threads (a StyleGAN generator upsamples every level and its skip
 * images bilinearly). The same sampling positions and weights as tfjs's
 * kernels, including its gradient, which samples without half-pixel centres.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { NativeAddon } from './addon.js';
import { ELEMENTWISE_MIN, heapOf, offsetOf, type WasmBackendInternals } from './kernels.js';

const size = tf.util.sizeFromShape;

/** The attrs of tfjs's resize kernels and their gradients. */
export interface ResizeAttrs {
  alignCorners: boolean;
  halfPixelCenters?: boolean;
  size?: [number, number];
}

/**
 * Whether a resize between images of shape `small` and float32 `large` (one side the input,
 * the other the output) is the addon's: NHWC, same batch and channels, not empty, not tiny.
 */
export function resizable(small: number[], large: tf.TensorInfo): boolean {
  return (
    large.dtype === 'float32' &&
    small.length === 4 &&
    large.shape.length === 4 &&
    large.shape[0] === small[0] &&
    large.shape[3] === small[3] &&
    size(small) > 0 &&
    size(large.shape) >= ELEMENTWISE_MIN
  );
}

/** `ResizeBilinear` on float32 NHWC images. */
export function makeResizeBilinear(addon: NativeAddon, fallback: tf.KernelFunc): tf.KernelFunc {
  return (params) => {
    const x = params.inputs.images as tf.TensorInfo;
    const attrs = params.attrs as unknown as ResizeAttrs;
    const [oh, ow] = attrs.size ?? [0, 0];
    const outShape = [x.shape[0], oh, ow, x.shape[3]];
    if (!resizable(x.shape, { ...x, shape: outShape })) return fallback(params);
    const backend = params.backend as unknown as WasmBackendInternals;
    const out = backend.makeOutput(outShape, 'float32');
    addon.resizeBilinear(
      heapOf(backend),
      offsetOf(backend, x),
      offsetOf(backend, out),
      Int32Array.from([...x.shape, oh, ow]),
      attrs.alignCorners,
      attrs.halfPixelCenters ?? false,
      false,
    );
    return out;
  };
}

/** `ResizeBilinearGrad`: dy `[B, oh, ow, C]` scattered back onto the images' shape. */
export function makeResizeBilinearGrad(addon: NativeAddon, fallback: tf.KernelFunc): tf.KernelFunc {
  return (params) => {
    const { images, dy } = params.inputs as Record<string, tf.TensorInfo>;
    const { alignCorners } = params.attrs as unknown as ResizeAttrs;
    if (!resizable(images.shape, dy)) return fallback(params);
    const backend = params.backend as unknown as WasmBackendInternals;
    const out = backend.makeOutput([...images.shape], 'float32');
    addon.resizeBilinear(
      heapOf(backend),
      offsetOf(backend, dy),
      offsetOf(backend, out),
      Int32Array.from([...images.shape, dy.shape[1], dy.shape[2]]),
      alignCorners,
      false,
      true,
    );
    return out;
  };
}
