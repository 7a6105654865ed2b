// CycleGAN's generator and PatchGAN discriminator as plain functions over
// named variables (NHWC), after Zhu et al. 2017 (App. 7.2), scaled down for digits.
//
// Shapes for imageSize s, G width w, d downsamples, D width v, k D downsamples:
//   G: [s, s, C] → conv3 → [s, s, w] → (conv3/2)×d → [s/2^d, s/2^d, 2^d·w]
//      → residual blocks x + IN(conv3(relu(IN(conv3 x)))) → (nearest ×2, conv3)×d
//      → conv3 → tanh [s, s, C]
//   D: [s, s, C] → (conv4/2, leaky)×k → [s/2^k, s/2^k, 2^(k−1)·v] → conv3 → [s/2^k, s/2^k, 1]
// Instance norm (Ulyanov et al. 2016) normalises each image's channel over
// H×W, so a translation does not depend on the rest of its batch.
// Upsampling is a nearest resize then a conv (Odena et al. 2016,
// "Deconvolution and Checkerboard Artifacts"), built from concat + reshape
// so its gradient runs on every backend.
import type { Rng } from '@sculpt/core';
import * as tf from '@tensorflow/tfjs-core';
import type { Params } from '../nets.js';
import type { CycleGanConfig } from './config.js';

const SLOPE = 0.2;

/** A trainable variable holding `value` (which is disposed). */
function own(p: Params, name: string, value: tf.Tensor): void {
  p[name] = tf.variable(value, true); // unnamed: tfjs variable names are process-wide
  value.dispose();
}

function conv(p: Params, rng: Rng, name: string, k: number, cin: number, cout: number): void {
  own(p, `${name}.w`, rng.normal([k, k, cin, cout], { std: Math.sqrt(2 / (k * k * cin)) }));
  own(p, `${name}.b`, tf.zeros([cout]));
}

function norm(p: Params, name: string, channels: number): void {
  own(p, `${name}.scale`, tf.ones([channels]));
  own(p, `${name}.offset`, tf.zeros([channels]));
}

/** Widths of G's levels: `[w, 2w, 4w]` up to `downsamples`. */
function widths(c: CycleGanConfig): number[] {
  return Array.from({ length: c.downsamples + 1 }, (_, i) => c.generatorWidth * 2 ** i);
}

/** One generator's weights (He-normal convs, unit instance-norm scales). */
export function cycleGeneratorParams(c: CycleGanConfig, rng: Rng): Params {
  const p: Params = {};
  const ws = widths(c);
  const deep = ws[ws.length - 1];
  conv(p, rng, 'stem', 3, c.channels, ws[0]);
  norm(p, 'stem.in', ws[0]);
  for (let i = 1; i < ws.length; i++) {
    conv(p, rng, `down${i}`, 3, ws[i - 1], ws[i]);
    norm(p, `down${i}.in`, ws[i]);
  }
  for (let r = 0; r < c.residualBlocks; r++) {
    for (const j of [1, 2]) {
      conv(p, rng, `res${r}.c${j}`, 3, deep, deep);
      norm(p, `res${r}.in${j}`, deep);
    }
  }
  for (let i = ws.length - 1; i >= 1; i--) {
    conv(p, rng, `up${i}`, 3, ws[i], ws[i - 1]);
    norm(p, `up${i}.in`, ws[i - 1]);
  }
  conv(p, rng, 'out', 3, ws[0], c.channels);
  return p;
}

/** One PatchGAN discriminator's weights. */
export function patchDiscriminatorParams(c: CycleGanConfig, rng: Rng): Params {
  const p: Params = {};
  let cin = c.channels;
  for (let i = 1; i <= c.discriminatorDownsamples; i++) {
    const cout = c.discriminatorWidth * 2 ** (i - 1);
    conv(p, rng, `c${i}`, 4, cin, cout);
    if (i > 1) norm(p, `c${i}.in`, cout);
    cin = cout;
  }
  for (let i = 1; i <= c.discriminatorPatchLayers; i++) {
    conv(p, rng, `p${i}`, 4, cin, cin);
    norm(p, `p${i}.in`, cin);
  }
  conv(p, rng, 'out', 3, cin, 1);
  return p;
}

function applyConv(p: Params, name: string, x: tf.Tensor4D, stride: 1 | 2): tf.Tensor4D {
  const y = tf.conv2d(x, p[`${name}.w`] as tf.Tensor4D, stride, 'same');
  return tf.add(y, p[`${name}.b`]);
}

/** Instance norm with a learned per-channel scale and offset. */
export function instanceNorm(p: Params, name: string, x: tf.Tensor4D): tf.Tensor4D {
  const { mean, variance } = tf.moments(x, [1, 2], true);
  const normed = tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, 1e-5)));
  return tf.add(tf.mul(normed, p[`${name}.scale`]), p[`${name}.offset`]);
}

/** Nearest-neighbour ×2 upsampling `[B, h, w, C]` → `[B, 2h, 2w, C]` (concat + reshape). */
export function upsampleNearest(x: tf.Tensor4D): tf.Tensor4D {
  const [b, h, w, c] = x.shape;
  const cols = tf.reshape(x, [b, h, w, 1, c]);
  const wide = tf.reshape(tf.concat([cols, cols], 3), [b, h, 1, 2 * w, c]);
  return tf.reshape(tf.concat([wide, wide], 2), [b, 2 * h, 2 * w, c]);
}

/**
 * G(x): images `[B, s, s, C]` in [−1, 1] → translated images `[B, s, s, C]` in (−1, 1).
 * The caller owns the result and tidies the intermediates.
 */
export function cycleGeneratorForward(c: CycleGanConfig, p: Params, x: tf.Tensor4D): tf.Tensor4D {
  const block = (name: string, h: tf.Tensor4D, stride: 1 | 2) =>
    tf.relu(instanceNorm(p, `${name}.in`, applyConv(p, name, h, stride))) as tf.Tensor4D;
  let h = block('stem', x, 1);
  for (let i = 1; i <= c.downsamples; i++) h = block(`down${i}`, h, 2);
  for (let r = 0; r < c.residualBlocks; r++) {
    const a = tf.relu(instanceNorm(p, `res${r}.in1`, applyConv(p, `res${r}.c1`, h, 1)));
    h = tf.add(h, instanceNorm(p, `res${r}.in2`, applyConv(p, `res${r}.c2`, a as tf.Tensor4D, 1)));
  }
  for (let i = c.downsamples; i >= 1; i--) h = block(`up${i}`, upsampleNearest(h), 1);
  return tf.tanh(applyConv(p, 'out', h, 1));
}

/**
 * D(x): images `[B, s, s, C]` → per-patch scores `[B, s/2^k, s/2^k, 1]`
 * (LSGAN targets: 1 real, 0 fake). The caller tidies the intermediates.
 */
export function patchDiscriminatorForward(
  c: CycleGanConfig,
  p: Params,
  x: tf.Tensor4D,
): tf.Tensor4D {
  let h = x;
  for (let i = 1; i <= c.discriminatorDownsamples; i++) {
    const y = applyConv(p, `c${i}`, h, 2);
    h = tf.leakyRelu(i > 1 ? instanceNorm(p, `c${i}.in`, y) : y, SLOPE);
  }
  for (let i = 1; i <= c.discriminatorPatchLayers; i++) {
    h = tf.leakyRelu(instanceNorm(p, `p${i}.in`, applyConv(p, `p${i}`, h, 1)), SLOPE);
  }
  return applyConv(p, 'out', h, 1);
}
