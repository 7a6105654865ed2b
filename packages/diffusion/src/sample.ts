// Sampling, img2img and inpainting of a DiffusionModel through @sculpt/samplers.
import {
  type Conditioning,
  type Denoiser,
  formatShape,
  karrasSigmas,
  Rng,
  type SamplerOptions,
  SculptError,
} from '@sculpt/core';
import {
  classifierFreeGuidance,
  type DiffusionSampler,
  getSampler,
  img2img,
  img2imgAsync,
  inpaint,
  inpaintAsync,
} from '@sculpt/samplers';
import * as tf from '@tensorflow/tfjs-core';
import { hasNonFinite } from './checks.js';

/**
 * What sampling needs of a model: its denoiser, shape, σ range and input checks.
 * `DiffusionModel` is one; declared here (not imported) so that model.ts and this file
 * do not import each other.
 */
export interface SamplableModel {
  readonly denoiser: Denoiser;
  readonly numClasses: number;
  readonly imageShape: [number, number, number];
  readonly sigmaRange: { sigmaMin: number; sigmaMax: number };
  checkLabels(where: string, labels: ArrayLike<number>, count: number): Int32Array;
  checkImages(where: string, images: tf.Tensor): void;
}

/** Options shared by {@link sampleModel}, {@link img2imgModel} and {@link inpaintModel}. */
export interface GuidedSamplingOptions {
  /** A registered sampler name or alias (`'euler'`, `'dpmpp-2m'`, …) or a sampler object. Default `'dpmpp-2m'`. */
  sampler?: string | DiffusionSampler;
  /** Sampler steps (Karras σ spacing over the model's σ range). Default 20. */
  steps?: number;
  /** Explicit σ schedule ending in 0; overrides `steps`. */
  sigmas?: Float32Array;
  /** Classifier-free guidance scale w (1 = off). Default 1. Needs a class-conditional model and labels. */
  guidanceScale?: number;
  /** CFG rescale φ ∈ [0, 1] (Lin et al. 2024). Default 0. */
  guidanceRescale?: number;
  /** One class id per image in [0, numClasses); omitted = unconditional (null label). */
  labels?: ArrayLike<number>;
  /** Seed of the initial noise and of stochastic samplers. Default 0. */
  seed?: number;
  /** Called after every sampler step (`x`, `denoised` are the sampler's: copy to keep). */
  onStep?: SamplerOptions['onStep'];
  /** Stops sampling with an AbortError. */
  signal?: AbortSignal;
  /** Extra options for the sampler (e.g. `{ eta: 1 }`). */
  samplerOptions?: Record<string, unknown>;
}

/** Options of {@link sampleModel} (`model.sample`). */
export interface SampleOptions extends GuidedSamplingOptions {
  /** Number of images. Default `labels.length`, else 16. */
  numSamples?: number;
}

interface Prepared {
  sampler: DiffusionSampler;
  sigmas: Float32Array;
  denoiser: Denoiser;
  cond: Conditioning | undefined;
  rng: Rng;
  dispose: () => void;
}

/** `out` clipped to [-1, 1]; `out` is disposed. */
function clipToRange(out: tf.Tensor): tf.Tensor4D {
  const clipped = tf.clipByValue(out, -1, 1) as tf.Tensor4D;
  out.dispose();
  return clipped;
}

/** The arguments img2img and inpainting share: the prepared sampler, σs, guidance and callbacks. */
function editArgs(p: Prepared, options: GuidedSamplingOptions & { image: tf.Tensor4D }) {
  return {
    sampler: p.sampler.sample,
    denoiser: p.denoiser,
    image: options.image,
    sigmas: p.sigmas,
    rng: p.rng,
    cond: p.cond,
    onStep: options.onStep,
    signal: options.signal,
    samplerOptions: options.samplerOptions,
  };
}

/** Most images one call draws (split larger jobs into batches). */
export const MAX_SAMPLES_PER_CALL = 4096;
/** Most RePaint resampling rounds per step. */
export const MAX_RESAMPLE_COUNT = 100;

