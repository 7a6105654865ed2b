/**
 * The fused GroupNorm kernels for backend `'wasm'` (`FUSED_KERNELS.groupNorm`
 * and `FUSED_KERNELS.groupNormGrad` of @sculpt/core).
 *
 * `SculptGroupNorm`: GroupNorm of float32 NHWC `x` in one pass per image, with
 * an optional SiLU after the affine, outputs `[y, mean, rstd]` (mean and rstd
 * [B, groups]). It replaces ~10 kernel calls and the full-size intermediates
 * autodiff keeps for the backward pass (centred x, x̂, scaled, shifted, σ).
 *
 * `SculptGroupNormGrad`: its gradient from x, γ, β and the saved statistics
 * (x̂ and the SiLU recomputed), outputs `[dx, dgamma, dbeta]`.
 */
import { FUSED_KERNELS, SculptError } from '@sculpt/core';
import * as tf from '@tensorflow/tfjs-core';
import type { NativeAddon } from './addon.js';
import { heapOf, offsetOf, type WasmBackendInternals } from './kernels.js';

/** The attrs of both kernels (`epsilon` only forward). */
interface GroupNormAttrs {
  groups: number;
  epsilon?: number;
  silu?: boolean;
}

type Inputs = Record<string, tf.TensorInfo | undefined>;

/** [B, H·W, C, groups] of `x`, or why the kernel does not take these inputs. */
function groupDims(where: string, inputs: Inputs, groups: number): Int32Array {
  const { x, gamma, beta } = inputs;
  const [b, h, w, c] = x?.shape ?? [];
  const ok =
    x !== undefined &&
    x.shape.length === 4 &&
    Object.values(inputs).every((t) => t?.dtype === 'float32') &&
    [gamma, beta].every((t) => t?.shape.length === 1 && t.shape[0] === c) &&
    Number.isInteger(groups) &&
    groups > 0 &&
    c % groups === 0 &&
    b * h * w * c > 0;
  if (!ok) {
    const got = Object.entries(inputs).map(
      ([k, t]) => `${k} ${t ? `${t.dtype} [${t.shape}]` : 'none'}`,
    );
    throw new SculptError(
      where,
      'expected float32 x [B, H, W, C] (not empty), gamma and beta [C], and groups dividing C',
      `got ${got.join(', ')}, groups ${groups}`,
      'use the tfjs ops for this case (groupNorm of @sculpt/diffusion picks them itself)',
    );
  }
  return Int32Array.of(b, h * w, c, groups);
}

/**
 * The GroupNorm (+ SiLU) kernel; throws a SculptError for inputs it does not take (the caller checks first).
 * @example
 * ```ts
 * const [y, mean, rstd] = tf.engine().runKernel('SculptGroupNorm', { x, gamma, beta }, { groups: 8, epsilon: 1e-5, silu: true }) as tf.Tensor[];
 * ```
 */
export function makeGroupNorm(addon: NativeAddon): tf.KernelFunc {
  return (params) => {
    const { x, gamma, beta } = params.inputs as Inputs;
    const { groups, epsilon = 1e-5, silu = false } = params.attrs as unknown as GroupNormAttrs;
    const dims = groupDims(FUSED_KERNELS.groupNorm, { x, gamma, beta }, groups);
    const backend = params.backend as unknown as WasmBackendInternals;
    const shape = [...(x as tf.TensorInfo).shape];
    const y = backend.makeOutput(shape, 'float32');
    const mean = backend.makeOutput([shape[0], groups], 'float32');
    const rstd = backend.makeOutput([shape[0], groups], 'float32');
    const at = (t: tf.TensorInfo | undefined) => offsetOf(backend, t as tf.TensorInfo);
    addon.groupNorm(
      heapOf(backend), // after the outputs: allocating them may grow the memory
      at(x),
      at(gamma),
      at(beta),
      at(y),
      at(mean),
      at(rstd),
      dims,
      epsilon,
      silu,
    );
    return [y, mean, rstd];
  };
}

/**
 * GroupNorm's gradient kernel; throws a SculptError for inputs it does not take (the caller checks first).
 * @example
 * ```ts
 * const [dx, dgamma, dbeta] = tf.engine().runKernel('SculptGroupNormGrad', { dy, x, gamma, beta, mean, rstd }, { groups: 8, silu: true }) as tf.Tensor[];
 * ```
 */
export function makeGroupNormGrad(addon: NativeAddon): tf.KernelFunc {
  const offsets = new Int32Array(9); // reused: one call at a time on the JS thread
  return (params) => {
    const inputs = params.inputs as Inputs;
    const { dy, x, gamma, beta, mean, rstd } = inputs;
    const { groups, silu = false } = params.attrs as unknown as GroupNormAttrs;
    const dims = groupDims(FUSED_KERNELS.groupNormGrad, { x, gamma, beta, dy, mean, rstd }, groups);
    const stats = [dims[0], groups];
    const fits =
      tf.util.arraysEqual(dy?.shape ?? [], x?.shape ?? []) &&
      [mean, rstd].every((t) => tf.util.arraysEqual(t?.shape ?? [], stats));
    if (!fits) {
      throw new SculptError(
        FUSED_KERNELS.groupNormGrad,
        `expected dy shaped like x [${x?.shape}] and mean, rstd [${stats}]`,
        `got dy [${dy?.shape}], mean [${mean?.shape}], rstd [${rstd?.shape}]`,
        'pass the statistics SculptGroupNorm returned for this x',
      );
    }
    const backend = params.backend as unknown as WasmBackendInternals;
    const c = dims[2];
    const outputs = [
      backend.makeOutput([...(x as tf.TensorInfo).shape], 'float32'),
      backend.makeOutput([c], 'float32'),
      backend.makeOutput([c], 'float32'),
    ];
    [dy, x, gamma, beta, mean, rstd, ...outputs].forEach((t, i) => {
      offsets[i] = offsetOf(backend, t as tf.TensorInfo);
    });
    addon.groupNormGrad(heapOf(backend), offsets, dims, silu); // heap after the outputs
    return outputs;
  };
}
