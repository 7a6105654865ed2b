// GroupNorm (+ SiLU) as one differentiable op with a hand-written gradient.
// Autodiff of the moments → normalise → scale → shift (→ x·σ(x)) chain keeps
// ~7 full-size intermediates per call alive until the step's backward pass;
// this op keeps x and two [B, groups] statistics and recomputes x̂ (and the
// SiLU) in the gradient. Where the backend has sculpt's fused kernels
// (`FUSED_KERNELS.groupNorm`/`groupNormGrad`: @sculpt/native on wasm) each
// direction is one kernel; elsewhere the same maths runs as tfjs ops.

import { FUSED_KERNELS, hasFusedKernel, SculptError } from '@sculpt/core';
import * as tf from '@tensorflow/tfjs-core';

/** What fixes one GroupNorm op (its attrs). */
interface GroupNormSpec {
  groups: number;
  epsilon: number;
  silu: boolean;
}

type Op = (x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor) => tf.Tensor;

const ops = new Map<string, Op>();

/** Whether the fused kernels take these inputs (float32 NHWC, γ and β [C]). */
function fusable(x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor, kernel: string): boolean {
  const c = x.shape[3];
  return (
    x.rank === 4 &&
    x.size > 0 &&
    [x, gamma, beta].every((t) => t.dtype === 'float32') &&
    [gamma, beta].every((t) => t.rank === 1 && t.shape[0] === c) &&
    hasFusedKernel(kernel)
  );
}

/** Forward as tfjs ops: `[y, mean, rstd]`, the statistics [B, groups]. */
function forwardOps(
  x: tf.Tensor,
  gamma: tf.Tensor,
  beta: tf.Tensor,
  s: GroupNormSpec,
): tf.Tensor[] {
  const [b, h, w, c] = x.shape;
  const g = tf.reshape(x, [b, h, w, s.groups, c / s.groups]);
  const { mean, variance } = tf.moments(g, [1, 2, 4], true); // [B, 1, 1, G, 1]
  const rstd = tf.rsqrt(tf.add(variance, s.epsilon));
  const normed = tf.reshape(tf.mul(tf.sub(g, mean), rstd), [b, h, w, c]);
  const z = tf.add(tf.mul(normed, gamma), beta);
  const y = s.silu ? tf.mul(z, tf.sigmoid(z)) : z;
  return [y, tf.reshape(mean, [b, s.groups]), tf.reshape(rstd, [b, s.groups])];
}

/** Gradient as tfjs ops: `[dx, dγ, dβ]` from x and the saved statistics. */
function gradOps(dy: tf.Tensor, saved: tf.Tensor[], s: GroupNormSpec): tf.Tensor[] {
  const [x, gamma, beta, mean, rstd] = saved;
  const [b, h, w, c] = x.shape;
  const grouped = [b, h, w, s.groups, c / s.groups];
  const stat = (t: tf.Tensor) => tf.reshape(t, [b, 1, 1, s.groups, 1]);
  const xhat5 = tf.mul(tf.sub(tf.reshape(x, grouped), stat(mean)), stat(rstd));
  const xhat = tf.reshape(xhat5, x.shape);
  let dz = dy;
  if (s.silu) {
    const z = tf.add(tf.mul(xhat, gamma), beta);
    const sig = tf.sigmoid(z);
    dz = tf.mul(dy, tf.mul(sig, tf.add(1, tf.mul(z, tf.sub(1, sig))))); // d(z·σ(z))/dz
  }
  const gh = tf.reshape(tf.mul(dz, gamma), grouped);
  const m1 = tf.mean(gh, [1, 2, 4], true);
  const m2 = tf.mean(tf.mul(gh, xhat5), [1, 2, 4], true);
  const dx = tf.mul(tf.sub(tf.sub(gh, m1), tf.mul(xhat5, m2)), stat(rstd));
  return [tf.reshape(dx, x.shape), tf.sum(tf.mul(dz, xhat), [0, 1, 2]), tf.sum(dz, [0, 1, 2])];
}

