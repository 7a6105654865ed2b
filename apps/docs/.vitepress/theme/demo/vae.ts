// The VAE demos' math and drawing, kept apart from the Vue components.
//
// Notation (Kingma & Welling 2014): an image x ∈ [0, 1]^{28×28}, a 2-D latent
// z, the encoder q(z|x) = N(μ(x), diag σ²(x)) and the decoder mean
// E[x|z] = sigmoid(f(z)) (Bernoulli pixels). The map is E[x|z] over a grid of
// z ∈ [−R, R]²; a point's digit is E[x|z] at that z; an interpolation decodes
// points on the line (lerp) or the great circle (slerp) between μ(x_a) and μ(x_b).
import { checkpointFromBytes } from '@sculpt/core';
import { type ImageSet, unpackMnist } from '@sculpt/datasets';
import { interpolate, latentGrid2d, VaeModel } from '@sculpt/vae';
import * as tf from '@tensorflow/tfjs-core';
import { withBase } from 'vitepress';

/** Side of one MNIST digit in pixels. */
export const DIGIT = 28;
/** The map spans z ∈ [−RANGE, RANGE]² (three prior standard deviations). */
export const RANGE = 3;

/** What the training run wrote next to the weights (data/vae-mnist-2d.json). */
export interface VaeReport {
  commands?: string[];
  steps?: number;
  trainSeconds?: number;
  heldOut?: { negElbo?: number; negIwae?: number; iwaeK?: number; heldOutImages?: number };
}

/** Fetches one of the site's packed MNIST files (`/assets/….bin`, @sculpt/datasets' packMnist format). */
export async function loadDigits(path: string): Promise<ImageSet> {
  const res = await fetch(withBase(path));
  if (!res.ok) throw new Error(`${path}: HTTP ${res.status}`);
  return unpackMnist(new Uint8Array(await res.arrayBuffer()));
}

/** The explorer's model and where it came from. */
export interface ShippedVae {
  model: VaeModel;
  report: VaeReport;
  /** One line for the page. */
  source: string;
}

/**
 * Fetches the `mnist-2d` checkpoint the site serves (trained by `sculpt train
 * vae --preset mnist-2d`, exported by scripts/vae-checkpoint.mjs).
 * @returns the model (the caller disposes it) and its training report.
 */
export async function loadShippedVae(): Promise<ShippedVae> {
  const res = await fetch(withBase('/checkpoints/vae-mnist-2d.safetensors'));
  if (!res.ok) throw new Error(`VAE checkpoint: HTTP ${res.status}`);
  const checkpoint = checkpointFromBytes(new Uint8Array(await res.arrayBuffer()));
  let model: VaeModel;
  try {
    model = VaeModel.fromCheckpoint('loadShippedVae', checkpoint);
  } finally {
    tf.dispose(Object.values(checkpoint.tensors));
  }
  const report: VaeReport = await fetch(withBase('/checkpoints/vae-mnist-2d.json'))
    .then((r) => (r.ok ? r.json() : {}))
    .catch(() => ({}));
  const held = report.heldOut;
  const facts = [
    report.steps !== undefined ? `${report.steps} steps` : '',
    report.trainSeconds !== undefined ? `${Math.round(report.trainSeconds)} s on wasm` : '',
    held?.negElbo !== undefined ? `held-out −ELBO ${held.negElbo.toFixed(1)} nats` : '',
    held?.negIwae !== undefined ? `IWAE (k = ${held.iwaeK}) ${held.negIwae.toFixed(1)} nats` : '',
  ].filter(Boolean);
  return { model, report, source: `@sculpt/vae 'mnist-2d', ${facts.join(', ')}` };
}

/**
 * Decodes a `size × size` grid over z ∈ [−range, range]² (row 0 at z₂ = +range)
 * into one tiled image.
 * @returns `[size·28, size·28]` pixel means in [0, 1]; the caller owns it.
 */
export function decodeMap(model: VaeModel, size: number, range = RANGE): tf.Tensor2D {
  return tf.tidy(() => {
    const z = latentGrid2d(size, range); // [size², 2]
    const x = model.decode(z); // [size², 28, 28, 1]
    const tiles = tf.reshape(x, [size, size, DIGIT, DIGIT]);
    return tf.reshape(tf.transpose(tiles, [0, 2, 1, 3]), [size * DIGIT, size * DIGIT]);
  });
}

