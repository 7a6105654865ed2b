// The GAN demo's model loading and drawing, kept apart from the Vue components.
//
// Notation (Goodfellow et al. 2014; Karras et al. 2019, 2020; Zhu et al. 2017):
// noise z ~ N(0, I), a class y, the generator G(z, y) → x ∈ (−1, 1)^{28×28};
// a style generator maps z to w, truncation ψ draws with w̄ + ψ(w − w̄), and
// style mixing feeds w₂ to the conv layers from `crossover` on. A CycleGAN's
// G_AB and G_BA translate between plain digits (A) and thick inverted ones (B).
import { Rng } from '@sculpt/core';
import { CycleGanModel, GanGenerator, numStyleLayers } from '@sculpt/gan';
import * as tf from '@tensorflow/tfjs-core';
import { withBase } from 'vitepress';

/** Side of one MNIST digit in pixels. */
export const DIGIT = 28;
/** Seed of the style generator's per-layer noise: fixed, so only z changes an image. */
export const NOISE_SEED = 0;

/**
 * The shipped assets (scripts/gan-checkpoint.mjs writes them into data/, prepare.mjs serves them):
 * the two GANs as generator-only exports (G's EMA weights, no D), the CycleGAN whole.
 */
export type GanAssetName = 'gan-cdcgan' | 'gan-stylegan' | 'gan-cyclegan';

/** Held-out figures of one `sculpt eval` (the fields the page shows; any may be missing). */
export interface GanMetrics {
  truncation?: number;
  fd?: number;
  kid?: number;
  classAccuracy?: number;
  minClassFraction?: number;
  aToBPixelError?: number;
  bToAAccuracy?: number;
  heldOut?: number;
  [key: string]: unknown;
}

/** What scripts/gan-checkpoint.mjs wrote next to the weights (data/NAME.json). */
export interface GanReport {
  commands?: string[];
  steps?: number;
  trainSeconds?: number;
  backend?: string;
  /** Size of the shipped file. */
  bytes?: number;
  /** Size of the whole model (G + D, no optimizer state), for comparison. */
  fullModelBytes?: number;
  sha256?: string;
  heldOut?: GanMetrics | GanMetrics[];
}

/** A model the page loaded, its report and one line saying where it came from. */
export interface Shipped<M> {
  model: M;
  report: GanReport;
  source: string;
}

async function fetchReport(name: GanAssetName): Promise<GanReport> {
  return fetch(withBase(`/checkpoints/${name}.json`))
    .then((r) => (r.ok ? r.json() : {}))
    .catch(() => ({}));
}

/** The weights' URL, versioned by their hash: the browser cache never serves an older model. */
function weightsUrl(name: GanAssetName, report: GanReport): string {
  const path = withBase(`/checkpoints/${name}.safetensors`);
  return new URL(`${path}${report.sha256 ? `?v=${report.sha256}` : ''}`, location.href).href;
}

const pct = (v: number) => `${(100 * v).toFixed(1)}%`;

/** One line for the page: steps, train time and the held-out figures of the report. */
export function describeReport(report: GanReport): string {
  const first = Array.isArray(report.heldOut) ? report.heldOut[0] : report.heldOut;
  const facts = [
    report.steps !== undefined ? `${report.steps} steps` : '',
    report.trainSeconds !== undefined
      ? `${Math.round(report.trainSeconds)} s on ${report.backend ?? 'wasm'}`
      : '',
    first?.classAccuracy !== undefined ? `class accuracy ${pct(first.classAccuracy)}` : '',
    first?.fd !== undefined ? `FD ${first.fd.toFixed(1)}` : '',
    first?.aToBPixelError !== undefined ? `A→B |error| ${first.aToBPixelError.toFixed(3)}` : '',
    first?.bToAAccuracy !== undefined ? `B→A read correctly ${pct(first.bToAAccuracy)}` : '',
  ].filter(Boolean);
  return facts.join(', ');
}

const megabytes = (bytes: number) => `${(bytes / 1e6).toFixed(2)} MB`;

