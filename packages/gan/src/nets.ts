// The DCGAN generator and discriminator as plain functions over named
// variables (NHWC), with the conditional parts and spectral normalisation.
//
// Shapes for imageSize s, G width w_g, D width w_d, K classes:
//   G: [z ‖ E_y] → dense → [s/4, s/4, 2w_g] → up ×2 → [s/2, s/2, w_g] → up ×2 → tanh [s, s, C]
//   D: [s, s, C] → conv/2 → [s/2, s/2, w_d] → conv/2 → [s/4, s/4, 2w_d] → φ(x) ∈ R^F
//      D(x, y) = wᵀφ(x) + b + ⟨V_y, φ(x)⟩   (projection D, Miyato & Koyama 2018, eq. 3)
//      class head (auxiliaryClassifier): C(x) = Uᵀφ(x) + c ∈ R^K   (AC-GAN, Odena et al. 2017)
// G normalises with pixel norm (Karras et al. 2018, eq. 1) instead of batch
// norm, so a sample does not depend on the other images in its batch.
// Spectral norm (Miyato et al. 2018): W_SN = W/σ(W), σ ≈ uᵀWv from one power
// iteration per D step on the [fan-in, fan-out] matrix of W; u and v are
// stored (not trained) so resumed runs continue exactly.
import { conv2dBiasActivation, type Rng } from '@sculpt/core';
import * as tf from '@tensorflow/tfjs-core';
import type { GanConfig } from './config.js';

/** Named variables of one network. */
export type Params = Record<string, tf.Variable>;

const SLOPE = 0.2;

function param(p: Params, rng: Rng, name: string, shape: number[], std: number): void {
  const value = std === 0 ? tf.zeros(shape) : rng.normal(shape, { std });
  p[name] = tf.variable(value, true); // unnamed: tfjs variable names are process-wide
  value.dispose();
}

/** Generator weights (He-normal, biases zero). */
export function generatorParams(c: GanConfig, rng: Rng): Params {
  const p: Params = {};
  const q = c.imageSize / 4;
  const w2 = 2 * c.generatorWidth;
  const inputs = c.latentDim + (c.numClasses > 0 ? c.embeddingDim : 0);
  if (c.numClasses > 0) param(p, rng, 'embed', [c.numClasses, c.embeddingDim], 1);
  param(p, rng, 'fc.w', [inputs, q * q * w2], Math.sqrt(2 / inputs));
  param(p, rng, 'fc.b', [q * q * w2], 0);
  // conv2dTranspose filters are [k, k, out, in]
  param(p, rng, 'up1.w', [4, 4, c.generatorWidth, w2], Math.sqrt(2 / (16 * w2)));
  param(p, rng, 'up1.b', [c.generatorWidth], 0);
  param(
    p,
    rng,
    'up2.w',
    [4, 4, c.channels, c.generatorWidth],
    Math.sqrt(1 / (16 * c.generatorWidth)),
  );
  param(p, rng, 'up2.b', [c.channels], 0);
  return p;
}

/** Number of features φ(x) of the discriminator. */
export function featureSize(c: GanConfig): number {
  const q = c.imageSize / 4;
  return q * q * 2 * c.discriminatorWidth;
}

/** Discriminator weights. */
export function discriminatorParams(c: GanConfig, rng: Rng): Params {
  const p: Params = {};
  const w = c.discriminatorWidth;
  const f = featureSize(c);
  param(p, rng, 'c1.w', [4, 4, c.channels, w], Math.sqrt(2 / (16 * c.channels)));
  param(p, rng, 'c1.b', [w], 0);
  param(p, rng, 'c2.w', [4, 4, w, 2 * w], Math.sqrt(2 / (16 * w)));
  param(p, rng, 'c2.b', [2 * w], 0);
  param(p, rng, 'fc.w', [f, 1], Math.sqrt(1 / f));
  param(p, rng, 'fc.b', [1], 0);
  if (c.numClasses > 0) param(p, rng, 'embed', [c.numClasses, f], Math.sqrt(1 / f));
  if (c.auxiliaryClassifier) {
    param(p, rng, 'cls.w', [f, c.numClasses], Math.sqrt(1 / f));
    param(p, rng, 'cls.b', [c.numClasses], 0);
  }
  return p;
}

/** The D weights that spectral norm divides by σ (all matrices and filters). */
export function normalisedNames(d: Params): string[] {
  return Object.keys(d).filter((k) => d[k].rank >= 2);
}

/** Rows and columns of the matrix view of a weight: [fan-in, fan-out] (an embedding [K, F] as is). */
function matrixShape(w: tf.Tensor): [number, number] {
  const cols = w.shape[w.rank - 1];
  return [w.size / cols, cols];
}

/** Power-iteration vectors `<name>.u` [m, 1] and `<name>.v` [n, 1] for each normalised D weight (not trainable). */
export function spectralVectors(d: Params, rng: Rng): Params {
  const p: Params = {};
  for (const name of normalisedNames(d)) {
    const [m, n] = matrixShape(d[name]);
    for (const [key, size] of [
      ['u', m],
      ['v', n],
    ] as const) {
      const value = tf.tidy(() => {
        const x = rng.normal([size, 1]);
        return tf.div(x, tf.norm(x));
      });
      p[`${name}.${key}`] = tf.variable(value, false);
      value.dispose();
    }
  }
  return p;
}

