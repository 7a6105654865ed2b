// The GPT network (Radford et al. 2019; nanoGPT's model.py, in tfjs ops).
//
// Notation: B batch, T new tokens, P cached tokens, S = P + T keys,
// C = embedDim, H heads, D = C / H head size, V vocabSize.
//
//   x = wte[tokens] (+ wpe[positions])                       [B·T, C]
//   per block:  x += attn(ln_1(x));  x += mlp(ln_2(x))        pre-LayerNorm
//   attn: softmax(q kᵀ / √D + causal mask) v, per head        [B, H, T, D]
//   mlp:  c_proj(gelu(c_fc(x)))                              4C hidden
//   logits = ln_f(x) · wteᵀ (tied) or lm_head(ln_f(x))        [B, T, V]
//
// Weight names follow nanoGPT's state dict (`h.0.attn.c_attn.w` …) so that
// a reader can lay the two side by side.
import { FUSED_KERNELS, hasFusedKernel, Rng, SculptError } from '@sculpt/core';
import * as tf from '@tensorflow/tfjs-core';
import type { GptConfig } from './config.js';
import { canDecode, decodeStep } from './decode.js';

/** One layer's cached keys and values, `[B, H, P, D]` each. */
interface LayerCache {
  k: tf.Tensor4D;
  v: tf.Tensor4D;
}

/**
 * Keys and values of the tokens seen so far, per layer, so that each new
 * token costs one position of compute instead of the whole context. Grown by
 * concatenation; {@link KvCache.slide} drops the oldest positions when the
 * context is full. Owns its tensors: `dispose()` when done.
 */
export class KvCache {
  /** Per layer, once the first tokens went through. */
  layers: LayerCache[] = [];
  /** Absolute position of the first cached token (moves when sliding). */
  start = 0;

  /** Tokens cached, P. */
  get length(): number {
    return this.layers[0]?.k.shape[2] ?? 0;
  }

  /** Drops the oldest `count` positions of every layer (rotary models only: their scores depend on offsets alone). */
  slide(count: number): void {
    this.layers = this.layers.map(({ k, v }) => {
      const next = tf.tidy(() => ({
        k: tf.slice(k, [0, 0, count, 0], [-1, -1, -1, -1]) as tf.Tensor4D,
        v: tf.slice(v, [0, 0, count, 0], [-1, -1, -1, -1]) as tf.Tensor4D,
      }));
      tf.dispose([k, v]);
      return next;
    });
    this.start += count;
  }

  /** Frees every cached tensor. */
  dispose(): void {
    for (const { k, v } of this.layers) tf.dispose([k, v]);
    this.layers = [];
    this.start = 0;
  }
}

/** Options of {@link gptForward}. */
export interface ForwardOptions {
  /** Dropout on (needs `rng`). Default `false`. */
  training?: boolean;
  /** Dropout masks come from here. */
  rng?: Rng;
  /** Attend to these cached tokens first and append the new ones to it (updated in place). */
  cache?: KvCache;
}

/** The weights of a GPT with `config`, initialised as nanoGPT does (N(0, 0.02), residual projections scaled by 1/√(2L)). */
export function initGptParams(config: GptConfig, seed: number): Record<string, tf.Variable> {
  const rng = new Rng(seed);
  const { vocabSize: V, embedDim: C, numLayers: L, contextLength, bias } = config;
  const p: Record<string, tf.Variable> = {};
  const add = (name: string, shape: number[], init: 'normal' | 'zeros' | 'ones', std = 0.02) => {
    p[name] = tf.tidy(() => {
      const value =
        init === 'normal'
          ? rng.normal(shape, { std })
          : init === 'ones'
            ? tf.ones(shape)
            : tf.zeros(shape);
      return tf.variable(value, true);
    });
  };
  const norm = (name: string) => {
    add(`${name}.g`, [C], 'ones');
    if (bias) add(`${name}.b`, [C], 'zeros');
  };
  const linear = (name: string, inputs: number, units: number, std = 0.02) => {
    add(`${name}.w`, [inputs, units], 'normal', std);
    if (bias) add(`${name}.b`, [units], 'zeros');
  };
  add('wte', [V, C], 'normal');
  if (config.positions === 'learned') add('wpe', [contextLength, C], 'normal');
  const residualStd = 0.02 / Math.sqrt(2 * L);
  for (let l = 0; l < L; l++) {
    norm(`h.${l}.ln_1`);
    linear(`h.${l}.attn.c_attn`, C, 3 * C);
    linear(`h.${l}.attn.c_proj`, C, C, residualStd);
    norm(`h.${l}.ln_2`);
    linear(`h.${l}.mlp.c_fc`, C, 4 * C);
    linear(`h.${l}.mlp.c_proj`, 4 * C, C, residualStd);
  }
  norm('ln_f');
  if (!config.tieWeights) add('lm_head.w', [C, V], 'normal');
  return p;
}

