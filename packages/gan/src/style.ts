// The StyleGAN-style generator (Karras et al. 2019, "StyleGAN"; 2020,
// "StyleGAN2") as plain functions over named variables (NHWC).
//
// Notation (StyleGAN2, Sec. 2.2):
//   z ∈ R^Z → (pixel norm, 8 → L dense layers, leaky ReLU) → w ∈ R^D    mapping network f
//   s = A_j(w) ∈ R^Cin                                              per-layer style (affine, bias 1)
//   w'_{kio} = s_i · w_{kio}                                        modulation (eq. 1)
//   w''_{kio} = w'_{kio} / sqrt(Σ_{k,i} w'_{kio}² + ε)              demodulation (eq. 3)
// The modulated conv is computed as (x·s) ⊛ w, then · 1/sqrt(Σ_i s_i² Σ_k w_{kio}² + ε):
// exactly conv(x, w'') for each sample, with one shared filter for the batch.
// Synthesis: a learned constant [4, 4, C] → one 3×3 modulated conv at 4×4,
// then per resolution (7, 14, 28 for 28×28 images) bilinear upsampling
// and two 3×3 modulated convs; each conv adds per-pixel noise with a learned
// strength; each resolution has a 1×1 toRGB (modulated, not demodulated)
// whose outputs are upsampled and summed (the skip generator, StyleGAN2 Fig. 7).
// Weights use the equalized learning rate (Karras et al. 2018, Sec. 4.1):
// stored ~N(0, 1/λ²), scaled by λ/sqrt(fan-in) at run time (λ = 0.01 in the
// mapping network, 1 elsewhere).
import type { Rng } from '@sculpt/core';
import * as tf from '@tensorflow/tfjs-core';
import type { GanConfig } from './config.js';
import type { Params } from './nets.js';
import { demodulation, LEAKY_GAIN, LEAKY_SLOPE, modulate, styleEpilogue } from './style-ops.js';

const MAPPING_LR = 0.01;
const EPS = 1e-8; // pixel norm

function param(p: Params, rng: Rng, name: string, shape: number[], value: number | 'normal') {
  const t = value === 'normal' ? rng.normal(shape) : tf.fill(shape, value);
  p[name] = tf.variable(t, true);
  t.dispose();
}

/** The resolutions of the synthesis network: 4, then doubling up to `imageSize` (28 → 4, 7, 14, 28). */
export function styleResolutions(imageSize: number): number[] {
  const sizes = [imageSize];
  while (sizes[0] % 2 === 0 && sizes[0] / 2 > 4) sizes.unshift(sizes[0] / 2);
  if (sizes[0] !== 4) sizes.unshift(4);
  return sizes;
}

/** One modulated conv layer of the synthesis network. */
interface StyleLayer {
  name: string;
  /** Output side; the input is upsampled to it when `up`. */
  size: number;
  up: boolean;
  cin: number;
  cout: number;
}

/** Feature maps at resolution index `i` of `n`: the width, halved at the last one. */
function widthAt(c: GanConfig, i: number, n: number): number {
  return i === n - 1 && n > 2 ? Math.max(4, c.generatorWidth >> 1) : c.generatorWidth;
}

/** The conv layers in order (one at 4×4, two per later resolution). Their count is the number of style inputs. */
export function styleLayers(c: GanConfig): StyleLayer[] {
  const sizes = styleResolutions(c.imageSize);
  const w0 = widthAt(c, 0, sizes.length);
  const layers: StyleLayer[] = [{ name: 'conv0', size: 4, up: false, cin: w0, cout: w0 }];
  for (let i = 1; i < sizes.length; i++) {
    const cin = layers[layers.length - 1].cout;
    const cout = widthAt(c, i, sizes.length);
    const j = layers.length;
    layers.push({ name: `conv${j}`, size: sizes[i], up: true, cin, cout });
    layers.push({ name: `conv${j + 1}`, size: sizes[i], up: false, cin: cout, cout });
  }
  return layers;
}