/** One power iteration per weight: v ← Wᵀu/‖Wᵀu‖, u ← Wv/‖Wv‖ (in place). */
export function powerIteration(d: Params, sn: Params): void {
  tf.tidy(() => {
    for (const name of normalisedNames(d)) {
      const w = tf.reshape(d[name], matrixShape(d[name])) as tf.Tensor2D;
      const u = sn[`${name}.u`] as tf.Tensor2D;
      const wtu = tf.transpose(tf.matMul(tf.transpose(u), w)); // [n, 1]
      const v = tf.div(wtu, tf.add(tf.norm(wtu), 1e-12));
      const wv = tf.matMul(w, v); // [m, 1]
      sn[`${name}.v`].assign(v);
      sn[`${name}.u`].assign(tf.div(wv, tf.add(tf.norm(wv), 1e-12)));
    }
  });
}

/** W/σ(W) with σ = uᵀWv (u, v held constant), or W itself without spectral norm. */
function weight(d: Params, sn: Params | undefined, name: string): tf.Tensor {
  const w = d[name];
  if (!sn) return w;
  const mat = tf.reshape(w, matrixShape(w)) as tf.Tensor2D;
  const u = sn[`${name}.u`] as tf.Tensor2D;
  const v = sn[`${name}.v`] as tf.Tensor2D;
  const sigma = tf.sum(tf.mul(u, tf.matMul(mat, v)));
  return tf.div(w, sigma);
}

/** One-hot rows as float32 (wasm's float32 oneHot is unreliable: cast an int32 one). */
export function oneHot(labels: Int32Array, numClasses: number): tf.Tensor2D {
  return tf.tidy(
    () => tf.cast(tf.oneHot(tf.tensor1d(labels, 'int32'), numClasses), 'float32') as tf.Tensor2D,
  );
}

/** Pixel norm: each feature vector scaled to unit root-mean-square over channels. */
function pixelNorm(x: tf.Tensor4D): tf.Tensor4D {
  return tf.mul(x, tf.rsqrt(tf.add(tf.mean(tf.square(x), -1, true), 1e-8)));
}

function up(p: Params, name: string, x: tf.Tensor4D): tf.Tensor4D {
  const w = p[`${name}.w`] as tf.Tensor4D;
  const [b, h, wd] = x.shape;
  const y = tf.conv2dTranspose(x, w, [b, 2 * h, 2 * wd, w.shape[2]], 2, 'same');
  return tf.add(y, p[`${name}.b`]);
}

/**
 * G(z, y): `[B, latentDim]` noise (+ one-hot labels `[B, K]`) → `[B, s, s, C]` in (−1, 1).
 * The caller owns the result and tidies the intermediates.
 */
export function generatorForward(
  c: GanConfig,
  p: Params,
  z: tf.Tensor2D,
  labels?: tf.Tensor2D,
): tf.Tensor4D {
  const b = z.shape[0];
  const q = c.imageSize / 4;
  const input = labels ? tf.concat([z, tf.matMul(labels, p.embed)], 1) : z;
  const h = tf.add(tf.matMul(input, p['fc.w']), p['fc.b']);
  const h0 = tf.relu(pixelNorm(tf.reshape(h, [b, q, q, 2 * c.generatorWidth])));
  const h1 = tf.relu(pixelNorm(up(p, 'up1', h0)));
  return tf.tanh(up(p, 'up2', h1));
}

/**
 * The features φ(x) `[B, F]`. Each conv runs with its bias and leaky ReLU as
 * one op (core's conv2dBiasActivation): one fused forward, a one-pass
 * gradient of the activation and bias, and twice differentiable (the R1 and
 * WGAN-GP penalties take a gradient of its gradient; `tf.leakyRelu`'s own
 * gradient goes through `greater`, which has none).
 */
function features(d: Params, sn: Params | undefined, x: tf.Tensor4D): tf.Tensor2D {
  const conv = (name: string, h: tf.Tensor4D): tf.Tensor4D => {
    const w = weight(d, sn, `${name}.w`) as tf.Tensor4D;
    const b = d[`${name}.b`] as tf.Tensor1D;
    return conv2dBiasActivation(h, w, b, { strides: 2, activation: 'leakyrelu', alpha: SLOPE });
  };
  const h2 = conv('c2', conv('c1', x));
  return tf.reshape(h2, [x.shape[0], -1]);
}

/** D's outputs: the adversarial logits `[B]` and (with the class head) class logits `[B, K]`. */
export interface DiscriminatorOutputs {
  logits: tf.Tensor1D;
  classLogits?: tf.Tensor2D;
}

/**
 * D(x, y): images `[B, s, s, C]` (+ one-hot labels) → logits `[B]`, and the
 * class head's logits `[B, K]` when D has one (`cls.w`). `sn` holds the
 * power-iteration vectors when spectral norm is on.
 */
export function discriminatorOutputs(
  d: Params,
  sn: Params | undefined,
  x: tf.Tensor4D,
  labels?: tf.Tensor2D,
): DiscriminatorOutputs {
  const phi = features(d, sn, x);
  let out = tf.add(tf.matMul(phi, weight(d, sn, 'fc.w') as tf.Tensor2D), d['fc.b']);
  if (labels) {
    const v = tf.matMul(labels, weight(d, sn, 'embed') as tf.Tensor2D); // [B, F]
    out = tf.add(out, tf.sum(tf.mul(phi, v), 1, true));
  }
  const logits = tf.reshape(out, [-1]) as tf.Tensor1D;
  if (!d['cls.w']) return { logits };
  const cls = tf.matMul(phi, weight(d, sn, 'cls.w') as tf.Tensor2D);
  return { logits, classLogits: tf.add(cls, d['cls.b']) as tf.Tensor2D };
}

/** D(x, y) → logits `[B]` (see {@link discriminatorOutputs}). */
export function discriminatorForward(
  d: Params,
  sn: Params | undefined,
  x: tf.Tensor4D,
  labels?: tf.Tensor2D,
): tf.Tensor1D {
  return discriminatorOutputs(d, sn, x, labels).logits;
}