type Params = Readonly<Record<string, tf.Tensor>>;

function linear(p: Params, name: string, x: tf.Tensor2D): tf.Tensor2D {
  const y = tf.matMul(x, p[`${name}.w`] as tf.Tensor2D);
  const b = p[`${name}.b`];
  return (b ? tf.add(y, b) : y) as tf.Tensor2D;
}

function layerNorm(p: Params, name: string, x: tf.Tensor2D): tf.Tensor2D {
  const b = p[`${name}.b`];
  return (b ? layerNormOp(x, p[`${name}.g`], b) : layerNormOp(x, p[`${name}.g`])) as tf.Tensor2D;
}

/**
 * LayerNorm's forward pass: `[y, x̂, 1/σ]`, in one kernel where the backend has
 * sculpt's fused LayerNorm (@sculpt/native on wasm), else as tfjs ops.
 */
function layerNormForward(x: tf.Tensor2D, g: tf.Tensor1D, b?: tf.Tensor1D): tf.Tensor[] {
  if (x.rank === 2 && x.dtype === 'float32' && hasFusedKernel(FUSED_KERNELS.layerNorm)) {
    const inputs: tf.NamedTensorMap = b ? { x, gamma: g, beta: b } : { x, gamma: g };
    return tf.engine().runKernel(FUSED_KERNELS.layerNorm, inputs, { epsilon: 1e-5 }) as tf.Tensor[];
  }
  const { mean, variance } = tf.moments(x, -1, true);
  const inv = tf.rsqrt(tf.add(variance, 1e-5));
  const xhat = tf.mul(tf.sub(x, mean), inv);
  const scaled = tf.mul(xhat, g);
  return [b ? tf.add(scaled, b) : scaled, xhat, inv];
}

/**
 * LayerNorm over the last axis with a hand-written gradient (exported for its test): autodiff of the
 * moments → normalise → scale chain costs ~3× the kernels of
 *   dx = (ĝ − mean(ĝ) − x̂·mean(ĝ·x̂)) / σ,   ĝ = dy·g,   dg = Σ dy·x̂,   db = Σ dy.
 */
export const layerNormOp = tf.customGrad((...args: unknown[]) => {
  const save = args.pop() as tf.GradSaveFunc;
  const [x, g, b] = args as [tf.Tensor2D, tf.Tensor1D, tf.Tensor1D | undefined];
  const [value, xhat, inv] = layerNormForward(x, g, b);
  save([xhat, inv, g]);
  return {
    value,
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [xh, iv, gain] = saved as [tf.Tensor2D, tf.Tensor2D, tf.Tensor1D];
      const gh = tf.mul(dy, gain);
      const dx = tf.mul(
        tf.sub(tf.sub(gh, tf.mean(gh, -1, true)), tf.mul(xh, tf.mean(tf.mul(gh, xh), -1, true))),
        iv,
      );
      const dg = tf.sum(tf.mul(dy, xh), 0);
      return b ? [dx, dg, tf.sum(dy, 0)] : [dx, dg];
    },
  };
}) as (x: tf.Tensor, g: tf.Tensor, b?: tf.Tensor) => tf.Tensor;

/** GELU's forward pass: `[y, t]` (t = tanh u), in one kernel where the backend has sculpt's fused GELU. */
function geluForward(x: tf.Tensor): tf.Tensor[] {
  if (x.dtype === 'float32' && hasFusedKernel(FUSED_KERNELS.gelu)) {
    return tf.engine().runKernel(FUSED_KERNELS.gelu, { x }, {}) as tf.Tensor[];
  }
  const k = Math.sqrt(2 / Math.PI);
  const t = tf.tanh(tf.mul(x, tf.add(tf.mul(tf.square(x), 0.044715 * k), k)));
  return [tf.mul(tf.mul(x, 0.5), tf.add(t, 1)), t];
}

