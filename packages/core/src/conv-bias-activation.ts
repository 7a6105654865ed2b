// A 2D convolution with its bias and activation as one differentiable op.
//
// Autodiff of conv → add bias → activation runs the conv's two gradients plus
// ~3–6 elementwise passes over the output (the activation's mask, its
// product with dy, the bias's sum) and keeps the pre-activation alive. Here
// the forward is one `tf.fused.conv2d` and the gradient is written by hand:
//   y = act(conv(x, W) + b),  slope(y) = y > 0 ? 1 : α   (α = 0: relu; linear: 1)
//   dz = dy·slope(y),  db = Σ_{B,H,W} dz,  dx = convᵀ(dz, W),  dW = patches(x)ᵀ·dz
// (y > 0 ⇔ z > 0 for α ≥ 0, so the saved output is enough.) Where the backend
// has `FUSED_KERNELS.biasActivationGrad` (@sculpt/native on wasm), dz and db
// are one kernel; elsewhere tfjs ops compute the same function. Every op of
// the gradient has a gradient of its own, so penalties that differentiate a
// gradient (R1, WGAN-GP) still work.
import * as tf from '@tensorflow/tfjs-core';
import { SculptError } from './errors.js';
import { FUSED_KERNELS, hasFusedKernel } from './fused.js';

/** The activations {@link conv2dBiasActivation} fuses. */
export type ConvActivation = 'linear' | 'relu' | 'leakyrelu';

/** Options of {@link conv2dBiasActivation}. */
export interface Conv2dBiasActivationOptions {
  /** Strides, one for both axes or `[h, w]`. Default `1`. */
  strides?: number | [number, number];
  /** `'same'` or `'valid'`. Default `'same'`. */
  pad?: 'same' | 'valid';
  /** Default `'linear'`. */
  activation?: ConvActivation;
  /** The negative slope of `'leakyrelu'`, ≥ 0. Default `0.2`. */
  alpha?: number;
}

/** The frozen attrs of one op (its strides, padding and activation). */
interface Spec {
  strides: [number, number];
  pad: 'same' | 'valid';
  activation: ConvActivation;
  alpha: number;
}

type Op = (x: tf.Tensor4D, filter: tf.Tensor4D, bias: tf.Tensor1D) => tf.Tensor4D;

/** The slope attr: 1 for linear (dz = dy), 0 for relu, α for leakyrelu. */
const slopeOf = (s: Spec): number =>
  s.activation === 'linear' ? 1 : s.activation === 'relu' ? 0 : s.alpha;

/** [dz, db] as tfjs ops: dz = dy·slope(y), db = Σ_{B,H,W} dz. */
function biasActivationGradOps(dy: tf.Tensor, y: tf.Tensor, slope: number): tf.Tensor[] {
  const dz = slope === 1 ? dy : tf.mul(dy, tf.step(y, slope));
  return [dz, tf.sum(dz, [0, 1, 2])];
}

/**
 * The gradient of the fused kernel itself (for a gradient of a gradient):
 * ∂/∂dy of (dz, db) is slope(y) applied to (g_dz + g_db broadcast); y's is 0
 * (slope(y) is piecewise constant).
 */
function registerBiasActivationGradGradient(): void {
  const kernelName = FUSED_KERNELS.biasActivationGrad;
  if (tf.getGradient(kernelName) !== undefined) return;
  tf.registerGradient({
    kernelName,
    inputsToSave: ['y'],
    gradFunc: (dys, saved, attrs) => {
      const [gz, gb] = dys as tf.Tensor[];
      const [y] = saved;
      const { alpha } = attrs as unknown as { alpha: number };
      const g = tf.add(gz, gb);
      return {
        dy: () => (alpha === 1 ? g : tf.mul(g, tf.step(y, alpha))),
        y: () => tf.zerosLike(y),
      };
    },
  });
}

function biasActivationGrad(dy: tf.Tensor, y: tf.Tensor, slope: number): tf.Tensor[] {
  const fused =
    slope !== 1 && dy.dtype === 'float32' && hasFusedKernel(FUSED_KERNELS.biasActivationGrad);
  if (!fused) return biasActivationGradOps(dy, y, slope);
  registerBiasActivationGradGradient();
  const attrs = { alpha: slope } as unknown as tf.NamedAttrMap;
  return tf.engine().runKernel(FUSED_KERNELS.biasActivationGrad, { dy, y }, attrs) as tf.Tensor[];
}

/**
 * The engine entry that `tf.customGrad` runs on, taking per-input gradient
 * functions: the tape calls only those of inputs on a path to what is
 * differentiated (customGrad computes every gradient eagerly, e.g. the input
 * gradient of a first layer over data). Private in tfjs 4.22's types, its
 * last release.
 */