/** Style generator weights: mapping `map<i>`, constant, convs `conv<j>`, `rgb<j>` after the last conv of each resolution. */
export function styleGeneratorParams(c: GanConfig, rng: Rng): Params {
  const p: Params = {};
  const embed = c.numClasses > 0 ? c.embeddingDim : 0;
  if (embed > 0) param(p, rng, 'embed', [c.numClasses, embed], 'normal');
  for (let i = 0; i < c.mappingLayers; i++) {
    const fanIn = i === 0 ? c.latentDim + embed : c.styleDim;
    const w = rng.normal([fanIn, c.styleDim], { std: 1 / MAPPING_LR });
    p[`map${i}.w`] = tf.variable(w, true);
    w.dispose();
    param(p, rng, `map${i}.b`, [c.styleDim], 0);
  }
  const layers = styleLayers(c);
  param(p, rng, 'const', [1, 4, 4, layers[0].cin], 'normal');
  const modulated = (name: string, k: number, cin: number, cout: number) => {
    param(p, rng, `${name}.w`, [k, k, cin, cout], 'normal');
    param(p, rng, `${name}.affine.w`, [c.styleDim, cin], 'normal');
    param(p, rng, `${name}.affine.b`, [cin], 1);
    param(p, rng, `${name}.b`, [cout], 0);
  };
  layers.forEach((l, j) => {
    modulated(l.name, 3, l.cin, l.cout);
    param(p, rng, `${l.name}.noise`, [1], 0);
    if (!layers[j + 1]?.up) modulated(`rgb${j}`, 1, l.cout, c.channels);
  });
  return p;
}

/** Dense layer with the equalized learning rate: x · (λ/sqrt(fan-in))·W + λ·b. */
function dense(p: Params, name: string, x: tf.Tensor2D, lr: number): tf.Tensor2D {
  const w = p[`${name}.w`];
  const scale = lr / Math.sqrt(w.shape[0]);
  const y = tf.matMul(x, tf.mul(w, scale) as tf.Tensor2D);
  return tf.add(y, lr === 1 ? p[`${name}.b`] : tf.mul(p[`${name}.b`], lr)); // b·1 = b exactly
}

/**
 * The mapping network f: z `[B, Z]` (+ one-hot labels `[B, K]`) → w `[B, D]`.
 * z and the label embedding are each pixel-normalised, then concatenated.
 */
export function mapping(
  c: GanConfig,
  p: Params,
  z: tf.Tensor2D,
  labels?: tf.Tensor2D,
): tf.Tensor2D {
  const norm = (x: tf.Tensor2D) =>
    tf.mul(x, tf.rsqrt(tf.add(tf.mean(tf.square(x), 1, true), EPS))) as tf.Tensor2D;
  let h = labels ? tf.concat([norm(z), norm(tf.matMul(labels, p.embed))], 1) : norm(z);
  for (let i = 0; i < c.mappingLayers; i++)
    h = tf.mul(tf.leakyRelu(dense(p, `map${i}`, h, MAPPING_LR), LEAKY_SLOPE), LEAKY_GAIN);
  return h;
}

/**
 * Modulated convolution (StyleGAN2 eqs. 1–3) in its input-scaling form:
 * x `[B, H, W, Cin]`, styles s `[B, Cin]`, filter `[k, k, Cin, Cout]` →
 * `[B, H, W, Cout]` = conv(x·s, w) · d with d_bo = 1/sqrt(Σ_i s_bi² Σ_k w_kio² + ε)
 * when `demodulate`. The filter is used as given (scale it before).
 */
export function modulatedConv(
  x: tf.Tensor4D,
  styles: tf.Tensor2D,
  filter: tf.Tensor4D,
  demodulate: boolean,
): tf.Tensor4D {
  const y = tf.conv2d(modulate(x, styles), filter, 1, 'same');
  if (!demodulate) return y;
  const [b, , , cout] = y.shape;
  return tf.mul(y, tf.reshape(demodulation(styles, filter), [b, 1, 1, cout]));
}

/** Bilinear resize of `[B, H, W, C]` to `[B, size, size, C]` (half-pixel centres: 4 → 7 as well as ×2). */
export function resize(x: tf.Tensor4D, size: number): tf.Tensor4D {
  return tf.image.resizeBilinear(x, [size, size], false, true);
}

/**
 * A 1×1 modulated conv without demodulation (toRGB): conv(x·s, w) computed as
 * one product per image, x `[B, H·W, Cin]` · (s ⊙ w) `[B, Cin, Cout]`, the
 * same sum with the style folded into the weights, so no pass over x scales
 * it (forward) or its gradient (backward).
 * @example
 * ```ts
 * const rgb = toRgb(x, styles, filter); // x: [64, 28, 28, 16], styles: [64, 16], filter: [1, 1, 16, 1] → [64, 28, 28, 1]
 * ```
 */
