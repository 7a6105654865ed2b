// The U-Net's custom tfjs layers: GroupNorm, sinusoidal and class embeddings,
// a broadcast add for per-image embeddings, nearest 2× upsampling and
// self-attention. Each follows tfjs-layers' template (static className
// literal, weights in build, call inside tidy, getConfig merging super) and is
// registered as '@sculpt/diffusion>X' so a saved tfjs model topology finds it again.
//
// Only ops whose gradients exist on every backend (with core's wasm kernels)
// are used: upsampling is concat + reshape (no ResizeNearestNeighborGrad), the
// class embedding is a one-hot matMul (no UnsortedSegmentSum).

import { SculptError } from '@sculpt/core';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { attendAndAdd, splitHeads } from './attention-ops.js';
import { groupNorm, groupNormSilu } from './group-norm.js';

export { groupNorm, groupNormSilu };

type Shape = tfl.Shape;
/** tfjs-layers' base layer options (`name`, `trainable`, …). */
export type LayerArgs = NonNullable<ConstructorParameters<typeof tfl.layers.Layer>[0]>;
type Kwargs = Record<string, unknown>;
type Inputs = tf.Tensor | tf.Tensor[];

const one = (inputs: Inputs): tf.Tensor => (Array.isArray(inputs) ? inputs[0] : inputs);
const firstShape = (s: Shape | Shape[]): Shape =>
  Array.isArray(s[0]) ? (s as Shape[])[0] : (s as Shape);

/** Config of {@link GroupNormalization}. */
export interface GroupNormalizationArgs extends LayerArgs {
  /** Number of groups; must divide the channels. Default 8. */
  groups?: number;
  /** Added to the variance. Default 1e-5. */
  epsilon?: number;
  /** Applies SiLU (x·σ(x)) after the affine, fused with the norm. Default false. */
  silu?: boolean;
}

/**
 * tfjs layer for {@link groupNorm} (tfjs-layers has none), or with `silu: true`
 * {@link groupNormSilu} (norm + SiLU as one op). Weights: `gamma` (ones) and
 * `beta` (zeros), one per channel.
 * @example
 * ```ts
 * const norm = new GroupNormalization({ groups: 8, name: 'norm' });
 * const y = norm.apply(x) as tf.Tensor; // [B, H, W, C] → same shape
 * ```
 */
export class GroupNormalization extends tfl.layers.Layer {
  static readonly className = 'GroupNormalization';
  readonly groups: number;
  readonly epsilon: number;
  readonly silu: boolean;
  private gamma!: tfl.LayerVariable;
  private beta!: tfl.LayerVariable;

  constructor(args: GroupNormalizationArgs = {}) {
    super(args);
    this.groups = args.groups ?? 8;
    this.epsilon = args.epsilon ?? 1e-5;
    this.silu = args.silu ?? false;
  }

  override build(inputShape: Shape | Shape[]): void {
    const channels = firstShape(inputShape).at(-1) as number;
    if (channels % this.groups !== 0) {
      throw new SculptError(
        'GroupNormalization.build',
        `expected channels divisible by groups=${this.groups}`,
        `got ${channels} channels`,
        'pick groups that divide every width',
      );
    }
    this.gamma = this.addWeight('gamma', [channels], 'float32', tfl.initializers.ones());
    this.beta = this.addWeight('beta', [channels], 'float32', tfl.initializers.zeros());
    this.built = true;
  }

  override call(inputs: Inputs, _kwargs: Kwargs): tf.Tensor {
    const norm = this.silu ? groupNormSilu : groupNorm;
    return tf.tidy(() =>
      norm(one(inputs), this.gamma.read(), this.beta.read(), this.groups, this.epsilon),
    );
  }

  override getConfig(): tf.serialization.ConfigDict {
    const config: tf.serialization.ConfigDict = {
      ...super.getConfig(),
      groups: this.groups,
      epsilon: this.epsilon,
    };
    if (this.silu) config.silu = true; // absent when false: older configs read the same
    return config;
  }
}

