// The elementwise parts of a styled conv layer (StyleGAN2, Karras et al. 2020,
// Fig. 2c) as fused ops. Before the convolution, the modulation x·s (styles
// s [B, Cin] per image and input channel). After it, on y [B, H, W, C]:
//
//   out = leakyRelu(y·d + n·strength + b, α)·gain
//
// with the demodulation d [B, C] (eq. 3), per-pixel noise n [B, H, W, 1]
// scaled by a learned strength [1], the bias b [C], α = 0.2 and gain √2.
// Where the backend has sculpt's fused kernels (`FUSED_KERNELS.styleEpilogue`
// and `styleEpilogueGrad`: @sculpt/native on wasm) each direction is one pass
// over memory; elsewhere the same function runs as tfjs ops under autodiff.
// The modulation runs forward as one broadcast multiply and backward as one
// kernel (`FUSED_KERNELS.modulateGrad`) where the backend has it.
import { FUSED_KERNELS, hasFusedKernel } from '@sculpt/core';
import * as tf from '@tensorflow/tfjs-core';

/** Slope of the leaky ReLU for negative inputs and the gain after it (StyleGAN's). */
export const LEAKY_SLOPE = 0.2;
export const LEAKY_GAIN = Math.SQRT2;

/** The inputs of one epilogue. */
export interface StyleEpilogueInputs {
  /** The convolution's output `[B, H, W, C]`. */
  y: tf.Tensor4D;
  /** Demodulation `[B, C]`. */
  demod: tf.Tensor2D;
  /** Bias `[C]`. */
  bias: tf.Tensor;
  /** Per-pixel noise `[B, H, W, 1]` (not differentiated) and its learned strength `[1]`; none when undefined. */
  noise?: { values: tf.Tensor4D; strength: tf.Tensor };
}

const ATTRS = { alpha: LEAKY_SLOPE, gain: LEAKY_GAIN } as unknown as tf.NamedAttrMap;

/** The epilogue as tfjs ops, in the fused kernel's order of roundings. */
function epilogueOps(e: StyleEpilogueInputs): tf.Tensor4D {
  const [b, , , c] = e.y.shape;
  let z = tf.mul(e.y, tf.reshape(e.demod, [b, 1, 1, c]));
  if (e.noise) z = tf.add(z, tf.mul(e.noise.values, e.noise.strength));
  return tf.mul(tf.leakyRelu(tf.add(z, e.bias), LEAKY_SLOPE), LEAKY_GAIN);
}

/** The gradient as tfjs ops from the saved output: `[dy, ddemod, dbias, dstrength?]`. */
function gradOps(dout: tf.Tensor, out: tf.Tensor, e: StyleEpilogueInputs): tf.Tensor[] {
  const [b, , , c] = e.y.shape;
  const dz = tf.mul(tf.mul(dout, LEAKY_GAIN), tf.step(out, LEAKY_SLOPE)); // out > 0 ⇔ z > 0
  const grads = [
    tf.mul(dz, tf.reshape(e.demod, [b, 1, 1, c])),
    tf.sum(tf.mul(dz, e.y), [1, 2]),
    tf.sum(dz, [0, 1, 2]),
  ];
  if (e.noise) grads.push(tf.reshape(tf.sum(tf.mul(dz, e.noise.values)), [1]));
  return grads;
}

/** Whether an outer gradient is being recorded (a gradient of this gradient is wanted). */
function recordingTape(): boolean {
  return (tf.engine() as unknown as { isTapeOn(): boolean }).isTapeOn();
}

function fusable(e: StyleEpilogueInputs): boolean {
  const tensors = [e.y, e.demod, e.bias, e.noise?.values, e.noise?.strength];
  return (
    e.y.size > 0 &&
    tensors.every((t) => t === undefined || t.dtype === 'float32') &&
    hasFusedKernel(FUSED_KERNELS.styleEpilogue) &&
    hasFusedKernel(FUSED_KERNELS.styleEpilogueGrad)
  );
}