function resolveSampler(where: string, sampler: string | DiffusionSampler): DiffusionSampler {
  if (typeof sampler !== 'string') {
    const s = sampler as Partial<DiffusionSampler> | null;
    if (
      s === null ||
      typeof s !== 'object' ||
      typeof s.sample !== 'function' ||
      typeof s.sampleAsync !== 'function'
    ) {
      throw new SculptError(
        where,
        'expected a sampler name or a sampler object with sample and sampleAsync',
        `got ${s === null ? 'null' : typeof s === 'object' ? `an object with keys [${Object.keys(s).slice(0, 5).join(', ')}]` : typeof s}`,
        "pass a name such as 'dpmpp-2m' or an object from getSampler()",
      );
    }
    return sampler;
  }
  try {
    return getSampler(sampler);
  } catch (e) {
    throw new SculptError(
      where,
      'expected a registered sampler name',
      `got '${sampler}'`,
      (e as Error).message.split('Fix: ')[1]?.replace(/\.$/, ''),
    );
  }
}

function checkSigmas(where: string, sigmas: Float32Array): void {
  const ok =
    sigmas instanceof Float32Array &&
    sigmas.length >= 2 &&
    sigmas.every((v, i) => Number.isFinite(v) && v >= 0 && (i === 0 || v <= sigmas[i - 1])) &&
    sigmas[sigmas.length - 1] === 0;
  if (!ok) {
    throw new SculptError(
      where,
      'expected sigmas: a Float32Array of ≥ 2 finite, non-increasing σ ending in 0',
      sigmas instanceof Float32Array
        ? `got ${sigmas.length} values [${Array.from(sigmas.slice(0, 4)).join(', ')}${sigmas.length > 4 ? ', …' : ''}]`
        : `got ${typeof sigmas}`,
      'build one with karrasSigmas({ numSteps, sigmaMin, sigmaMax }) or leave sigmas out',
    );
  }
}

/** Refuses a sample count that is not a positive integer or is too large for one call. */
function checkCount(where: string, count: number, what: string): void {
  if (!(Number.isInteger(count) && count >= 1 && count <= MAX_SAMPLES_PER_CALL)) {
    throw new SculptError(
      where,
      `expected ${what} to be an integer in [1, ${MAX_SAMPLES_PER_CALL}]`,
      `got ${count}`,
      count > MAX_SAMPLES_PER_CALL
        ? `draw them in batches of at most ${MAX_SAMPLES_PER_CALL}`
        : undefined,
    );
  }
}

function prepare(
  where: string,
  model: SamplableModel,
  count: number,
  options: GuidedSamplingOptions,
): Prepared {
  const { steps = 20, guidanceScale = 1, guidanceRescale = 0, seed = 0 } = options;
  const sampler = resolveSampler(where, options.sampler ?? 'dpmpp-2m');
  if (!(Number.isInteger(steps) && steps >= 1))
    throw new SculptError(where, 'expected steps to be an integer ≥ 1', `got ${steps}`);
  if (!(Number.isFinite(guidanceScale) && guidanceScale >= 0))
    throw new SculptError(
      where,
      'expected guidanceScale to be a finite number ≥ 0 (1 = no guidance)',
      `got ${guidanceScale}`,
      'use e.g. guidanceScale: 2',
    );
  if (!(Number.isFinite(guidanceRescale) && guidanceRescale >= 0 && guidanceRescale <= 1))
    throw new SculptError(
      where,
      'expected guidanceRescale in [0, 1]',
      `got ${guidanceRescale}`,
      'use e.g. guidanceRescale: 0.7 (0 = off)',
    );
  if (options.sigmas !== undefined) checkSigmas(where, options.sigmas);
  const sigmas = options.sigmas ?? karrasSigmas({ numSteps: steps, ...model.sigmaRange });
  const labels =
    options.labels === undefined ? undefined : model.checkLabels(where, options.labels, count);
  if (guidanceScale !== 1 && labels === undefined) {
    throw new SculptError(
      where,
      'expected labels with guidanceScale ≠ 1',
      'got none',
      'pass labels (one class id per image) or guidanceScale: 1',
    );
  }
  const owned: tf.Tensor[] = [];
  let cond: Conditioning | undefined;
  let denoiser = model.denoiser;
  if (labels) {
    const labelTensor = tf.tensor1d(labels, 'int32');
    owned.push(labelTensor);
    cond = { labels: labelTensor };
    if (guidanceScale !== 1) {
      const nullLabels = tf.fill([count], model.numClasses, 'int32') as tf.Tensor1D;
      owned.push(nullLabels);
      try {
        denoiser = classifierFreeGuidance(denoiser, {
          guidanceScale,
          guidanceRescale,
          uncond: { labels: nullLabels },
        });
      } catch (error) {
        tf.dispose(owned);
        throw error;
      }
    }
  }
  return { sampler, sigmas, denoiser, cond, rng: new Rng(seed), dispose: () => tf.dispose(owned) };
}

