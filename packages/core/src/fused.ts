// Fused kernels: names of kernels a backend may add (e.g. @sculpt/native on
// wasm) that do in one call what a chain of tfjs ops does. Model code asks
// `hasFusedKernel(name)` and falls back to the tfjs ops where it is false, so
// every backend computes the same function.
import * as tf from '@tensorflow/tfjs-core';

/**
 * The fused kernels, by use.
 *
 * - `layerNorm` (`'SculptLayerNorm'`): LayerNorm over the last axis of a
 *   float32 `x` [R, C]; inputs `{ x, gamma [C], beta? [C] }`, attr
 *   `{ epsilon }`; outputs `[y, xhat, inv]`: y = x̂·γ (+ β) [R, C],
 *   x̂ = (x − mean)·inv [R, C] and inv = 1/√(var + ε) [R, 1] (what the
 *   gradient needs), with tfjs's `moments` (biased variance).
 * - `gelu` (`'SculptGelu'`): GELU, tanh approximation, of a float32 `x`;
 *   input `{ x }`; outputs `[y, t]`: t = tanh(√(2/π)(x + 0.044715x³)) and
 *   y = ½x(1 + t), both shaped like x.
 * - `adamUpdate` (`'SculptAdamUpdate'`): one Adam/AdamW step of a float32
 *   parameter; inputs `{ param, grad, m, v }` (same shape), attrs
 *   `{ beta1, beta2, epsilon, learningRate, biasCorrection1, biasCorrection2,
 *   weightDecay, decoupled }` (bias corrections 1 − β^t, computed in float64);
 *   outputs `[param', m', v']` with the maths and float32 rounding of the
 *   tfjs ops in `adam()`/`adamW()` (weight decay L2 into the gradient, or
 *   decoupled `θ·(1 − η·λ)` when `decoupled`).
 * - `groupNorm` (`'SculptGroupNorm'`): GroupNorm of a float32 NHWC `x`
 *   [B, H, W, C] over `groups` groups of C/groups channels; inputs
 *   `{ x, gamma [C], beta [C] }`, attrs `{ groups, epsilon, silu }`; outputs
 *   `[y, mean, rstd]`: z = (x − mean)·rstd·γ + β with tfjs's `moments`
 *   (biased variance) per image and group, y = z, or z·σ(z) when `silu`;
 *   mean and rstd = 1/√(var + ε) are [B, groups] (what the gradient needs).
 * - `groupNormGrad` (`'SculptGroupNormGrad'`): its gradient, x̂ recomputed
 *   from x; inputs `{ dy, x, gamma, beta, mean, rstd }`, attrs
 *   `{ groups, silu }`; outputs `[dx, dgamma, dbeta]`.
 *
 * @example
 * ```ts
 * if (hasFusedKernel(FUSED_KERNELS.layerNorm)) {
 *   const [y, xhat, inv] = tf.engine().runKernel(FUSED_KERNELS.layerNorm, { x, gamma }, { epsilon: 1e-5 }) as tf.Tensor[];
 * }
 * ```
 */
export const FUSED_KERNELS = Object.freeze({
  layerNorm: 'SculptLayerNorm',
  gelu: 'SculptGelu',
  adamUpdate: 'SculptAdamUpdate',
  groupNorm: 'SculptGroupNorm',
  groupNormGrad: 'SculptGroupNormGrad',
} as const);

/**
 * Whether the active backend has the fused kernel `name` registered.
 * @example
 * ```ts
 * const fused = hasFusedKernel(FUSED_KERNELS.layerNorm); // true on wasm after registerNativeKernels()
 * ```
 */
export function hasFusedKernel(name: string): boolean {
  return tf.getKernel(name, tf.getBackend()) !== undefined;
}