/** Config of {@link SinusoidalEmbedding}. */
export interface SinusoidalEmbeddingArgs extends LayerArgs {
  /** Output width (even). */
  dim: number;
  /** Multiplies the input first (e.g. 250 for EDM's c_noise = ln σ / 4). Default 1. */
  scale?: number;
  /** Longest period. Default 10000 (Transformer / DDPM). */
  maxPeriod?: number;
}

/**
 * Sinusoidal embedding of a scalar per image (timestep or noise level), as in
 * DDPM (Ho et al. 2020) after Vaswani et al. 2017: `[cos(t·f_i), sin(t·f_i)]`,
 * `f_i = maxPeriod^(−i/half)`. Input `[B, 1]`, output `[B, dim]`. No weights.
 * @example
 * ```ts
 * const emb = new SinusoidalEmbedding({ dim: 128 }).apply(t) as tf.Tensor; // [B, 128]
 * ```
 */
export class SinusoidalEmbedding extends tfl.layers.Layer {
  static readonly className = 'SinusoidalEmbedding';
  readonly dim: number;
  readonly scale: number;
  readonly maxPeriod: number;

  constructor(args: SinusoidalEmbeddingArgs) {
    super(args);
    this.dim = args.dim;
    this.scale = args.scale ?? 1;
    this.maxPeriod = args.maxPeriod ?? 10000;
  }

  override computeOutputShape(inputShape: Shape | Shape[]): Shape {
    return [firstShape(inputShape)[0], this.dim];
  }

  override call(inputs: Inputs, _kwargs: Kwargs): tf.Tensor {
    return tf.tidy(() => {
      const half = this.dim / 2;
      const freqs = new Float32Array(half);
      for (let i = 0; i < half; i++)
        freqs[i] = Math.exp((-Math.log(this.maxPeriod) * i) / half) * this.scale;
      const t = tf.reshape(one(inputs), [-1, 1]);
      const args = tf.mul(tf.cast(t, 'float32'), tf.tensor2d(freqs, [1, half])); // [B, half]
      return tf.concat([tf.cos(args), tf.sin(args)], 1);
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), dim: this.dim, scale: this.scale, maxPeriod: this.maxPeriod };
  }
}

/** Config of {@link ClassEmbedding}. */
export interface ClassEmbeddingArgs extends LayerArgs {
  /** Number of rows: the classes plus one "null" row for classifier-free guidance. */
  numEmbeddings: number;
  /** Output width. */
  dim: number;
}

/**
 * A learned embedding table looked up by a one-hot matMul (its gradient is a
 * matMul: no `UnsortedSegmentSum`, which wasm lacks). Input `[B, 1]` class
 * ids (any numeric dtype), output `[B, dim]`. Ids outside the table give a
 * zero row; validate them before calling.
 * @example
 * ```ts
 * const e = new ClassEmbedding({ numEmbeddings: 11, dim: 128 }).apply(labels) as tf.Tensor;
 * ```
 */
export class ClassEmbedding extends tfl.layers.Layer {
  static readonly className = 'ClassEmbedding';
  readonly numEmbeddings: number;
  readonly dim: number;
  private table!: tfl.LayerVariable;

  constructor(args: ClassEmbeddingArgs) {
    super(args);
    this.numEmbeddings = args.numEmbeddings;
    this.dim = args.dim;
  }

  override build(_inputShape: Shape | Shape[]): void {
    this.table = this.addWeight(
      'embeddings',
      [this.numEmbeddings, this.dim],
      'float32',
      tfl.initializers.randomNormal({ stddev: 1 / Math.sqrt(this.dim) }),
    );
    this.built = true;
  }

  override computeOutputShape(inputShape: Shape | Shape[]): Shape {
    return [firstShape(inputShape)[0], this.dim];
  }

  override call(inputs: Inputs, _kwargs: Kwargs): tf.Tensor {
    return tf.tidy(() => {
      const ids = tf.cast(tf.reshape(one(inputs), [-1]), 'int32');
      // Cast rather than oneHot(..., 'float32'): wasm returns int32 bit patterns for the latter.
      const hot = tf.cast(tf.oneHot(ids, this.numEmbeddings), 'float32'); // [B, K]
      return tf.matMul(hot, this.table.read());
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), numEmbeddings: this.numEmbeddings, dim: this.dim };
  }
}

