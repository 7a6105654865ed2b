// Cross-attention from a feature map to a context sequence (Rombach et al.
// 2022, "High-Resolution Image Synthesis with Latent Diffusion Models", §3.3):
// queries from the GroupNorm'd pixels, keys and values from the context (a
// text encoding), padding keys masked out, output projected (zero-initialised,
// so the block starts as the identity) and added back to the feature map.
import { SculptError } from '@sculpt/core';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { attendAndAdd, splitHeads } from './attention-ops.js';
import { groupNorm, type LayerArgs } from './layers.js';

/** Config of {@link CrossAttention2D}. */
export interface CrossAttention2DArgs extends LayerArgs {
  /** Attention heads (divides the channels). Default 1. */
  numHeads?: number;
  /** GroupNorm groups before the queries. Default 8. */
  groups?: number;
}

/** Added to the scores of masked keys: exp(−1e9) is 0 in float32. */
const MASKED = -1e9;

/**
 * Cross-attention block: inputs `[x [B, H, W, C], context [B, L, D], mask [B, L]]`
 * (mask 1 = a real token, 0 = padding); output x + attention(x → context), same shape as x.
 *
 * @example
 * ```ts
 * const y = new CrossAttention2D({ numHeads: 2 }).apply([x, context, mask]) as tf.Tensor;
 * ```
 */
export class CrossAttention2D extends tfl.layers.Layer {
  static readonly className = 'CrossAttention2D';
  readonly numHeads: number;
  readonly groups: number;
  private w: Record<string, tfl.LayerVariable> = {};

  constructor(args: CrossAttention2DArgs = {}) {
    super(args);
    this.numHeads = args.numHeads ?? 1;
    this.groups = args.groups ?? 8;
  }

  override build(inputShape: tfl.Shape | tfl.Shape[]): void {
    const [xShape, ctxShape] = inputShape as tfl.Shape[];
    const c = xShape.at(-1) as number;
    const dc = ctxShape.at(-1) as number;
    if (c % this.numHeads !== 0 || c % this.groups !== 0) {
      throw new SculptError(
        'CrossAttention2D.build',
        `expected channels divisible by numHeads=${this.numHeads} and groups=${this.groups}`,
        `got ${c} channels`,
      );
    }
    const glorot = tfl.initializers.glorotUniform({});
    const zeros = tfl.initializers.zeros();
    this.w = {
      normGamma: this.addWeight('norm_gamma', [c], 'float32', tfl.initializers.ones()),
      normBeta: this.addWeight('norm_beta', [c], 'float32', zeros),
      qKernel: this.addWeight('q_kernel', [c, c], 'float32', glorot),
      kvKernel: this.addWeight('kv_kernel', [dc, 2 * c], 'float32', glorot),
      projKernel: this.addWeight('proj_kernel', [c, c], 'float32', zeros),
      projBias: this.addWeight('proj_bias', [c], 'float32', zeros),
    };
    this.built = true;
  }

  override computeOutputShape(inputShape: tfl.Shape | tfl.Shape[]): tfl.Shape {
    return (inputShape as tfl.Shape[])[0];
  }

  override call(inputs: tf.Tensor | tf.Tensor[], _kwargs: Record<string, unknown>): tf.Tensor {
    return tf.tidy(() => {
      const [x, context, mask] = inputs as tf.Tensor[];
      const [b, h, w, c] = x.shape;
      const [n, l, heads] = [h * w, context.shape[1] as number, this.numHeads];
      const r = (v: tfl.LayerVariable) => v.read();
      const normed = groupNorm(x, r(this.w.normGamma), r(this.w.normBeta), this.groups);
      const q = splitHeads(
        tf.matMul(tf.reshape(normed, [b * n, c]), r(this.w.qKernel)),
        b,
        n,
        heads,
      );
      const kv = tf.matMul(tf.reshape(context, [b * l, -1]), r(this.w.kvKernel)); // [B·L, 2C]
      const [k, v] = tf.split(kv, 2, 1).map((t) => splitHeads(t, b, l, heads));
      // Padding keys get −1e9 before the softmax: [B, L] → [B·heads, 1, L].
      const bias = tf.mul(tf.sub(1, tf.cast(mask, 'float32')), MASKED);
      const biasHeads = tf.reshape(tf.tile(tf.reshape(bias, [b, 1, l]), [1, heads, 1]), [
        b * heads,
        1,
        l,
      ]);
      const proj = { kernel: r(this.w.projKernel), bias: r(this.w.projBias) };
      return attendAndAdd(x, { q, k, v, bias: biasHeads }, proj, heads);
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), numHeads: this.numHeads, groups: this.groups };
  }
}

tf.serialization.registerClass(CrossAttention2D, '@sculpt/diffusion');