/**
 * Draws images from the model: noise × σ_max, then the sampler down to σ = 0.
 *
 * @param model - a trained model (a `DiffusionModel`).
 * @param options - see {@link SampleOptions}: `numSamples`, `sampler` ('dpmpp-2m'),
 *   `steps` (20), `guidanceScale` (1), `labels`, `seed` (0), `onStep`, `signal`.
 * @returns `[N, H, W, C]` in [-1, 1] (clipped); the caller owns it.
 * @example
 * ```ts
 * const images = await model.sample({ labels: [0, 1, 2, 3], guidanceScale: 3, steps: 20 });
 * await writePng('digits.png', imageGrid(images), { range: [-1, 1] });
 * ```
 */
export async function sampleModel(
  model: SamplableModel,
  options: SampleOptions = {},
): Promise<tf.Tensor4D> {
  const where = 'DiffusionModel.sample';
  const count = options.numSamples ?? options.labels?.length ?? 16;
  checkCount(where, count, 'numSamples');
  const p = prepare(where, model, count, options);
  const noise = p.rng.normal([count, ...model.imageShape]);
  const xT = tf.mul(noise, p.sigmas[0]);
  noise.dispose();
  try {
    const run = {
      ...options.samplerOptions,
      rng: p.rng.split() as Rng,
      cond: p.cond,
      onStep: options.onStep,
      signal: options.signal,
    };
    const out = await p.sampler.sampleAsync(p.denoiser, xT, p.sigmas, run);
    return clipToRange(out);
  } finally {
    xT.dispose();
    p.dispose();
  }
}

/** Options of {@link img2imgModel}. */
export interface Img2ImgModelOptions extends GuidedSamplingOptions {
  /** `[N, H, W, C]` in [-1, 1]; not disposed. */
  image: tf.Tensor4D;
  /** How much to change, in (0, 1]: the fraction of the σ schedule run. Default 0.6. */
  strength?: number;
}

/**
 * SDEdit-style img2img (Meng et al. 2021): noise `image` to the σ at
 * `strength` and run the sampler from there. Works with every sampler.
 * @returns `[N, H, W, C]` in [-1, 1]; the caller owns it.
 * @example
 * ```ts
 * const edited = model.img2img({ image: digits, strength: 0.5, labels: [7, 7] });
 * ```
 */
export function img2imgModel(model: SamplableModel, options: Img2ImgModelOptions): tf.Tensor4D {
  const p = prepareEdit('DiffusionModel.img2img', model, options, 'img2img');
  try {
    const out = img2img({ ...editArgs(p, options), strength: options.strength ?? 0.6 });
    return clipToRange(out);
  } finally {
    p.dispose();
  }
}

/**
 * {@link img2imgModel} that yields to the event loop between sampler steps
 * (a page stays responsive) and stops at `options.signal` with an AbortError,
 * leaking nothing.
 * @returns `[N, H, W, C]` in [-1, 1]; the caller owns it.
 * @example
 * ```ts
 * const edited = await model.img2imgAsync({ image: digits, strength: 0.5, labels: [7, 7], signal });
 * ```
 */
export async function img2imgModelAsync(
  model: SamplableModel,
  options: Img2ImgModelOptions,
): Promise<tf.Tensor4D> {
  const p = prepareEdit('DiffusionModel.img2imgAsync', model, options, 'img2img');
  try {
    const out = await img2imgAsync({
      ...editArgs(p, options),
      sampler: p.sampler.sampleAsync,
      strength: options.strength ?? 0.6,
    });
    return clipToRange(out);
  } finally {
    p.dispose();
  }
}