/**
 * GELU, tanh approximation (GPT-2's): ½x(1 + tanh u), u = √(2/π)(x + 0.044715x³),
 * with its derivative written out (autodiff would differentiate a Pow):
 *   ½(1 + t) + ½x(1 − t²)·√(2/π)(1 + 3·0.044715x²),   t = tanh u.
 */
export const gelu = tf.customGrad((...args: unknown[]) => {
  const save = args.pop() as tf.GradSaveFunc;
  const x = args[0] as tf.Tensor;
  const [value, t] = geluForward(x);
  save([x, t]);
  return {
    value,
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [xs, ts] = saved as [tf.Tensor, tf.Tensor];
      const k = Math.sqrt(2 / Math.PI);
      const slope = tf.mul(
        tf.sub(1, tf.square(ts)),
        tf.add(tf.mul(tf.square(xs), 3 * 0.044715 * k), k),
      );
      return [tf.mul(dy, tf.mul(tf.add(tf.add(ts, 1), tf.mul(xs, slope)), 0.5))];
    },
  };
}) as (x: tf.Tensor) => tf.Tensor;

function dropout(x: tf.Tensor, rate: number, rng: Rng | undefined): tf.Tensor {
  if (rate === 0 || !rng) return x;
  const keep = tf.cast(tf.greaterEqual(rng.uniform(x.shape), rate), 'float32');
  return tf.mul(x, tf.mul(keep, 1 / (1 - rate)));
}

/** Additive causal mask [T, S]: query i (absolute P + i) sees keys j ≤ P + i. */
function causalMask(t: number, past: number): tf.Tensor2D {
  const s = past + t;
  const m = new Float32Array(t * s);
  for (let i = 0; i < t; i++) m.fill(-1e9, i * s + past + i + 1, (i + 1) * s);
  return tf.tensor2d(m, [t, s]);
}

/** Rotary embedding (GPT-NeoX's rotate-half form) of x [B, H, T, D] at positions start … start + T − 1. */
function rotary(x: tf.Tensor4D, start: number): tf.Tensor4D {
  const [, , t, d] = x.shape;
  const half = d / 2;
  const cos = new Float32Array(t * half);
  const sin = new Float32Array(t * half);
  for (let i = 0; i < t; i++)
    for (let j = 0; j < half; j++) {
      const angle = (start + i) / 10000 ** ((2 * j) / d);
      cos[i * half + j] = Math.cos(angle);
      sin[i * half + j] = Math.sin(angle);
    }
  const c = tf.tensor2d(cos, [t, half]);
  const s = tf.tensor2d(sin, [t, half]);
  const [x1, x2] = tf.split(x, 2, -1) as [tf.Tensor4D, tf.Tensor4D];
  return tf.concat(
    [tf.sub(tf.mul(x1, c), tf.mul(x2, s)), tf.add(tf.mul(x2, c), tf.mul(x1, s))],
    -1,
  ) as tf.Tensor4D;
}

interface BlockContext {
  config: GptConfig;
  batch: number;
  time: number;
  /** Absolute position of the first new token. */
  start: number;
  /** The additive mask ([T, S] causal, or [B, 1, 1, S] key padding), or undefined when every key is seen. */
  mask: tf.Tensor | undefined;
  drop: (x: tf.Tensor) => tf.Tensor;
  cache?: KvCache;
}

/** Causal self-attention of block `l`; x [B·T, C] → [B·T, C]. Appends this call's keys/values to the cache. */
function attention(p: Params, l: number, x: tf.Tensor2D, ctx: BlockContext): tf.Tensor2D {
  const { numHeads: H, embedDim: C } = ctx.config;
  const D = C / H;
  const qkv = tf.reshape(linear(p, `h.${l}.attn.c_attn`, x), [ctx.batch, ctx.time, 3, H, D]);
  const parts = tf.unstack(tf.transpose(qkv, [2, 0, 3, 1, 4])) as [
    tf.Tensor4D,
    tf.Tensor4D,
    tf.Tensor4D,
  ];
  let [q, k, v] = parts; // [B, H, T, D] each
  if (ctx.config.positions === 'rotary') {
    q = rotary(q, ctx.start);
    k = rotary(k, ctx.start);
  }
  const cached = ctx.cache?.layers[l];
  if (cached) {
    k = tf.concat([cached.k, k], 2) as tf.Tensor4D;
    v = tf.concat([cached.v, v], 2) as tf.Tensor4D;
  }
  if (ctx.cache) {
    if (cached) tf.dispose([cached.k, cached.v]);
    ctx.cache.layers[l] = { k: tf.keep(k), v: tf.keep(v) };
  }
  // Scaling q (T·D values) is cheaper than scaling the scores (T·S).
  const raw = tf.matMul(tf.mul(q, 1 / Math.sqrt(D)), k, false, true); // [B, H, T, S]
  const scores = ctx.mask ? tf.add(raw, ctx.mask) : raw;
  const y = tf.matMul(ctx.drop(tf.softmax(scores)) as tf.Tensor4D, v); // [B, H, T, D]
  const merged = tf.reshape(tf.transpose(y, [0, 2, 1, 3]), [
    ctx.batch * ctx.time,
    C,
  ]) as tf.Tensor2D;
  return linear(p, `h.${l}.attn.c_proj`, merged);
}

