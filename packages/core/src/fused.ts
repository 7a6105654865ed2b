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
 * - `cachedAttention` (`'SculptCachedAttention'`): one decoding step of
 *   multi-head causal self-attention with a KV cache, one new token per
 *   sequence (inference only: no gradient); inputs `{ qkv [B, 3C], k, v }`
 *   with qkv's columns laid out `[3, H, D]` (q, k, v; C = H·D) and the cached
 *   keys/values k, v float32 `[B, H, P, D]` (both left out when P = 0), attr
 *   `{ numHeads }`; outputs `[y [B, C], k' [B, H, P + 1, D], v' [B, H, P + 1, D]]`:
 *   per head, y = softmax((q/√D)·k'ᵀ)·v' with the heads merged, and the
 *   caches with the new key and value appended.
 * - `gptBlockDecode` (`'SculptGptBlockDecode'`): one pre-LayerNorm GPT-2
 *   block (ε attr `epsilon`, GELU tanh) for one new token per sequence
 *   through its KV cache (inference only: no gradient); inputs `{ x [B, C],
 *   ln1Gamma, ln1Beta?, attnW [C, 3C], attnB?, attnProjW [C, C], attnProjB?,
 *   ln2Gamma, ln2Beta?, fcW [C, 4C], fcB?, mlpProjW [4C, C], mlpProjB?, k?, v? }`
 *   (caches as for `cachedAttention`), attrs `{ numHeads, epsilon }`; outputs
 *   `[x' [B, C], k', v']`: x' = x + c_proj(attention) then
 *   x' + mlp.c_proj(gelu(c_fc(ln_2(x')))), the caches grown by one position.
 * - `groupNorm` (`'SculptGroupNorm'`): GroupNorm of a float32 NHWC `x`
 *   [B, H, W, C] over `groups` groups of C/groups channels; inputs
 *   `{ x, gamma [C], beta [C] }`, attrs `{ groups, epsilon, silu }`; outputs
 *   `[y, mean, rstd]`: z = (x − mean)·rstd·γ + β with tfjs's `moments`
 *   (biased variance) per image and group, y = z, or z·σ(z) when `silu`;
 *   mean and rstd = 1/√(var + ε) are [B, groups] (what the gradient needs).
 * - `groupNormGrad` (`'SculptGroupNormGrad'`): its gradient, x̂ recomputed
 *   from x; inputs `{ dy, x, gamma, beta, mean, rstd }`, attrs
 *   `{ groups, silu }`; outputs `[dx, dgamma, dbeta]`.
 * - `biasActivationGrad` (`'SculptBiasActivationGrad'`): the gradient of a
 *   conv's bias and activation (`conv2dBiasActivation`) in one pass; inputs
 *   `{ dy, y }`, float32 NHWC [B, H, W, C] (y the activation's output), attr
 *   `{ alpha }` (the slope where y ≤ 0: 0 for relu, α for leakyrelu);
 *   outputs `[dz, db]`: dz = dy·(y > 0 ? 1 : α) [B, H, W, C] and
 *   db = Σ_{B,H,W} dz [C].
 * - `styleEpilogue` (`'SculptStyleEpilogue'`): the epilogue of a StyleGAN2
 *   styled conv after the convolution; inputs `{ y [B, H, W, C], demod [B, C],
 *   bias [C], noise? [B, H, W, 1], strength? [1] }` (noise and strength
 *   together or neither), all float32, attrs `{ alpha, gain }`; output
 *   `[out]`: out = leakyRelu(((y·demod) + noise·strength) + bias, alpha)·gain
 *   with the demodulation per image and channel, in that order of float32
 *   roundings (the tfjs ops' order).
 * - `styleEpilogueGrad` (`'SculptStyleEpilogueGrad'`): its gradient from the
 *   forward output (out > 0 where the leaky ReLU's input is); inputs
 *   `{ dout, out, y, demod, noise? }`, attrs `{ alpha, gain }`; outputs
 *   `[dy [B, H, W, C], ddemod [B, C], dbias [C]]`, and `dstrength [1]` last
 *   when noise is given (the noise itself gets no gradient).
 * - `modulateGrad` (`'SculptModulateGrad'`): the gradient of StyleGAN2's
 *   modulation x·s (styles s [B, C] broadcast over the pixels of a float32
 *   x [B, H, W, C]); inputs `{ dy, x, styles }`; outputs
 *   `[dx = dy·s [B, H, W, C], dstyles = Σ_hw dy·x [B, C]]`.
 * - `demodulate` (`'SculptDemodulate'`): StyleGAN2's demodulation factors
 *   (eq. 3) d = 1/√(Σ_i s_bi²·Σ_k w_kio² + ε); inputs float32 `{ styles
 *   [B, Cin], filter [kh, kw, Cin, Cout] }`, attr `{ epsilon }`; output d [B, Cout].
 * - `demodulateGrad` (`'SculptDemodulateGrad'`): its gradient; inputs
 *   `{ dd, styles, filter, d }`; outputs `[dstyles [B, Cin], dfilter]`.
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
  cachedAttention: 'SculptCachedAttention',
  gptBlockDecode: 'SculptGptBlockDecode',
  groupNorm: 'SculptGroupNorm',
  groupNormGrad: 'SculptGroupNormGrad',
  biasActivationGrad: 'SculptBiasActivationGrad',
  styleEpilogue: 'SculptStyleEpilogue',
  styleEpilogueGrad: 'SculptStyleEpilogueGrad',
  modulateGrad: 'SculptModulateGrad',
  demodulate: 'SculptDemodulate',
  demodulateGrad: 'SculptDemodulateGrad',
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
