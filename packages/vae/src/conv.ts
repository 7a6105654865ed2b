// Conv encoder / decoder bodies over plain tf.Variables, shared by the conv
// VAE and the VQ-VAE:
//   encoder: [3×3 conv, stride 2, ReLU] per width   28 → 14 → 7
//   decoder: [nearest 2× upsample, 3×3 conv, ReLU]   7 → 14 → 28 (resize-conv:
//            no checkerboard artefacts, and only forward-conv kernels forward)
// Each conv runs with its bias and ReLU as one op (core's conv2dBiasActivation:
// one fused conv forward; the activation's and bias's gradients in one pass).
// On wasm the conv gradients come from @sculpt/backend's backprop kernels
// (and @sculpt/native's when it is registered).
import { type ConvActivation, conv2dBiasActivation, type Rng } from '@sculpt/core';
import * as tf from '@tensorflow/tfjs-core';

/** Named trainable weights of a model. */
export type Params = Record<string, tf.Variable>;

// tf.variable keeps its initial tensor alive: tidy frees it (variables survive tidy).
const variable = (init: () => tf.Tensor): tf.Variable => tf.tidy(() => tf.variable(init(), true));

/** Adds a Glorot-uniform `[fanIn, fanOut]` dense layer `name/{w,b}` to `p`. */
export function addDense(p: Params, rng: Rng, name: string, fanIn: number, fanOut: number): void {
  const limit = Math.sqrt(6 / (fanIn + fanOut));
  p[`${name}/w`] = variable(() =>
    tf.tensor2d(rng.uniformArray(fanIn * fanOut, -limit, limit), [fanIn, fanOut]),
  );
  p[`${name}/b`] = variable(() => tf.zeros([fanOut]));
}

/** Adds a Glorot-uniform `[k, k, cIn, cOut]` conv `name/{w,b}` to `p`. */
export function addConv(p: Params, rng: Rng, name: string, cIn: number, cOut: number, k = 3): void {
  const limit = Math.sqrt(6 / (k * k * (cIn + cOut)));
  p[`${name}/w`] = variable(() =>
    tf.tensor4d(rng.uniformArray(k * k * cIn * cOut, -limit, limit), [k, k, cIn, cOut]),
  );
  p[`${name}/b`] = variable(() => tf.zeros([cOut]));
}

/** x·W + b: `[B, in] → [B, out]`. */
export function dense(p: Params, name: string, x: tf.Tensor2D): tf.Tensor2D {
  return tf.add(tf.matMul(x, p[`${name}/w`]), p[`${name}/b`]);
}

/** Options of {@link conv}. */
export interface ConvOptions {
  /** Default 1. */
  stride?: number;
  /** Default `'linear'`. */
  activation?: ConvActivation;
}

/** act('same' conv + bias): `[B, H, W, cIn] → [B, H/stride, W/stride, cOut]`. */
export function conv(
  p: Params,
  name: string,
  x: tf.Tensor4D,
  options: ConvOptions = {},
): tf.Tensor4D {
  const { stride = 1, activation = 'linear' } = options;
  const w = p[`${name}/w`] as tf.Tensor4D;
  const b = p[`${name}/b`] as tf.Tensor1D;
  return conv2dBiasActivation(x, w, b, { strides: stride, pad: 'same', activation });
}

/**
 * Nearest-neighbour 2× upsampling: `[B, H, W, C] → [B, 2H, 2W, C]`, y[b, i, j] = x[b, ⌊i/2⌋, ⌊j/2⌋].
 * One `ResizeNearestNeighbor` kernel forward and one `ResizeNearestNeighborGrad` backward
 * (alignCorners and halfPixelCenters off: source index ⌊i·H/2H⌋ = ⌊i/2⌋ exactly); on tfjs's cpu
 * backend a broadcast multiply (see the comment inside).
 */
export function upsample2x(x: tf.Tensor4D): tf.Tensor4D {
  const [b, h, w, c] = x.shape;
  if (tf.getBackend() === 'cpu') {
    // tfjs-backend-cpu 4.22's ResizeNearestNeighborGrad is wrong for batch > 1 (unless
    // @sculpt/backend's initBackend('cpu') replaced it): a broadcast multiply there instead,
    // [B, H, 1, W, 1, C] · ones[1, 1, 2, 1, 2, 1], whose gradient is a sum and a reshape.
    const wide = tf.mul(tf.reshape(x, [b, h, 1, w, 1, c]), tf.ones([1, 1, 2, 1, 2, 1]));
    return tf.reshape(wide, [b, 2 * h, 2 * w, c]);
  }
  return tf.image.resizeNearestNeighbor(x, [2 * h, 2 * w]);
}

/** Adds the conv encoder body `enc/conv{i}` for `channels` (image channels `cIn`). */
export function addConvEncoder(p: Params, rng: Rng, cIn: number, channels: number[]): void {
  channels.forEach((c, i) => {
    addConv(p, rng, `enc/conv${i}`, i === 0 ? cIn : channels[i - 1], c);
  });
}

/** The encoder body: one stride-2 conv + ReLU per width, `[B, H, W, C] → [B, H/2ⁿ, W/2ⁿ, c_last]`. */
export function convEncoder(p: Params, x: tf.Tensor4D, depth: number): tf.Tensor4D {
  let h = x;
  for (let i = 0; i < depth; i++) h = conv(p, `enc/conv${i}`, h, { stride: 2, activation: 'relu' });
  return h;
}

/**
 * Adds the mirrored decoder body `dec/conv{i}`: from `channels` reversed down
 * to `cOut` image channels (the last conv has no ReLU: it emits raw outputs).
 */
export function addConvDecoder(p: Params, rng: Rng, cOut: number, channels: number[]): void {
  const widths = [...channels].reverse();
  widths.forEach((c, i) => {
    addConv(p, rng, `dec/conv${i}`, c, widths[i + 1] ?? cOut);
  });
}

/** The decoder body: per level a 2× upsample and a 3×3 conv, `[B, h, w, c_last] → [B, h·2ⁿ, w·2ⁿ, cOut]`. */
export function convDecoder(p: Params, h0: tf.Tensor4D, depth: number): tf.Tensor4D {
  let h = h0;
  for (let i = 0; i < depth; i++) {
    const activation = i < depth - 1 ? 'relu' : 'linear';
    h = conv(p, `dec/conv${i}`, upsample2x(h), { activation });
  }
  return h;
}
