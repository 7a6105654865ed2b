/**
 * A conv with its bias and activation, and the fused gradient of the bias and
 * activation, for backend `'wasm'` (both used by `conv2dBiasActivation` of
 * @sculpt/core).
 *
 * `FusedConv2D` (tfjs's kernel) with a bias [C] (or none) and linear, relu or
 * leakyrelu: the conv runs over blocks of images of ~1 MB of output, each
 * biased and activated while it is in cache, instead of a pass over the whole
 * output after the conv. Other cases go to the kernel registered before.
 *
 * `SculptBiasActivationGrad`: from the upstream gradient dy and the
 * activation's output y (float32 [B, H, W, C]), dz = dy·(y > 0 ? 1 : α) and
 * db = Σ_{B,H,W} dz [C] in one pass over memory, in place of Step, Multiply
 * and Sum (three kernels, four passes over the conv's output).
 */
import { FUSED_KERNELS, SculptError } from '@sculpt/core';
import * as tf from '@tensorflow/tfjs-core';
import type { NativeAddon } from './addon.js';
import {
  type ConvAttrs,
  convDims,
  convInfoOf,
  heapOf,
  offsetOf,
  type WasmBackendInternals,
} from './kernels.js';

/** The activations the block-wise kernel applies, by the addon's code. */
const ACTIVATIONS: Record<string, number> = { linear: 0, relu: 1, leakyrelu: 4 };

type FusedConvAttrs = ConvAttrs & { activation?: string; leakyreluAlpha?: number };

/** `FusedConv2D` with bias and linear/relu/leakyrelu applied block by block; `fallback` for the rest. */
export function makeFusedConv2D(addon: NativeAddon, fallback: tf.KernelFunc): tf.KernelFunc {
  return (params) => {
    const { x, filter, bias, preluActivationWeights } = params.inputs as Record<
      string,
      tf.TensorInfo | undefined
    >;
    const attrs = params.attrs as unknown as FusedConvAttrs;
    const act = ACTIVATIONS[attrs.activation ?? 'linear'];
    const co = filter?.shape[3] ?? 0;
    const ok =
      x !== undefined &&
      filter !== undefined &&
      act !== undefined &&
      preluActivationWeights === undefined &&
      [x, filter, bias].every((t) => t === undefined || t.dtype === 'float32') &&
      (bias === undefined || (bias.shape.length === 1 && bias.shape[0] === co)) &&
      (attrs.dataFormat ?? 'NHWC') === 'NHWC' &&
      tf.util.sizeFromShape(x.shape) > 0;
    if (!ok) return fallback(params);
    const info = convInfoOf(x.shape, filter.shape, attrs, attrs.dilations ?? 1);
    if (tf.util.sizeFromShape(info.outShape) === 0) return fallback(params);
    const backend = params.backend as unknown as WasmBackendInternals;
    const y = backend.makeOutput(info.outShape, 'float32');
    const at = (t: tf.TensorInfo) => offsetOf(backend, t);
    const biasOff = bias ? at(bias) : -1;
    const alpha = attrs.leakyreluAlpha ?? 0.2;
    // heap after the output: allocating it may grow the memory
    addon.fusedConv2d(
      heapOf(backend),
      at(x),
      at(filter),
      at(y),
      convDims(info),
      biasOff,
      act,
      alpha,
    );
    return y;
  };
}

/**
 * The bias/activation gradient kernel; throws a SculptError for inputs it does not take (the caller checks first).
 * @example
 * ```ts
 * const [dz, db] = tf.engine().runKernel('SculptBiasActivationGrad', { dy, y }, { alpha: 0.2 }) as tf.Tensor[];
 * ```
 */
export function makeBiasActivationGrad(addon: NativeAddon): tf.KernelFunc {
  return (params) => {
    const { dy, y } = params.inputs as Record<string, tf.TensorInfo | undefined>;
    const { alpha } = params.attrs as unknown as { alpha: number };
    const ok =
      dy !== undefined &&
      y !== undefined &&
      dy.dtype === 'float32' &&
      y.dtype === 'float32' &&
      dy.shape.length >= 2 &&
      tf.util.arraysEqual(dy.shape, y.shape) &&
      typeof alpha === 'number';
    if (!ok) {
      const got = [dy, y].map((t) => (t ? `${t.dtype} [${t.shape}]` : 'none'));
      throw new SculptError(
        FUSED_KERNELS.biasActivationGrad,
        'expected float32 dy and y of one shape [B, H, W, C] and a number alpha',
        `got dy ${got[0]}, y ${got[1]}, alpha ${String(alpha)}`,
        'use the tfjs ops for this case (conv2dBiasActivation of @sculpt/core picks them itself)',
      );
    }
    const backend = params.backend as unknown as WasmBackendInternals;
    const c = dy.shape[dy.shape.length - 1];
    const rows = tf.util.sizeFromShape(dy.shape) / Math.max(c, 1);
    const dz = backend.makeOutput([...dy.shape], 'float32');
    const db = backend.makeOutput([c], 'float32');
    if (rows * c > 0) {
      const at = (t: tf.TensorInfo) => offsetOf(backend, t);
      // heap after the outputs: allocating them may grow the memory
      addon.biasActivationGrad(heapOf(backend), at(dy), at(y), at(dz), at(db), rows, c, alpha);
    }
    return [dz, db];
  };
}