function checkTokens(config: GptConfig, tokens: tf.Tensor, past: number): void {
  const where = 'GptModel.forward';
  if (tokens.rank !== 2 || tokens.dtype !== 'int32' || (tokens.shape[1] ?? 0) < 1) {
    throw new SculptError(
      where,
      'expected int32 token ids of shape [B, T] with T ≥ 1',
      `got ${tokens.dtype} [${tokens.shape.join(', ')}]`,
      "make them with tf.tensor2d(ids, [B, T], 'int32')",
    );
  }
  if (config.positions === 'learned' && past + (tokens.shape[1] ?? 0) > config.contextLength) {
    throw new SculptError(
      where,
      `at most contextLength = ${config.contextLength} positions (cached + new)`,
      `got ${past} cached + ${tokens.shape[1]} new`,
      'crop the input to its last contextLength tokens or refill the cache',
    );
  }
}

/**
 * Logits of the next token at every position: tokens [B, T] int32 → [B, T, V].
 * With `cache`, the new tokens attend to the cached ones and are appended.
 *
 * @returns logits the caller owns.
 * @throws SculptError for ids of the wrong dtype/rank or more positions than the context holds.
 */
export function gptForward(
  config: GptConfig,
  p: Params,
  tokens: tf.Tensor2D,
  options: ForwardOptions = {},
): tf.Tensor3D {
  const past = options.cache?.length ?? 0;
  checkTokens(config, tokens, past);
  if (options.cache && !options.training && canDecode(config, tokens))
    return decodeStep(config, p, tokens, options.cache);
  const [batch, time] = tokens.shape;
  const start = (options.cache?.start ?? 0) + past;
  const rate = options.training ? config.dropout : 0;
  return tf.tidy(() => {
    const ctx: BlockContext = {
      config,
      batch,
      time,
      start,
      mask: time === 1 ? undefined : causalMask(time, past),
      drop: (x) => dropout(x, rate, options.rng),
      cache: options.cache,
    };
    const flat = tf.reshape(tokens, [batch * time]);
    let x = tf.gather(p.wte, flat) as tf.Tensor2D; // [B·T, C]
    if (config.positions === 'learned') {
      const positions = tf.tile(tf.range(past, past + time, 1, 'int32'), [batch]);
      x = tf.add(x, tf.gather(p.wpe, positions));
    }
    x = ctx.drop(x) as tf.Tensor2D;
    for (let l = 0; l < config.numLayers; l++) {
      x = tf.add(x, ctx.drop(attention(p, l, layerNorm(p, `h.${l}.ln_1`, x), ctx)));
      const h = gelu(linear(p, `h.${l}.mlp.c_fc`, layerNorm(p, `h.${l}.ln_2`, x))) as tf.Tensor2D;
      x = tf.add(x, ctx.drop(linear(p, `h.${l}.mlp.c_proj`, h)));
    }
    const out = layerNorm(p, 'ln_f', x);
    const logits = config.tieWeights
      ? tf.matMul(out, p.wte as tf.Tensor2D, false, true)
      : tf.matMul(out, p['lm_head.w'] as tf.Tensor2D);
    return tf.reshape(logits, [batch, time, config.vocabSize]) as tf.Tensor3D;
  });
}

/** Options of {@link gptEncode}. */
export interface EncodeHiddenOptions {
  /** `[B, T]`, 1 = token, 0 = padding (keys that nothing attends to). Default all ones. */
  keyMask?: tf.Tensor2D;
}