/** Checks the images (and, for inpainting, the mask) of an edit and prepares its sampler and guidance. */
function prepareEdit(
  where: string,
  model: SamplableModel,
  options: GuidedSamplingOptions & { image: tf.Tensor4D; mask?: tf.Tensor },
  edit: 'img2img' | 'inpaint',
): Prepared {
  model.checkImages(where, options.image);
  checkCount(where, options.image.shape[0], 'the number of images');
  if (edit === 'inpaint') checkMask(where, options.mask, options.image);
  return prepare(where, model, options.image.shape[0], options);
}

function checkMask(where: string, mask: unknown, image: tf.Tensor4D): void {
  const [n, h, w, c] = image.shape;
  const ok =
    mask instanceof tf.Tensor &&
    mask.rank === 4 &&
    mask.shape[0] === n &&
    mask.shape[1] === h &&
    mask.shape[2] === w &&
    (mask.shape[3] === 1 || mask.shape[3] === c);
  if (!ok) {
    throw new SculptError(
      where,
      `expected mask: a tensor of shape [${n}, ${h}, ${w}, 1] or [${n}, ${h}, ${w}, ${c}] (1 = generate, 0 = keep)`,
      `got ${mask instanceof tf.Tensor ? formatShape(mask.shape) : mask === undefined ? 'none' : Array.isArray(mask) ? 'a plain array' : typeof mask}`,
      'pass tf.tensor4d(values, [N, H, W, 1])',
    );
  }
  if (hasNonFinite(mask as tf.Tensor)) {
    throw new SculptError(
      where,
      'expected a finite mask in [0, 1]',
      'got NaN or ±Infinity',
      'clean the mask',
    );
  }
}

/** Options of {@link inpaintModel}. */
export interface InpaintModelOptions extends GuidedSamplingOptions {
  /** `[N, H, W, C]` in [-1, 1]; not disposed. */
  image: tf.Tensor4D;
  /** `[N, H, W, 1]` or `[N, H, W, C]`: 1 = generate the pixel, 0 = keep it (diffusers' convention). Not disposed. */
  mask: tf.Tensor;
  /** RePaint resampling per step (Lugmayr et al. 2022). Default 1 (none). */
  resampleCount?: number;
}

/**
 * Inpainting with any sampler: known pixels are re-noised to each step's σ
 * and pasted in (RePaint-style, via @sculpt/samplers' `inpaint`).
 * @returns `[N, H, W, C]` in [-1, 1]; the caller owns it.
 * @example
 * ```ts
 * const filled = model.inpaint({ image, mask, labels: [3], sampler: 'euler', steps: 30 });
 * ```
 */
export function inpaintModel(model: SamplableModel, options: InpaintModelOptions): tf.Tensor4D {
  const where = 'DiffusionModel.inpaint';
  const resampleCount = checkResampleCount(where, options.resampleCount ?? 1);
  const p = prepareEdit(where, model, options, 'inpaint');
  try {
    const out = inpaint({ ...editArgs(p, options), mask: options.mask, resampleCount });
    return clipToRange(out);
  } finally {
    p.dispose();
  }
}

/**
 * {@link inpaintModel} that yields to the event loop between sampler steps
 * and stops at `options.signal` with an AbortError, leaking nothing.
 * @returns `[N, H, W, C]` in [-1, 1]; the caller owns it.
 * @example
 * ```ts
 * const filled = await model.inpaintAsync({ image, mask, labels: [3], signal: controller.signal });
 * ```
 */
export async function inpaintModelAsync(
  model: SamplableModel,
  options: InpaintModelOptions,
): Promise<tf.Tensor4D> {
  const where = 'DiffusionModel.inpaintAsync';
  const resampleCount = checkResampleCount(where, options.resampleCount ?? 1);
  const p = prepareEdit(where, model, options, 'inpaint');
  try {
    const out = await inpaintAsync({
      ...editArgs(p, options),
      sampler: p.sampler.sampleAsync,
      mask: options.mask,
      resampleCount,
    });
    return clipToRange(out);
  } finally {
    p.dispose();
  }
}

function checkResampleCount(where: string, resampleCount: number): number {
  if (
    !(Number.isInteger(resampleCount) && resampleCount >= 1 && resampleCount <= MAX_RESAMPLE_COUNT)
  )
    throw new SculptError(
      where,
      `expected resampleCount to be an integer in [1, ${MAX_RESAMPLE_COUNT}]`,
      `got ${resampleCount}`,
      'RePaint uses about 10',
    );
  return resampleCount;
}