/**
 * Adds a per-image vector to every pixel: inputs `[x: [B, H, W, C], e: [B, C]]`,
 * output `x + e` broadcast over H and W. No weights.
 * @example
 * ```ts
 * const y = new AddEmbedding({}).apply([x, e]) as tf.SymbolicTensor;
 * ```
 */
export class AddEmbedding extends tfl.layers.Layer {
  static readonly className = 'AddEmbedding';

  override computeOutputShape(inputShape: Shape | Shape[]): Shape {
    return firstShape(inputShape);
  }

  override call(inputs: Inputs, _kwargs: Kwargs): tf.Tensor {
    return tf.tidy(() => {
      const [x, e] = inputs as tf.Tensor[];
      return tf.add(x, tf.reshape(e, [e.shape[0], 1, 1, e.shape[1] as number]));
    });
  }
}

/**
 * Nearest-neighbour 2× upsampling of `[B, H, W, C]` to `[B, 2H, 2W, C]`,
 * written as concat + reshape so its gradient exists on every backend.
 * @example
 * ```ts
 * const y = new Upsample2x({}).apply(x) as tf.Tensor; // [B, 7, 7, C] → [B, 14, 14, C]
 * ```
 */
export class Upsample2x extends tfl.layers.Layer {
  static readonly className = 'Upsample2x';

  override computeOutputShape(inputShape: Shape | Shape[]): Shape {
    const [b, h, w, c] = firstShape(inputShape);
    return [b, h === null ? null : 2 * h, w === null ? null : 2 * w, c];
  }

  override call(inputs: Inputs, _kwargs: Kwargs): tf.Tensor {
    return tf.tidy(() => {
      const x = one(inputs);
      const [b, h, w, c] = x.shape as [number, number, number, number];
      const wide = tf.reshape(tf.concat([x, x], 3), [b, h, 2 * w, c]); // each pixel twice along W
      return tf.reshape(tf.concat([wide, wide], 2), [b, 2 * h, 2 * w, c]); // each row twice
    });
  }
}

/** Config of {@link PixelShuffle}. */
export interface PixelShuffleArgs extends LayerArgs {
  /** Upscaling factor f. Default 2. */
  factor?: number;
}

/**
 * Depth-to-space (Shi et al. 2016): `[B, H, W, C·f²]` → `[B, H·f, W·f, C]`,
 * channel `(i·f + j)·C + c` of a pixel going to sub-pixel `(i, j)`. Written as
 * reshape + transpose so its gradient exists on every backend. Undoes a
 * stride-f "patchify" stem exactly, which per-pixel targets (ε, v) need.
 * @example
 * ```ts
 * const y = new PixelShuffle({ factor: 2 }).apply(x) as tf.Tensor; // [B, 14, 14, 4] → [B, 28, 28, 1]
 * ```
 */
export class PixelShuffle extends tfl.layers.Layer {
  static readonly className = 'PixelShuffle';
  readonly factor: number;

  constructor(args: PixelShuffleArgs = {}) {
    super(args);
    this.factor = args.factor ?? 2;
  }

  override computeOutputShape(inputShape: Shape | Shape[]): Shape {
    const [b, h, w, c] = firstShape(inputShape);
    const f = this.factor;
    return [
      b,
      h === null ? null : h * f,
      w === null ? null : w * f,
      c === null ? null : c / (f * f),
    ];
  }

  override call(inputs: Inputs, _kwargs: Kwargs): tf.Tensor {
    return tf.tidy(() => {
      const x = one(inputs);
      const [b, h, w, c] = x.shape as [number, number, number, number];
      const f = this.factor;
      const split = tf.reshape(x, [b, h, w, f, f, c / (f * f)]);
      return tf.reshape(tf.transpose(split, [0, 1, 3, 2, 4, 5]), [b, h * f, w * f, c / (f * f)]);
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), factor: this.factor };
  }
}