/** One fused kernel each way; the tfjs ops of the gradient when a higher-order gradient is recorded. */
function fused(e: StyleEpilogueInputs): tf.Tensor4D {
  const noise = e.noise?.values;
  const op = tf.customGrad((...args: unknown[]) => {
    const save = args.pop() as tf.GradSaveFunc;
    const [y, demod, bias, strength] = args as tf.Tensor[];
    const inputs: tf.NamedTensorMap = noise
      ? { y, demod, bias, noise, strength }
      : { y, demod, bias };
    const out = tf.engine().runKernel(FUSED_KERNELS.styleEpilogue, inputs, ATTRS) as tf.Tensor4D;
    save(noise ? [out, y, demod, noise] : [out, y, demod]);
    return {
      value: out,
      gradFunc: (dout: tf.Tensor, saved: tf.Tensor[]) => backward(dout, saved, e),
    };
  });
  const args = [e.y, e.demod, e.bias, ...(e.noise ? [e.noise.strength] : [])];
  return (op as (...t: tf.Tensor[]) => tf.Tensor)(...args) as tf.Tensor4D;
}

/** The fused gradient from the saved [out, y, demod, noise?], or tfjs ops under an outer tape. */
function backward(dout: tf.Tensor, saved: tf.Tensor[], e: StyleEpilogueInputs): tf.Tensor[] {
  const [out, y, demod, noise] = saved;
  if (recordingTape()) {
    const strength = e.noise?.strength as tf.Tensor;
    return gradOps(dout, out, {
      y: y as tf.Tensor4D,
      demod: demod as tf.Tensor2D,
      bias: e.bias,
      noise: noise ? { values: noise as tf.Tensor4D, strength } : undefined,
    });
  }
  const inputs: tf.NamedTensorMap = noise
    ? { dout, out, y, demod, noise }
    : { dout, out, y, demod };
  return tf.engine().runKernel(FUSED_KERNELS.styleEpilogueGrad, inputs, ATTRS) as tf.Tensor[];
}

/**
 * A styled conv layer's epilogue: leakyRelu(y·d + n·strength + b, 0.2)·√2,
 * differentiable in y, d, b and the strength (the noise is an input, not a
 * parameter). One kernel each way where the backend has sculpt's fused
 * epilogue (@sculpt/native on wasm), the same function as tfjs ops elsewhere.
 *
 * @returns a new `[B, H, W, C]` tensor; the caller owns it.
 * @example
 * ```ts
 * const out = styleEpilogue({ y, demod, bias, noise: { values: n, strength } }); // y: [64, 28, 28, 16]
 * ```
 */
export function styleEpilogue(e: StyleEpilogueInputs): tf.Tensor4D {
  return fusable(e) ? fused(e) : epilogueOps(e);
}

/** The modulation's gradient as tfjs ops: `[dx, dstyles]`. */
function modulateGradOps(dy: tf.Tensor, x: tf.Tensor, styles: tf.Tensor): tf.Tensor[] {
  const [b, , , c] = x.shape;
  return [tf.mul(dy, tf.reshape(styles, [b, 1, 1, c])), tf.sum(tf.mul(dy, x), [1, 2])];
}

function modulateOps(x: tf.Tensor, styles: tf.Tensor): tf.Tensor4D {
  const [b, c] = styles.shape;
  return tf.mul(x, tf.reshape(styles, [b, 1, 1, c]));
}

/**
 * StyleGAN2's modulation x·s (eq. 1, applied to the input instead of the
 * weights): x `[B, H, W, C]` (or `[1, H, W, C]`, broadcast over the batch)
 * scaled per image and channel by styles `[B, C]`.
 * Differentiable in both; its gradient is one kernel where the backend has
 * sculpt's fused `modulateGrad` (@sculpt/native on wasm), tfjs ops elsewhere.
 *
 * @returns a new `[B, H, W, C]` tensor; the caller owns it.
 * @example
 * ```ts
 * const xs = modulate(x, styles); // x: [64, 14, 14, 32], styles: [64, 32]
 * ```
 */