/** E[x|z] of one latent point. @returns `[28·28]` read back (nothing to dispose). */
export async function decodePoint(
  model: VaeModel,
  z: readonly [number, number],
): Promise<Float32Array> {
  const x = tf.tidy(() => model.decode(tf.tensor2d([z[0], z[1]], [1, 2])));
  const values = (await x.data()) as Float32Array;
  x.dispose();
  return values;
}

/**
 * Posterior means μ(x) of `count` digits `[count·784]` in [0, 1]. The pixels
 * come from packed 8-bit files, so they are finite: `checkPixels: false` skips
 * the finiteness test, a synchronous read that would stall WebGPU.
 * @returns `[count·2]` read back (nothing to dispose).
 */
export async function encodeMeans(
  model: VaeModel,
  pixels: Float32Array,
  count: number,
): Promise<Float32Array> {
  const mean = tf.tidy(() => {
    const images = tf.tensor4d(pixels, [count, DIGIT, DIGIT, 1]);
    return model.encodeParams(images, { checkPixels: false }).mean;
  });
  const values = (await mean.data()) as Float32Array;
  mean.dispose();
  return values;
}

/**
 * Decodes `steps` latents from `a` to `b` (posterior means, `[2]` each) by
 * lerp or slerp, tiled in one row.
 * @returns `[28, steps·28]` read back (nothing to dispose).
 */
export async function interpolationStrip(
  model: VaeModel,
  a: readonly number[],
  b: readonly number[],
  steps: number,
  mode: 'lerp' | 'slerp',
): Promise<Float32Array> {
  const strip = tf.tidy(() => {
    const z = interpolate(tf.tensor1d(a as number[]), tf.tensor1d(b as number[]), steps, mode);
    const x = tf.reshape(model.decode(z), [steps, DIGIT, DIGIT]);
    return tf.reshape(tf.transpose(x, [1, 0, 2]), [DIGIT, steps * DIGIT]);
  });
  const values = (await strip.data()) as Float32Array;
  strip.dispose();
  return values;
}

/** Draws gray values in [0, 1] (`[height·width]`, row-major) onto a canvas of width × height pixels. */
export function drawGray(
  canvas: HTMLCanvasElement,
  values: ArrayLike<number>,
  width: number,
  height: number,
): void {
  const ctx = canvas.getContext('2d');
  if (!ctx) return;
  const img = ctx.createImageData(width, height);
  for (let i = 0; i < width * height; i++) {
    const v = Math.round(255 * Math.min(1, Math.max(0, values[i])));
    img.data.set([v, v, v, 255], 4 * i);
  }
  ctx.putImageData(img, 0, 0);
}

/** Latent (z₁, z₂) → canvas pixel for a square map of `side` pixels over [−range, range]². */
export function latentToPixel(z: readonly number[], side: number, range = RANGE): [number, number] {
  return [((z[0] + range) / (2 * range)) * side, ((range - z[1]) / (2 * range)) * side];
}

/** Canvas pixel → latent (z₁, z₂), clamped to the map. */
export function pixelToLatent(
  px: number,
  py: number,
  side: number,
  range = RANGE,
): [number, number] {
  const clamp = (v: number) => Math.min(range, Math.max(-range, v));
  return [clamp((px / side) * 2 * range - range), clamp(range - (py / side) * 2 * range)];
}

/** Ten distinguishable colours, one per digit class (Tableau 10). */
export const CLASS_COLOURS = [
  '#4e79a7',
  '#f28e2b',
  '#e15759',
  '#76b7b2',
  '#59a14f',
  '#edc948',
  '#b07aa1',
  '#ff9da7',
  '#9c755f',
  '#bab0ac',
] as const;

/** Dots for encodings `[n·2]` coloured by class, over whatever the canvas shows. */
export function drawScatter(
  canvas: HTMLCanvasElement,
  means: Float32Array,
  labels: ArrayLike<number>,
  range = RANGE,
): void {
  const ctx = canvas.getContext('2d');
  if (!ctx) return;
  for (let i = 0; i < labels.length; i++) {
    const [x, y] = latentToPixel([means[2 * i], means[2 * i + 1]], canvas.width, range);
    ctx.fillStyle = CLASS_COLOURS[labels[i] % 10];
    ctx.beginPath();
    ctx.arc(x, y, 2.5, 0, 2 * Math.PI);
    ctx.fill();
  }
}
