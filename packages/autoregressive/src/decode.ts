// The cached decoding step in few kernel calls: one new token per sequence,
// through the KV cache, on a backend with sculpt's fused kernels (@sculpt/native
// on wasm). The same function as gptForward's path (see gpt.ts), in ~8 + L
// calls per token instead of ~25 per block: at batch 1 a call costs about as
// much in tfjs's engine as in its kernel, so the count is the time.
//
//   x = wte[token] + wpe[P]                                   [B, C]
//   per block (one SculptGptBlockDecode call, which grows the cache):
//     x += c_proj(attend(c_attn(ln_1(x)), cache));   x += mlp(ln_2(x))
//   logits = ln_f(x) · wteᵀ (or lm_head)                      [B, 1, V]
//
// The kernels are called directly: no gradient is taken here, so the tfjs
// ops' reshapes and customGrad scopes around them are skipped.
import { FUSED_KERNELS, hasFusedKernel } from '@sculpt/core';
import * as tf from '@tensorflow/tfjs-core';
import type { GptConfig } from './config.js';
import type { KvCache } from './gpt.js';

type Params = Readonly<Record<string, tf.Tensor>>;

const DECODE_KERNELS = [FUSED_KERNELS.layerNorm, FUSED_KERNELS.gptBlockDecode];

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

/** Block l for the new tokens x [B, C] in one kernel; replaces the layer's cache by the grown one. */
function block(config: GptConfig, p: Params, l: number, x: tf.Tensor, cache: KvCache): tf.Tensor2D {
  const at = (name: string) => p[`h.${l}.${name}`];
  const named: Record<string, tf.Tensor | undefined> = {
    x,
    ln1Gamma: at('ln_1.g'),
    ln1Beta: at('ln_1.b'),
    attnW: at('attn.c_attn.w'),
    attnB: at('attn.c_attn.b'),
    attnProjW: at('attn.c_proj.w'),
    attnProjB: at('attn.c_proj.b'),
    ln2Gamma: at('ln_2.g'),
    ln2Beta: at('ln_2.b'),
    fcW: at('mlp.c_fc.w'),
    fcB: at('mlp.c_fc.b'),
    mlpProjW: at('mlp.c_proj.w'),
    mlpProjB: at('mlp.c_proj.b'),
    k: cache.layers[l]?.k,
    v: cache.layers[l]?.v,
  };
  const inputs: tf.NamedTensorMap = {};
  for (const [name, t] of Object.entries(named)) if (t) inputs[name] = t;
  const attrs = { numHeads: config.numHeads, epsilon: 1e-5 };
  const [y, k, v] = tf
    .engine()
    .runKernel(FUSED_KERNELS.gptBlockDecode, inputs, attrs) as tf.Tensor[];
  if (cache.layers[l]) tf.dispose([cache.layers[l].k, cache.layers[l].v]);
  cache.layers[l] = { k: tf.keep(k) as tf.Tensor4D, v: tf.keep(v) as tf.Tensor4D };
  return y as tf.Tensor2D;
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
  const { vocabSize: V } = config;
  return tf.tidy(() => {
    const position = tf.slice(p.wpe, [cache.length, 0], [1, -1]); // [1, C]
    let x = tf.add(tf.gather(p.wte, tf.reshape(tokens, [batch])), position); // [B, C]
    for (let l = 0; l < config.numLayers; l++) x = block(config, p, l, x, cache);
    const out = norm(p, 'ln_f', x);
    const logits = config.tieWeights
      ? tf.matMul(out, p.wte as tf.Tensor2D, false, true)
      : tf.matMul(out, p['lm_head.w'] as tf.Tensor2D);
    return tf.reshape(logits, [batch, 1, V]) as tf.Tensor3D;
  });
}