/**
 * The GPT's blocks run **bidirectionally** (no causal mask) as a text
 * encoder, BERT-style: tokens [B, T] int32 → final LayerNorm'd hidden states
 * [B, T, C] (no logits). Padding keys are masked out. The same weights as
 * {@link gptForward} (a GPT's `params`), so a GPT config builds an encoder.
 *
 * @returns hidden states the caller owns.
 * @example
 * ```ts
 * const h = gptEncode(config, params, tokens, { keyMask }); // [B, T, C]
 * ```
 */
export function gptEncode(
  config: GptConfig,
  p: Params,
  tokens: tf.Tensor2D,
  options: EncodeHiddenOptions = {},
): tf.Tensor3D {
  checkTokens(config, tokens, 0);
  const [batch, time] = tokens.shape;
  return tf.tidy(() => {
    const keyMask = options.keyMask;
    const mask = keyMask
      ? tf.reshape(tf.mul(tf.sub(1, tf.cast(keyMask, 'float32')), -1e9), [batch, 1, 1, time])
      : undefined;
    const ctx: BlockContext = { config, batch, time, start: 0, mask, drop: (x) => x };
    let x = tf.gather(p.wte, tf.reshape(tokens, [batch * time])) as tf.Tensor2D; // [B·T, C]
    if (config.positions === 'learned')
      x = tf.add(x, tf.gather(p.wpe, tf.tile(tf.range(0, time, 1, 'int32'), [batch])));
    for (let l = 0; l < config.numLayers; l++) {
      x = tf.add(x, attention(p, l, layerNorm(p, `h.${l}.ln_1`, x), ctx));
      const h = gelu(linear(p, `h.${l}.mlp.c_fc`, layerNorm(p, `h.${l}.ln_2`, x))) as tf.Tensor2D;
      x = tf.add(x, linear(p, `h.${l}.mlp.c_proj`, h));
    }
    return tf.reshape(layerNorm(p, 'ln_f', x), [batch, time, config.embedDim]) as tf.Tensor3D;
  });
}

/**
 * Mean cross-entropy of next-token prediction, in nats per token: windows
 * [B, T + 1] int32 → inputs [:, :T], targets [:, 1:].
 *
 * @returns a scalar the caller owns.
 */
export function gptLoss(
  config: GptConfig,
  p: Params,
  windows: tf.Tensor2D,
  options: Omit<ForwardOptions, 'cache'> = {},
): tf.Scalar {
  const [batch, width] = windows.shape;
  return tf.tidy(() => {
    const inputs = tf.slice(windows, [0, 0], [batch, width - 1]) as tf.Tensor2D;
    const targets = tf.reshape(tf.slice(windows, [0, 1], [batch, width - 1]), [-1]) as tf.Tensor1D;
    const logits = tf.reshape(gptForward(config, p, inputs, options), [-1, config.vocabSize]);
    return crossEntropy(logits as tf.Tensor2D, targets);
  });
}

/**
 * Mean cross-entropy of logits [N, V] against target ids [N], in nats, with
 * its gradient written out, (softmax(z) − onehot(y)) / N: autodiff through
 * logSoftmax and a one-hot product costs several more [N, V] kernels.
 * (Exported for its test.)
 */
export function crossEntropy(logits: tf.Tensor2D, targets: tf.Tensor1D): tf.Scalar {
  const [n, v] = logits.shape;
  const op = tf.customGrad((...args: unknown[]) => {
    const save = args.pop() as tf.GradSaveFunc;
    const z = args[0] as tf.Tensor2D;
    const lse = tf.logSumExp(z, -1, true); // [N, 1]
    const at = tf.add(tf.mul(tf.range(0, n, 1, 'int32'), tf.scalar(v, 'int32')), targets);
    const picked = tf.gather(tf.reshape(z, [-1]), at); // z[i, y_i]
    save([z, lse, targets]); // kept for the backward pass, past the caller's tidy
    return {
      value: tf.mean(tf.sub(tf.reshape(lse, [-1]), picked)),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [zs, l, y] = saved;
        const softmax = tf.exp(tf.sub(zs, l));
        const onehot = tf.cast(tf.oneHot(y as tf.Tensor1D, v), 'float32');
        return [tf.mul(tf.sub(softmax, onehot), tf.div(dy, n))];
      },
    };
  }) as (z: tf.Tensor) => tf.Tensor;
  return op(logits) as tf.Scalar;
}