interface GradEngine {
  runKernelFunc(params: {
    forwardFunc: (backend: unknown, save: tf.GradSaveFunc) => tf.Tensor;
    backwardsFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => Record<string, () => tf.Tensor>;
    inputs: tf.NamedTensorMap;
  }): tf.Tensor;
}

function makeOp(s: Spec): Op {
  const slope = slopeOf(s);
  const conv = { strides: s.strides, pad: s.pad, dataFormat: 'NHWC', dilations: 1 };
  const forwardAttrs = { ...conv, activation: s.activation, leakyreluAlpha: s.alpha };
  return (x, filter, bias) =>
    (tf.engine() as unknown as GradEngine).runKernelFunc({
      inputs: { x, filter, bias },
      forwardFunc: (_, save) => {
        const inputs = { x, filter, bias };
        const attrs = forwardAttrs as unknown as tf.NamedAttrMap;
        const y = tf.engine().runKernel('FusedConv2D', inputs, attrs) as tf.Tensor4D;
        save([x, filter, y]);
        return y;
      },
      backwardsFunc: (dy, saved) => {
        const [xs, w, y] = saved as tf.Tensor4D[];
        const [dz, db] = biasActivationGrad(dy, y, slope) as [tf.Tensor4D, tf.Tensor1D];
        const attrs = { ...conv, filterShape: w.shape } as unknown as tf.NamedAttrMap;
        return {
          x: () => tf.conv2dTranspose(dz, w, xs.shape, s.strides, s.pad),
          filter: () =>
            tf.engine().runKernel('Conv2DBackpropFilter', { x: xs, dy: dz }, attrs) as tf.Tensor,
          bias: () => db,
        };
      },
    }) as tf.Tensor4D;
}

const ops = new Map<string, Op>();

function check(x: tf.Tensor, filter: tf.Tensor, bias: tf.Tensor, s: Spec): void {
  const co = filter.shape[3];
  const fits =
    x.rank === 4 &&
    filter.rank === 4 &&
    x.shape[3] === filter.shape[2] &&
    bias.rank === 1 &&
    bias.shape[0] === co &&
    [x, filter, bias].every((t) => t.dtype === 'float32');
  if (!fits) {
    throw new SculptError(
      'conv2dBiasActivation',
      'expected float32 x [B, H, W, C], filter [kh, kw, C, Cout] and bias [Cout]',
      `got x ${x.dtype} [${x.shape}], filter ${filter.dtype} [${filter.shape}], bias ${bias.dtype} [${bias.shape}]`,
      'reshape or cast the inputs so that the channels agree',
    );
  }
  if (!['linear', 'relu', 'leakyrelu'].includes(s.activation) || !(s.alpha >= 0)) {
    throw new SculptError(
      'conv2dBiasActivation',
      "expected activation 'linear', 'relu' or 'leakyrelu' with alpha ≥ 0",
      `got ${String(s.activation)}, alpha ${s.alpha}`,
      'pick one of the three, or apply other activations after a linear conv',
    );
  }
}

/**
 * act(conv2d(x, filter) + bias) as one op: one `tf.fused.conv2d` forward,
 * and a hand-written gradient that turns dy into the pre-activation's
 * gradient and the bias's in one pass (one kernel where the backend has
 * `FUSED_KERNELS.biasActivationGrad`), then the conv's input and filter
 * gradients. The same function as the tfjs ops on every backend, twice
 * differentiable (gradient penalties work through it).
 *
 * @param x - `[B, H, W, C]` float32 (NHWC).
 * @param filter - `[kh, kw, C, Cout]` (HWIO).
 * @param bias - `[Cout]`.
 * @param options - `strides` (default 1), `pad` (default `'same'`),
 *   `activation` (default `'linear'`), `alpha` (leakyrelu's slope, default 0.2).
 * @returns a new `[B, H', W', Cout]` tensor; the caller owns it.
 * @throws SculptError when shapes or dtypes do not fit, or the activation is not one of the three.
 * @example
 * ```ts
 * const h = conv2dBiasActivation(x, w, b, { strides: 2, activation: 'leakyrelu', alpha: 0.2 });
 * // = tf.leakyRelu(tf.add(tf.conv2d(x, w, 2, 'same'), b), 0.2)
 * ```
 */
export function conv2dBiasActivation(
  x: tf.Tensor4D,
  filter: tf.Tensor4D,
  bias: tf.Tensor1D,
  options: Conv2dBiasActivationOptions = {},
): tf.Tensor4D {
  const { strides = 1, pad = 'same', activation = 'linear', alpha = 0.2 } = options;
  const spec: Spec = {
    strides: typeof strides === 'number' ? [strides, strides] : strides,
    pad,
    activation,
    alpha,
  };
  check(x, filter, bias, spec);
  const key = `${spec.strides}|${pad}|${activation}|${alpha}`;
  let op = ops.get(key);
  if (!op) {
    op = makeOp(spec);
    ops.set(key, op);
  }
  return op(x, filter, bias);
}