/** "0.37 MB, generator only (G + D: 1.18 MB)", from the report's sizes. */
function describeSize(report: GanReport): string {
  if (report.bytes === undefined) return 'generator only';
  const full = report.fullModelBytes;
  return `${megabytes(report.bytes)}, generator only${full ? ` (G + D: ${megabytes(full)})` : ''}`;
}

/**
 * Loads a shipped GAN's generator export with `GanGenerator.fromUrl` (kept in the
 * browser's Cache API): G alone is what drawing needs, so the page never downloads D.
 * @returns the generator (the caller disposes it), its report and a source line.
 */
export async function loadShippedGan(name: GanAssetName): Promise<Shipped<GanGenerator>> {
  const report = await fetchReport(name);
  let fromCache = false;
  const model = await GanGenerator.fromUrl(weightsUrl(name, report), {
    onProgress: (p) => {
      fromCache = p.fromCache;
    },
  });
  const origin = fromCache ? 'from the browser cache' : 'downloaded';
  return {
    model,
    report,
    source: `${describeReport(report)}; ${describeSize(report)} (${origin})`,
  };
}

/**
 * Loads the shipped CycleGAN (fetch + `CycleGanModel.fromBytes`; it has no `fromUrl`).
 * @returns the model (the caller disposes it), its report and a source line.
 */
export async function loadShippedCycle(): Promise<Shipped<CycleGanModel>> {
  const report = await fetchReport('gan-cyclegan');
  const res = await fetch(weightsUrl('gan-cyclegan', report));
  if (!res.ok) throw new Error(`CycleGAN checkpoint: HTTP ${res.status}`);
  const model = CycleGanModel.fromBytes(new Uint8Array(await res.arrayBuffer()));
  return { model, report, source: describeReport(report) };
}

/**
 * The same noise image for every row of a batch (StyleGAN's "const" noise):
 * at ψ = 0 every z then gives the very same picture.
 */
class SharedNoise extends Rng {
  override normal(shape: readonly number[], options?: { mean?: number; std?: number }): tf.Tensor {
    const [batch, ...rest] = shape;
    return tf.tidy(() =>
      tf.tile(super.normal([1, ...rest], options), [batch, ...rest.map(() => 1)]),
    );
  }
}

/** Noise vectors z `[count, latentDim]` of one seed (row i is the same for every count ≥ i). */
function latents(model: GanGenerator, seed: number, count: number): tf.Tensor2D {
  return new Rng(seed).normal([count, model.config.latentDim]) as tf.Tensor2D;
}

/**
 * Class ids for `count` images of a conditional model: all `label`, or (label
 * −1) the classes in turn; `undefined` for an unconditional one.
 */
export function labelsFor(model: GanGenerator, count: number, label: number): number[] | undefined {
  const k = model.numClasses;
  if (k === 0) return undefined;
  return Array.from({ length: count }, (_, i) => (label < 0 ? i % k : label));
}

/**
 * A batch of a style generator at truncation ψ (class `label` of a conditional one, −1: in turn).
 * @returns `[count, 28, 28, 1]` in (−1, 1); the caller owns it.
 */
export function styleBatch(
  model: GanGenerator,
  options: { seed: number; count: number; truncation: number; label: number },
): tf.Tensor4D {
  return tf.tidy(() =>
    model.generate(
      latents(model, options.seed, options.count),
      labelsFor(model, options.count, options.label),
      { truncation: options.truncation, noise: new SharedNoise(NOISE_SEED) },
    ),
  );
}

/**
 * Style mixing of two seeds: [A, A's coarse styles with B's from `crossover` on, B].
 * Row k of G(z, mixing: zs) is z_k up to the crossover and zs_k after it, so
 * z = [z_A, z_A, z_B] and zs = [z_A, z_B, z_B] give all three in one call.
 * @returns `[3, 28, 28, 1]` in (−1, 1); the caller owns it.
 */
export function mixingTriple(
  model: GanGenerator,
  options: { seedA: number; seedB: number; crossover: number; truncation: number; label: number },
): tf.Tensor4D {
  // A conditional model styles all three with one class: the picked one, or (−1) seed A's turn.
  const label = options.label >= 0 ? options.label : options.seedA % Math.max(1, model.numClasses);
  return tf.tidy(() => {
    const a = latents(model, options.seedA, 1);
    const b = latents(model, options.seedB, 1);
    return model.generate(tf.concat([a, a, b]), labelsFor(model, 3, label), {
      truncation: options.truncation,
      mixing: { latents: tf.concat([a, b, b]), crossover: options.crossover },
      noise: new SharedNoise(NOISE_SEED),
    });
  });
}