export function toRgb(x: tf.Tensor4D, styles: tf.Tensor2D, filter: tf.Tensor4D): tf.Tensor4D {
  const [b, h, w, cin] = x.shape;
  const cout = filter.shape[3];
  const weights = tf.mul(tf.reshape(styles, [b, cin, 1]), tf.reshape(filter, [1, cin, cout]));
  const y = tf.matMul(tf.reshape(x, [b, h * w, cin]), weights as tf.Tensor3D); // [B, H·W, Cout]
  return tf.reshape(y, [b, h, w, cout]);
}

/** One styled layer: modulated conv (equalized lr) + bias, and for convs noise + leaky ReLU. */
function styled(
  p: Params,
  name: string,
  x: tf.Tensor4D,
  w: tf.Tensor2D,
  noise: Rng | undefined,
  isRgb: boolean,
): tf.Tensor4D {
  const filter = p[`${name}.w`] as tf.Tensor4D;
  const [k, , cin] = filter.shape;
  const styles = dense(p, `${name}.affine`, w, 1); // [B, Cin]
  const scaled = tf.mul(filter, 1 / Math.sqrt(k * k * cin)) as tf.Tensor4D;
  const bias = p[`${name}.b`];
  if (isRgb) return tf.add(toRgb(x, styles, scaled), bias);
  const y = tf.conv2d(modulate(x, styles), scaled, 1, 'same'); // [B, H, W, Cout]
  const [b, h, wd] = y.shape;
  const values = noise?.normal([b, h, wd, 1]) as tf.Tensor4D | undefined;
  const strength = p[`${name}.noise`];
  const demod = demodulation(styles, scaled);
  return styleEpilogue({ y, demod, bias, noise: values ? { values, strength } : undefined });
}

/**
 * The synthesis network: one w `[B, D]` per conv layer (see {@link styleLayers})
 * → images `[B, s, s, C]` in (−1, 1). Noise is drawn from `noise`, or left
 * out when it is undefined. The caller tidies.
 */
export function synthesis(
  c: GanConfig,
  p: Params,
  ws: readonly tf.Tensor2D[],
  noise: Rng | undefined,
): tf.Tensor4D {
  const layers = styleLayers(c);
  // [1, 4, 4, C]: the first modulation broadcasts it over the batch (a tile's
  // gradient in tfjs is a slice and an add per image).
  let x = p.const as tf.Tensor4D;
  let rgb: tf.Tensor4D | undefined;
  layers.forEach((l, j) => {
    if (l.up) x = resize(x, l.size);
    x = styled(p, l.name, x, ws[j], noise, false);
    if (layers[j + 1]?.up) return;
    const out = styled(p, `rgb${j}`, x, ws[j], undefined, true);
    rgb = rgb ? (tf.add(resize(rgb, l.size), out) as tf.Tensor4D) : out;
  });
  return tf.tanh(rgb as tf.Tensor4D);
}

/** How a style generator's forward pass is steered (sampling controls). */
export interface StyleControls {
  /** Tracked mean w `[D]` (the truncation centre). */
  meanStyle: tf.Tensor1D;
  /** ψ: w ← w̄ + ψ(w − w̄). 1 = off. */
  truncation: number;
  /** Second latents `[B, Z]` and the first layer that uses them (style mixing). */
  mixing?: { latents: tf.Tensor2D; crossover: number };
  /** Source of the per-layer noise; none when undefined. */
  noise?: Rng;
}

/**
 * G(z, y) of the style generator: mapping, truncation, mixing, synthesis.
 * @returns the images `[B, s, s, C]` and the un-truncated w `[B, D]` of z (for tracking w̄).
 */
export function styleGeneratorForward(
  c: GanConfig,
  p: Params,
  z: tf.Tensor2D,
  labels: tf.Tensor2D | undefined,
  controls: StyleControls,
): { images: tf.Tensor4D; styles: tf.Tensor2D } {
  const { meanStyle, truncation, mixing } = controls;
  const truncate = (w: tf.Tensor2D) =>
    truncation === 1
      ? w
      : (tf.add(meanStyle, tf.mul(tf.sub(w, meanStyle), truncation)) as tf.Tensor2D);
  const w = mapping(c, p, z, labels);
  const first = truncate(w);
  const second = mixing ? truncate(mapping(c, p, mixing.latents, labels)) : first;
  const crossover = mixing?.crossover ?? Number.POSITIVE_INFINITY;
  const ws = styleLayers(c).map((_, j) => (j < crossover ? first : second));
  return { images: synthesis(c, p, ws, controls.noise), styles: w };
}