/** Config of {@link SelfAttention2D}. */
export interface SelfAttention2DArgs extends LayerArgs {
  /** Attention heads; must divide the channels. Default 1. */
  numHeads?: number;
  /** GroupNorm groups of the pre-norm. Default 8. */
  groups?: number;
}

/**
 * Pre-norm multi-head self-attention over the pixels of `[B, H, W, C]` with a
 * residual (the DDPM / ADM attention block):
 * `y = x + proj(softmax(q kᵀ/√d) v)`, with `q, k, v` a 1×1 projection of
 * `GroupNorm(x)`. The output projection starts at zero, so the block starts
 * as the identity. Weights: `norm_gamma`, `norm_beta` [C], `qkv_kernel`
 * [C, 3C], `qkv_bias` [3C], `proj_kernel` [C, C], `proj_bias` [C].
 * @example
 * ```ts
 * const y = new SelfAttention2D({ numHeads: 4 }).apply(x) as tf.Tensor; // same shape as x
 * ```
 */
export class SelfAttention2D extends tfl.layers.Layer {
  static readonly className = 'SelfAttention2D';
  readonly numHeads: number;
  readonly groups: number;
  private w: Record<string, tfl.LayerVariable> = {};

  constructor(args: SelfAttention2DArgs = {}) {
    super(args);
    this.numHeads = args.numHeads ?? 1;
    this.groups = args.groups ?? 8;
  }

  override build(inputShape: Shape | Shape[]): void {
    const c = firstShape(inputShape).at(-1) as number;
    if (c % this.numHeads !== 0 || c % this.groups !== 0) {
      throw new SculptError(
        'SelfAttention2D.build',
        `expected channels divisible by numHeads=${this.numHeads} and groups=${this.groups}`,
        `got ${c} channels`,
      );
    }
    const glorot = tfl.initializers.glorotUniform({});
    this.w = {
      normGamma: this.addWeight('norm_gamma', [c], 'float32', tfl.initializers.ones()),
      normBeta: this.addWeight('norm_beta', [c], 'float32', tfl.initializers.zeros()),
      qkvKernel: this.addWeight('qkv_kernel', [c, 3 * c], 'float32', glorot),
      qkvBias: this.addWeight('qkv_bias', [3 * c], 'float32', tfl.initializers.zeros()),
      projKernel: this.addWeight('proj_kernel', [c, c], 'float32', tfl.initializers.zeros()),
      projBias: this.addWeight('proj_bias', [c], 'float32', tfl.initializers.zeros()),
    };
    this.built = true;
  }

  override call(inputs: Inputs, _kwargs: Kwargs): tf.Tensor {
    return tf.tidy(() => {
      const x = one(inputs);
      const [b, h, w, c] = x.shape;
      const n = h * w;
      const heads = this.numHeads;
      const r = (v: tfl.LayerVariable) => v.read();
      const normed = groupNorm(x, r(this.w.normGamma), r(this.w.normBeta), this.groups);
      const qkv = tf.add(
        tf.matMul(tf.reshape(normed, [b * n, c]), r(this.w.qkvKernel)),
        r(this.w.qkvBias),
      ); // [B·N, 3C]
      const [q, k, v] = tf.split(qkv, 3, 1).map((t) => splitHeads(t, b, n, heads));
      return attendAndAdd(
        x,
        { q, k, v },
        { kernel: r(this.w.projKernel), bias: r(this.w.projBias) },
        heads,
      );
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), numHeads: this.numHeads, groups: this.groups };
  }
}

// Registered under the package's name. tfjs-layers deserialises a topology by the bare
// className, so models saved while the prefix was `sculpt>` load unchanged.
const PACKAGE = '@sculpt/diffusion';
for (const layer of [
  GroupNormalization,
  SinusoidalEmbedding,
  ClassEmbedding,
  AddEmbedding,
  Upsample2x,
  PixelShuffle,
  SelfAttention2D,
]) {
  tf.serialization.registerClass(layer, PACKAGE);
}