export function modulate(x: tf.Tensor4D, styles: tf.Tensor2D): tf.Tensor4D {
  const fusable =
    x.size > 0 &&
    x.shape[0] === styles.shape[0] &&
    x.dtype === 'float32' &&
    styles.dtype === 'float32' &&
    hasFusedKernel(FUSED_KERNELS.modulateGrad);
  if (!fusable) return modulateOps(x, styles);
  const op = tf.customGrad((...args: unknown[]) => {
    const save = args.pop() as tf.GradSaveFunc;
    const [xs, s] = args as tf.Tensor[];
    save([xs, s]);
    const gradFunc = (dy: tf.Tensor, [xx, ss]: tf.Tensor[]) =>
      recordingTape()
        ? modulateGradOps(dy, xx, ss)
        : (tf
            .engine()
            .runKernel(FUSED_KERNELS.modulateGrad, { dy, x: xx, styles: ss }) as tf.Tensor[]);
    return { value: modulateOps(xs, s), gradFunc };
  });
  return (op as (a: tf.Tensor, b: tf.Tensor) => tf.Tensor)(x, styles) as tf.Tensor4D;
}

const DEMOD_EPSILON = 1e-8;

/** d as tfjs ops (autodiff differentiates them). */
function demodulationOps(styles: tf.Tensor, filter: tf.Tensor): tf.Tensor2D {
  const energy = tf.sum(tf.square(filter), [0, 1]) as tf.Tensor2D; // [Cin, Cout]
  return tf.rsqrt(tf.add(tf.matMul(tf.square(styles) as tf.Tensor2D, energy), DEMOD_EPSILON));
}

/**
 * d's gradient as tfjs ops: t = dd·d³, dstyles = −s·(t·Eᵀ), dfilter = −w·(s²ᵀ·t).
 * d is recomputed from s and w: the saved output's clone is taped before the
 * op that makes d, so a gradient through it would be lost.
 */
function demodulationGradOps(dd: tf.Tensor, [s, w]: tf.Tensor[]): tf.Tensor[] {
  const d = demodulationOps(s, w);
  const t = tf.mul(dd, tf.mul(tf.square(d), d)) as tf.Tensor2D;
  const energy = tf.sum(tf.square(w), [0, 1]) as tf.Tensor2D;
  const ds = tf.neg(tf.mul(s, tf.matMul(t, energy, false, true)));
  const m = tf.matMul(tf.square(s) as tf.Tensor2D, t, true, false); // [Cin, Cout]
  return [ds, tf.neg(tf.mul(w, m))];
}

/**
 * StyleGAN2's demodulation factors (eq. 3): d_bo = 1/sqrt(Σ_i s_bi² Σ_k w_kio² + 1e-8)
 * from styles `[B, Cin]` and the (scaled) filter `[kh, kw, Cin, Cout]`.
 * Differentiable in both; one kernel each way where the backend has sculpt's
 * fused `demodulate` (@sculpt/native on wasm), tfjs ops elsewhere.
 *
 * @returns d `[B, Cout]`; the caller owns it.
 * @example
 * ```ts
 * const d = demodulation(styles, filter); // styles: [64, 32], filter: [3, 3, 32, 16] → [64, 16]
 * ```
 */
export function demodulation(styles: tf.Tensor2D, filter: tf.Tensor4D): tf.Tensor2D {
  const fusable =
    styles.size > 0 &&
    filter.size > 0 &&
    styles.dtype === 'float32' &&
    filter.dtype === 'float32' &&
    hasFusedKernel(FUSED_KERNELS.demodulate) &&
    hasFusedKernel(FUSED_KERNELS.demodulateGrad);
  if (!fusable) return demodulationOps(styles, filter);
  const op = tf.customGrad((...args: unknown[]) => {
    const save = args.pop() as tf.GradSaveFunc;
    const [s, w] = args as tf.Tensor[];
    const attrs = { epsilon: DEMOD_EPSILON } as unknown as tf.NamedAttrMap;
    const d = tf
      .engine()
      .runKernel(FUSED_KERNELS.demodulate, { styles: s, filter: w }, attrs) as tf.Tensor;
    save([s, w, d]);
    const gradFunc = (dd: tf.Tensor, saved: tf.Tensor[]) => {
      if (recordingTape()) return demodulationGradOps(dd, saved);
      const [ss, ws, ds] = saved;
      const inputs = { dd, styles: ss, filter: ws, d: ds };
      return tf.engine().runKernel(FUSED_KERNELS.demodulateGrad, inputs) as tf.Tensor[];
    };
    return { value: d, gradFunc };
  });
  return (op as (a: tf.Tensor, b: tf.Tensor) => tf.Tensor)(styles, filter) as tf.Tensor2D;
}
