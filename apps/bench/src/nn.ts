/**
 * The layers the benchmark models are built from, as plain functions over
 * explicit parameters (the way torch_bench.py builds the same models), in
 * NHWC. Dense and conv layers use tfjs's fused ops (bias + activation in one
 * kernel), as `tf.layers` does.
 */

import type { Rng } from '@sculpt/core';
import { groupNormSilu as diffusionGroupNormSilu } from '@sculpt/diffusion';
import * as tf from '@tensorflow/tfjs-core';
import { SculptAdam } from './optim.js';

/** A named set of trainable variables. */
export type Params = Record<string, tf.Variable>;

/** Adds `name` to `params`: a variable of normal noise (He-scaled for `fanIn` inputs, or of `std`), or a constant fill. */
export function param(
  params: Params,
  rng: Rng,
  name: string,
  shape: number[],
  init: { fanIn: number } | { std: number } | { fill: number },
): void {
  let value: tf.Tensor;
  if ('fill' in init) value = tf.fill(shape, init.fill);
  else if ('std' in init) value = rng.normal(shape, { std: init.std });
  else value = rng.normal(shape, { std: Math.sqrt(2 / init.fanIn) });
  params[name] = tf.variable(value, true); // unnamed: tfjs names must be unique process-wide
  value.dispose();
}

/** A dense layer `prefix.w` [in, out] (+ `prefix.b`). */
export function denseParams(
  params: Params,
  rng: Rng,
  prefix: string,
  inputs: number,
  units: number,
  bias = true,
): void {
  param(params, rng, `${prefix}.w`, [inputs, units], { fanIn: inputs });
  if (bias) param(params, rng, `${prefix}.b`, [units], { fill: 0 });
}

/** A conv layer `prefix.w` [k, k, in, out] (+ `prefix.b`); for a transposed conv pass `transposed`. */
export function convParams(
  params: Params,
  rng: Rng,
  prefix: string,
  kernel: number,
  inputs: number,
  outputs: number,
  options: { bias?: boolean; transposed?: boolean } = {},
): void {
  const shape = options.transposed
    ? [kernel, kernel, outputs, inputs] // conv2dTranspose filters are [k, k, out, in]
    : [kernel, kernel, inputs, outputs];
  param(params, rng, `${prefix}.w`, shape, { fanIn: kernel * kernel * inputs });
  if (options.bias ?? true) param(params, rng, `${prefix}.b`, [outputs], { fill: 0 });
}

/** Normalisation scale and shift `prefix.g`, `prefix.b` of `channels`. */
export function normParams(params: Params, rng: Rng, prefix: string, channels: number): void {
  param(params, rng, `${prefix}.g`, [channels], { fill: 1 });
  param(params, rng, `${prefix}.b`, [channels], { fill: 0 });
}

/**
 * x·W + b, with ReLU fused when asked (tfjs can differentiate only 'relu' and
 * 'linear' fused activations; others are separate ops).
 */
export function dense(p: Params, prefix: string, x: tf.Tensor2D, activation?: 'relu'): tf.Tensor2D {
  const b = p[`${prefix}.w`] as tf.Tensor2D;
  return tf.fused.matMul({ a: x, b, bias: p[`${prefix}.b`], activation }) as tf.Tensor2D;
}

/** A 'same'-padded conv with its bias (when present) and an optional ReLU fused. */
export function conv(
  p: Params,
  prefix: string,
  x: tf.Tensor4D,
  stride: number,
  activation?: 'relu',
): tf.Tensor4D {
  return tf.fused.conv2d({
    x,
    filter: p[`${prefix}.w`] as tf.Tensor4D,
    strides: stride,
    pad: 'same',
    bias: p[`${prefix}.b`],
    activation,
  });
}

/** A stride-2, 'same'-padded transposed conv (doubles height and width), plus bias when present. */
export function convTranspose2x(p: Params, prefix: string, x: tf.Tensor4D): tf.Tensor4D {
  const w = p[`${prefix}.w`] as tf.Tensor4D;
  const [batch, height, width] = x.shape;
  const y = tf.conv2dTranspose(x, w, [batch, 2 * height, 2 * width, w.shape[2]], 2, 'same');
  const b = p[`${prefix}.b`];
  return b ? tf.add(y, b) : y;
}

/** Batch normalisation in training mode: statistics of this batch over all axes but the last. */
export function batchNorm(p: Params, prefix: string, x: tf.Tensor): tf.Tensor {
  const axes = x.shape.slice(0, -1).map((_, i) => i);
  const { mean, variance } = tf.moments(x, axes);
  return tf.batchNorm(x, mean, variance, p[`${prefix}.b`], p[`${prefix}.g`], 1e-5);
}

/** Layer normalisation over the last axis. */
export function layerNorm(p: Params, prefix: string, x: tf.Tensor): tf.Tensor {
  const { mean, variance } = tf.moments(x, -1, true);
  const normalised = tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, 1e-5)));
  return tf.add(tf.mul(normalised, p[`${prefix}.g`]), p[`${prefix}.b`]);
}

/**
 * SiLU(GroupNorm(x)) of NHWC `x` with `groups` groups (torch's GroupNorm then
 * SiLU) as @sculpt/diffusion's one op: its own gradient, and sculpt's fused
 * kernel on wasm with @sculpt/native.
 */
export function groupNormSilu(
  p: Params,
  prefix: string,
  x: tf.Tensor4D,
  groups: number,
): tf.Tensor4D {
  return diffusionGroupNormSilu(x, p[`${prefix}.g`], p[`${prefix}.b`], groups) as tf.Tensor4D;
}

/** GELU, tanh approximation (torch's `approximate='tanh'`). */
export function gelu(x: tf.Tensor): tf.Tensor {
  const inner = tf.mul(tf.add(x, tf.mul(tf.pow(x, 3), 0.044715)), Math.sqrt(2 / Math.PI));
  return tf.mul(tf.mul(x, 0.5), tf.add(tf.tanh(inner), 1));
}

/** One optimiser step on `loss` over `vars`; returns the loss (caller owns it). */
export function minimize(
  optimizer: tf.Optimizer,
  loss: () => tf.Scalar,
  vars: tf.Variable[],
): tf.Scalar {
  const value = optimizer.minimize(loss, true, vars);
  if (value === null) throw new Error('minimize returned no loss');
  return value;
}

/**
 * AdamW (Loshchilov & Hutter): decoupled weight decay `w ← w·(1 − lr·λ)` on
 * `decayed`, then an Adam step on all of `vars` (torch.optim.AdamW's order).
 * tfjs has no AdamW; this is what a user would write.
 */
export function adamWStep(
  adam: tf.Optimizer,
  learningRate: number,
  weightDecay: number,
  loss: () => tf.Scalar,
  vars: tf.Variable[],
  decayed: tf.Variable[],
): tf.Scalar {
  const { value, grads } = tf.variableGrads(loss, vars);
  // sculpt's adamW (optim.ts) decays in its own update.
  if (!(adam instanceof SculptAdam))
    tf.tidy(() => {
      for (const v of decayed) v.assign(tf.mul(v, 1 - learningRate * weightDecay));
    });
  // applyGradients is typed for variables but takes the gradient tensors by variable name.
  adam.applyGradients(grads as unknown as Record<string, tf.Variable>);
  tf.dispose(grads);
  return value;
}
