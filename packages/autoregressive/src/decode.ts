// The cached decoding step in few kernel calls: one new token per sequence,
// through the KV cache, on a backend with sculpt's fused kernels (@sculpt/native
// on wasm). The same function as gptForward's path (see gpt.ts), in ~45 calls
// per token instead of ~125: at batch 1 every call costs about as much in
// tfjs's engine as in its kernel, so the count is the time.
//
//   x = wte[token] + wpe[P]                                   [B, C]
//   per block: x += c_proj(attend(c_attn(ln_1(x)), cache));   x += mlp(ln_2(x))
//   logits = ln_f(x) · wteᵀ (or lm_head)                      [B, 1, V]
//
// Bias-adding linears run as one `_FusedMatMul` and LayerNorm/GELU as their
// fused kernels, called directly: no gradient is taken here, so the tfjs ops'
// reshapes and customGrad scopes around them are skipped.
import { FUSED_KERNELS, hasFusedKernel } from '@sculpt/core';
import * as tf from '@tensorflow/tfjs-core';
import type { GptConfig } from './config.js';
import type { KvCache } from './gpt.js';

type Params = Readonly<Record<string, tf.Tensor>>;

const DECODE_KERNELS = [FUSED_KERNELS.layerNorm, FUSED_KERNELS.gelu, FUSED_KERNELS.cachedAttention];

/**
 * Whether {@link decodeStep} can run `tokens`: one new token per sequence
 * (tokens [B, 1]), learned positions (rotary keys are rotated before caching),
 * and every fused kernel it calls registered on the active backend.
 */
export function canDecode(config: GptConfig, tokens: tf.Tensor2D): boolean {
  return (
    tokens.shape[1] === 1 &&
    config.positions === 'learned' &&
    DECODE_KERNELS.every((name) => hasFusedKernel(name))
  );
}

/** x [R, K] · w [K, N] + b [N] in one kernel. */
function dense(p: Params, name: string, x: tf.Tensor): tf.Tensor2D {
  const w = p[`${name}.w`];
  const bias = p[`${name}.b`];
  if (!bias) return tf.matMul(x as tf.Tensor2D, w as tf.Tensor2D);
  const attrs = { transposeA: false, transposeB: false, activation: 'linear' };
  return tf.engine().runKernel('_FusedMatMul', { a: x, b: w, bias }, attrs) as tf.Tensor2D;
}

/** LayerNorm (ε = 1e-5) of x [R, C] through the fused kernel; its x̂ and 1/σ outputs are left to the tidy. */
function norm(p: Params, name: string, x: tf.Tensor): tf.Tensor2D {
  const g = p[`${name}.g`];
  const b = p[`${name}.b`];
  const inputs: tf.NamedTensorMap = b ? { x, gamma: g, beta: b } : { x, gamma: g };
  const [y] = tf
    .engine()
    .runKernel(FUSED_KERNELS.layerNorm, inputs, { epsilon: 1e-5 }) as tf.Tensor[];
  return y as tf.Tensor2D;
}

/** Block l's attention for the new tokens x [B, C]; replaces the layer's cache by the grown one. */
function attend(
  config: GptConfig,
  p: Params,
  l: number,
  x: tf.Tensor,
  cache: KvCache,
): tf.Tensor2D {
  const qkv = dense(p, `h.${l}.attn.c_attn`, norm(p, `h.${l}.ln_1`, x)); // [B, 3C]
  const cached = cache.layers[l];
  const inputs: tf.NamedTensorMap = cached ? { qkv, k: cached.k, v: cached.v } : { qkv };
  const [y, k, v] = tf.engine().runKernel(FUSED_KERNELS.cachedAttention, inputs, {
    numHeads: config.numHeads,
  }) as tf.Tensor[];
  if (cached) tf.dispose([cached.k, cached.v]);
  cache.layers[l] = { k: tf.keep(k) as tf.Tensor4D, v: tf.keep(v) as tf.Tensor4D };
  return dense(p, `h.${l}.attn.c_proj`, y); // [B, C]
}

/**
 * Logits [B, 1, V] of one new token per sequence, tokens [B, 1] int32, attending
 * to `cache` and appended to it. The caller checked {@link canDecode} and the
 * positions (cache length < contextLength).
 *
 * @example
 * ```ts
 * if (canDecode(config, tokens)) logits = decodeStep(config, params, tokens, cache);
 * ```
 */
export function decodeStep(
  config: GptConfig,
  p: Params,
  tokens: tf.Tensor2D,
  cache: KvCache,
): tf.Tensor3D {
  const [batch] = tokens.shape;
  const { embedDim: C, vocabSize: V } = config;
  return tf.tidy(() => {
    const position = tf.slice(p.wpe, [cache.length, 0], [1, C]); // [1, C]
    let x = tf.add(tf.gather(p.wte, tf.reshape(tokens, [batch])), position); // [B, C]
    for (let l = 0; l < config.numLayers; l++) {
      x = tf.add(x, attend(config, p, l, x, cache));
      const hidden = dense(p, `h.${l}.mlp.c_fc`, norm(p, `h.${l}.ln_2`, x)); // [B, 4C]
      const [h] = tf.engine().runKernel(FUSED_KERNELS.gelu, { x: hidden }, {}) as tf.Tensor[];
      x = tf.add(x, dense(p, `h.${l}.mlp.c_proj`, h));
    }
    const out = norm(p, 'ln_f', x);
    const logits = config.tieWeights
      ? tf.matMul(out, p.wte as tf.Tensor2D, false, true)
      : tf.matMul(out, p['lm_head.w'] as tf.Tensor2D);
    return tf.reshape(logits, [batch, 1, V]) as tf.Tensor3D;
  });
}