function makeOp(s: GroupNormSpec): Op {
  const attrs = { ...s } as unknown as tf.NamedAttrMap;
  return tf.customGrad((...args: unknown[]) => {
    const save = args.pop() as tf.GradSaveFunc;
    const [x, gamma, beta] = args as tf.Tensor[];
    const [y, mean, rstd] = fusable(x, gamma, beta, FUSED_KERNELS.groupNorm)
      ? (tf.engine().runKernel(FUSED_KERNELS.groupNorm, { x, gamma, beta }, attrs) as tf.Tensor[])
      : forwardOps(x, gamma, beta, s);
    save([x, gamma, beta, mean, rstd]);
    return {
      value: y,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [xs, g, bt, m, r] = saved;
        if (!fusable(xs, g, bt, FUSED_KERNELS.groupNormGrad)) return gradOps(dy, saved, s);
        const inputs = { dy, x: xs, gamma: g, beta: bt, mean: m, rstd: r };
        return tf.engine().runKernel(FUSED_KERNELS.groupNormGrad, inputs, attrs) as tf.Tensor[];
      },
    };
  }) as unknown as Op;
}

function apply(
  x: tf.Tensor,
  gamma: tf.Tensor,
  beta: tf.Tensor,
  spec: GroupNormSpec,
  where: string,
): tf.Tensor {
  const c = x.shape[3] ?? 0;
  if (x.rank !== 4 || !Number.isInteger(spec.groups) || spec.groups < 1 || c % spec.groups !== 0) {
    throw new SculptError(
      where,
      'expected x [B, H, W, C] with C divisible by groups',
      `got x [${x.shape}], groups ${spec.groups}`,
      'pick groups that divide the channels',
    );
  }
  const key = `${spec.groups}|${spec.epsilon}|${spec.silu}`;
  let op = ops.get(key);
  if (!op) {
    op = makeOp(spec);
    ops.set(key, op);
  }
  return op(x, gamma, beta);
}

/**
 * Group normalisation over NHWC (Wu & He 2018, arXiv 1803.08494): channels
 * split into `groups`, each normalised over H, W and its channels, then a
 * learned per-channel scale γ and shift β. Differentiable, with a gradient
 * that keeps only x and the per-group statistics; one kernel each way where
 * the backend has sculpt's fused GroupNorm.
 *
 * @param x - `[B, H, W, C]`, C divisible by `groups`.
 * @returns a new `[B, H, W, C]` tensor; the caller owns it.
 * @throws SculptError when x is not 4D or `groups` does not divide C.
 * @example
 * ```ts
 * const y = groupNorm(x, gamma, beta, 8); // x: [2, 7, 7, 64]
 * ```
 */
export function groupNorm(
  x: tf.Tensor,
  gamma: tf.Tensor,
  beta: tf.Tensor,
  groups: number,
  epsilon = 1e-5,
): tf.Tensor {
  return apply(x, gamma, beta, { groups, epsilon, silu: false }, 'groupNorm');
}

/**
 * {@link groupNorm} followed by SiLU (z·σ(z)), the U-Net's norm + activation,
 * as one op (one kernel each way where the backend has sculpt's fused GroupNorm).
 *
 * @param x - `[B, H, W, C]`, C divisible by `groups`.
 * @returns a new `[B, H, W, C]` tensor; the caller owns it.
 * @throws SculptError when x is not 4D or `groups` does not divide C.
 * @example
 * ```ts
 * const h = groupNormSilu(x, gamma, beta, 8); // = silu(groupNorm(x, gamma, beta, 8))
 * ```
 */
export function groupNormSilu(
  x: tf.Tensor,
  gamma: tf.Tensor,
  beta: tf.Tensor,
  groups: number,
  epsilon = 1e-5,
): tf.Tensor {
  return apply(x, gamma, beta, { groups, epsilon, silu: true }, 'groupNormSilu');
}