/** The crossover layers a style generator accepts: 1 … numStyleLayers − 1. */
export function crossoverRange(model: GanGenerator): { min: number; max: number } {
  return { min: 1, max: numStyleLayers(model.config) - 1 };
}

/**
 * A batch of a class-conditional GAN: `count` digits of class `label`, or
 * (label −1) the classes in turn.
 * @returns `[count, 28, 28, 1]` in (−1, 1); the caller owns it.
 */
export function conditionalBatch(
  model: GanGenerator,
  options: { seed: number; count: number; label: number },
): tf.Tensor4D {
  return model.sample({
    numSamples: options.count,
    labels: labelsFor(model, options.count, options.label),
    seed: options.seed,
  });
}

/**
 * Tiles images in (−1, 1) into `rows × cols` digits, mapped to [0, 1], and
 * reads them back; disposes `images`.
 * @returns `[rows·28 · cols·28]` gray values, row-major.
 */
export async function readTiles(images: tf.Tensor4D, cols: number): Promise<Float32Array> {
  const n = images.shape[0];
  const rows = Math.ceil(n / cols);
  const grid = tf.tidy(() => {
    const padded =
      n === rows * cols
        ? images
        : tf.pad(
            images,
            [
              [0, rows * cols - n],
              [0, 0],
              [0, 0],
              [0, 0],
            ],
            -1,
          );
    const x = tf.clipByValue(tf.div(tf.add(padded, 1), 2), 0, 1);
    const tiles = tf.reshape(x, [rows, cols, DIGIT, DIGIT]);
    return tf.reshape(tf.transpose(tiles, [0, 2, 1, 3]), [rows * DIGIT, cols * DIGIT]);
  });
  images.dispose();
  const values = (await grid.data()) as Float32Array;
  grid.dispose();
  return values;
}

/**
 * Runs one draw (a function returning images) and reads its tiles back.
 * @returns the gray values and the milliseconds from the call to the pixels on the CPU.
 */
export async function timedTiles(
  draw: () => tf.Tensor4D,
  cols: number,
): Promise<{ values: Float32Array; ms: number }> {
  const started = performance.now();
  const values = await readTiles(draw(), cols);
  return { values, ms: performance.now() - started };
}

/**
 * Translates `count` digits (`[count·784]` in [0, 1]) with G_AB or G_BA.
 * @returns the translations `[count·784]` in [0, 1] (nothing to dispose) and the milliseconds.
 */
export async function translateDigits(
  model: CycleGanModel,
  pixels: Float32Array,
  count: number,
  direction: 'AtoB' | 'BtoA',
): Promise<{ values: Float32Array; ms: number }> {
  const started = performance.now();
  const out = tf.tidy(() => {
    const x = tf.sub(tf.mul(tf.tensor4d(pixels, [count, DIGIT, DIGIT, 1]), 2), 1) as tf.Tensor4D;
    return tf.clipByValue(tf.div(tf.add(model.translate(x, direction), 1), 2), 0, 1);
  });
  const values = (await out.data()) as Float32Array;
  out.dispose();
  return { values, ms: performance.now() - started };
}

/** Lays `count` digits (`[count·784]`) side by side: `[28 · count·28]`, for one canvas row. */
export function digitRow(pixels: Float32Array, count: number): Float32Array {
  const out = new Float32Array(count * DIGIT * DIGIT);
  for (let k = 0; k < count; k++)
    for (let y = 0; y < DIGIT; y++)
      for (let x = 0; x < DIGIT; x++)
        out[y * count * DIGIT + k * DIGIT + x] = pixels[k * DIGIT * DIGIT + y * DIGIT + x];
  return out;
}

/** Mean |a − b| of two equal-length pixel arrays. */
export function meanAbsError(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += Math.abs(a[i] - b[i]);
  return s / a.length;
}
