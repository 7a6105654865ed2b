/**
 * The fused gradient of a conv's bias and activation for backend `'wasm'`
 * (`FUSED_KERNELS.biasActivationGrad` of @sculpt/core, used by its
 * `conv2dBiasActivation`).
 *
 * `SculptBiasActivationGrad`: from the upstream gradient dy and the
 * activation's output y (float32 [B, H, W, C]), dz = dy·(y > 0 ? 1 : α) and
 * db = Σ_{B,H,W} dz [C] in one pass over memory, in place of Step, Multiply
 * and Sum (three kernels, four passes over the conv's output).
 */
import { FUSED_KERNELS, SculptError } from '@sculpt/core';
import * as tf from '@tensorflow/tfjs-core';
import type { NativeAddon } from './addon.js';
import { heapOf, offsetOf, type WasmBackendInternals } from './kernels.js';

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
