/**
 * Fused kernels for backend `'wasm'` that @sculpt/core names in
 * `FUSED_KERNELS`: model code that finds them registered runs one kernel where
 * it would run a chain of tfjs ops.
 *
 * `SculptLayerNorm`: LayerNorm over the last axis of float32 `x` [R, C] in one
 * pass per row, outputs `[y, xhat, inv]` (see `FUSED_KERNELS.layerNorm`). It
 * replaces ~10 kernel calls (moments, rsqrt, centre, scale, shift); a GPT
 * runs one per block and sub-layer, at every generated token.
 *
 * `SculptGelu`: GELU (tanh approximation) of float32 `x`, outputs `[y, t]`
 * (see `FUSED_KERNELS.gelu`), in place of ~10 kernel calls.
 *
 * `SculptAdamUpdate`: one Adam/AdamW step of a float32 parameter, outputs
 * `[param', m', v']` (see `FUSED_KERNELS.adamUpdate`), in place of ~12 kernel
 * calls and their scalar operands per parameter and step.
 */
import { FUSED_KERNELS, SculptError } from '@sculpt/core';
import * as tf from '@tensorflow/tfjs-core';
import type { NativeAddon } from './addon.js';
import { heapOf, offsetOf, type WasmBackendInternals } from './kernels.js';

/** The GELU kernel; throws a SculptError for a dtype it does not take (the caller checks first). */
export function makeGelu(addon: NativeAddon): tf.KernelFunc {
  return (params) => {
    const x = params.inputs.x as tf.TensorInfo | undefined;
    if (!x || x.dtype !== 'float32') {
      throw new SculptError(
        FUSED_KERNELS.gelu,
        'expected a float32 input x',
        `got ${x ? x.dtype : 'no x'}`,
        'cast x to float32, or use the tfjs ops for this case',
      );
    }
    const backend = params.backend as unknown as WasmBackendInternals;
    const y = backend.makeOutput([...x.shape], 'float32');
    const t = backend.makeOutput([...x.shape], 'float32');
    const n = x.shape.reduce((a, b) => a * b, 1);
    if (n > 0) {
      const heap = heapOf(backend); // after the outputs: allocating them may grow the memory
      addon.gelu(heap, offsetOf(backend, x), offsetOf(backend, y), offsetOf(backend, t), n);
    }
    return [y, t];
  };
}

/** The LayerNorm kernel; throws a SculptError for inputs it does not take (the caller checks first). */
export function makeLayerNorm(addon: NativeAddon): tf.KernelFunc {
  return (params) => {
    const { x, gamma, beta } = params.inputs as Record<string, tf.TensorInfo | undefined>;
    const { epsilon = 1e-5 } = (params.attrs ?? {}) as { epsilon?: number };
    if (!x || !gamma) {
      throw new SculptError(FUSED_KERNELS.layerNorm, 'expected inputs x and gamma', 'got neither');
    }
    const cols = x.shape.at(-1) ?? 0;
    const rows = x.shape.length === 2 ? x.shape[0] : -1;
    const floats = [x, gamma, beta].every((t) => t === undefined || t.dtype === 'float32');
    const widths = [gamma, beta].every(
      (t) => t === undefined || (t.shape.length === 1 && t.shape[0] === cols),
    );
    if (rows < 0 || !floats || !widths) {
      throw new SculptError(
        FUSED_KERNELS.layerNorm,
        'expected float32 x [R, C] with gamma (and beta) [C]',
        `got x ${x.dtype} [${x.shape}], gamma [${gamma.shape}]${beta ? `, beta [${beta.shape}]` : ''}`,
        'reshape x to 2D, or use the tfjs ops for this case',
      );
    }
    const backend = params.backend as unknown as WasmBackendInternals;
    const y = backend.makeOutput([rows, cols], 'float32');
    const xhat = backend.makeOutput([rows, cols], 'float32');
    const inv = backend.makeOutput([rows, 1], 'float32');
    if (rows * cols > 0) {
      addon.layerNorm(
        heapOf(backend), // after the outputs: allocating them may grow the memory
        offsetOf(backend, x),
        offsetOf(backend, gamma),
        beta ? offsetOf(backend, beta) : -1,
        offsetOf(backend, y),
        offsetOf(backend, xhat),
        offsetOf(backend, inv),
        rows,
        cols,
        epsilon,
      );
    }
    return [y, xhat, inv];
  };
}

/** The attrs of `SculptAdamUpdate` (see `FUSED_KERNELS.adamUpdate` of @sculpt/core). */
interface AdamAttrs {
  beta1: number;
  beta2: number;
  epsilon: number;
  learningRate: number;
  biasCorrection1: number;
  biasCorrection2: number;
  weightDecay: number;
  decoupled: boolean;
}

/** The fused Adam/AdamW kernel; throws a SculptError for inputs it does not take (the caller checks first). */
export function makeAdamUpdate(addon: NativeAddon): tf.KernelFunc {
  const offsets = new Int32Array(7); // reused: one call at a time on the JS thread
  const scalars = new Float64Array(10);
  return (params) => {
    const { param, grad, m, v } = params.inputs as Record<string, tf.TensorInfo | undefined>;
    const a = params.attrs as unknown as AdamAttrs;
    const inputs = [param, grad, m, v];
    const size = param ? tf.util.sizeFromShape(param.shape) : -1;
    const ok = inputs.every(
      (t) => t?.dtype === 'float32' && tf.util.sizeFromShape(t.shape) === size,
    );
    if (!ok || !param) {
      throw new SculptError(
        FUSED_KERNELS.adamUpdate,
        'expected float32 param, grad, m and v of one size',
        `got ${inputs.map((t) => (t ? `${t.dtype} [${t.shape}]` : 'none')).join(', ')}`,
        'use the tfjs ops for this case',
      );
    }
    const backend = params.backend as unknown as WasmBackendInternals;
    const outputs = [0, 1, 2].map(() => backend.makeOutput([...param.shape], 'float32'));
    if (size > 0) {
      [...inputs, ...outputs].forEach((t, i) => {
        offsets[i] = offsetOf(backend, t as tf.TensorInfo);
      });
      const { beta1, beta2, learningRate: lr, weightDecay: decay } = a;
      scalars.set([beta1, 1 - beta1, beta2, 1 - beta2, a.biasCorrection1, a.biasCorrection2]);
      scalars.set([a.epsilon, lr, decay, 1 - lr * decay], 6);
      const mode = decay > 0 ? (a.decoupled ? 2 : 1) : 0;
      addon.adamUpdate(heapOf(backend), offsets, size, scalars, mode); // heap after the outputs
    }
    return outputs;
  };
}
