import { type Rng, SculptError } from '@sculpt/core';
import * as tf from '@tensorflow/tfjs-core';

/**
 * A set of equally sized images held on the CPU: the one plain shape every
 * image source in @sculpt/datasets returns (MNIST, synthetic shapes, the
 * CycleGAN domains, a folder of PNGs).
 *
 * Pixels are float32 in `[0, 1]`, row-major NHWC: image `i` is
 * `images.subarray(i * height * width * channels, (i + 1) * …)`.
 */
export interface ImageSet {
  /** `count × height × width × channels` floats in `[0, 1]`. */
  readonly images: Float32Array;
  /** One integer label per image (`-1` where a source has no labels). */
  readonly labels: Int32Array;
  /** Number of images. */
  readonly count: number;
  /** Image height in pixels. */
  readonly height: number;
  /** Image width in pixels. */
  readonly width: number;
  /** Channels per pixel (1 = grayscale, 3 = RGB, 4 = RGBA). */
  readonly channels: number;
  /** Number of classes, when the labels are classes (`0 … numClasses−1`). */
  readonly numClasses?: number;
}

/** The pixel range images are scaled to: `[0, 1]` (default) or `[-1, 1]` (GANs, diffusion). */
export type PixelRange = '0,1' | '-1,1';

/** How to binarize `[0, 1]` pixels: not at all, at a fixed 0.5 threshold, or by Bernoulli sampling (dynamic binarization). */
export type Binarize = 'none' | 'fixed' | 'dynamic';

/** Options of {@link imageSetTensors} and {@link imageBatches}. */
export interface ImageTensorOptions {
  /** Pixel range of the returned images. Default `'0,1'`. */
  range?: PixelRange;
  /** Binarization applied before scaling. Default `'none'`. `'dynamic'` needs `rng`. */
  binarize?: Binarize;
  /** Randomness for `binarize: 'dynamic'` (a fresh Bernoulli draw per call). */
  rng?: Rng;
}

/** A batch of images and labels. The caller owns both tensors. */
export interface ImageBatch {
  /** `[B, H, W, C]` float32 in the requested range. */
  images: tf.Tensor4D;
  /** `[B]` int32 labels. */
  labels: tf.Tensor1D;
}

/** Builds an {@link ImageSet} and checks that the arrays agree with the shape. */
export function makeImageSet(fields: {
  images: Float32Array;
  labels?: Int32Array;
  height: number;
  width: number;
  channels?: number;
  numClasses?: number;
}): ImageSet {
  const channels = fields.channels ?? 1;
  const per = fields.height * fields.width * channels;
  const count = per > 0 ? fields.images.length / per : 0;
  if (!Number.isInteger(count)) {
    throw new SculptError(
      'makeImageSet',
      `images length must be a multiple of height·width·channels = ${per}`,
      `got ${fields.images.length}`,
    );
  }
  const labels = fields.labels ?? new Int32Array(count).fill(-1);
  if (labels.length !== count) {
    throw new SculptError(
      'makeImageSet',
      `expected ${count} labels (one per image)`,
      `got ${labels.length}`,
    );
  }
  return {
    images: fields.images,
    labels,
    count,
    height: fields.height,
    width: fields.width,
    channels,
    numClasses: fields.numClasses,
  };
}

/**
 * Selects images by index (in the given order) into a new {@link ImageSet}.
 *
 * @param set - the source set (not modified).
 * @param indices - image indices, each in `[0, set.count)`.
 * @returns a new set that owns copies of the selected pixels and labels.
 * @example
 * const firstTen = subsetImages(mnist.train, Int32Array.from({ length: 10 }, (_, i) => i));
 */
export function subsetImages(set: ImageSet, indices: ArrayLike<number>): ImageSet {
  const per = set.height * set.width * set.channels;
  const images = new Float32Array(indices.length * per);
  const labels = new Int32Array(indices.length);
  for (let i = 0; i < indices.length; i++) {
    const j = indices[i];
    if (!(j >= 0 && j < set.count)) {
      throw new SculptError('subsetImages', `indices must be in [0, ${set.count})`, `got ${j}`);
    }
    images.set(set.images.subarray(j * per, (j + 1) * per), i * per);
    labels[i] = set.labels[j];
  }
  return { ...set, images, labels, count: indices.length };
}

/**
 * Turns an {@link ImageSet} (or the images at `indices`) into tensors.
 *
 * @param set - the images, floats in `[0, 1]`.
 * @param options - `range` (default `'0,1'`), `binarize` (default `'none'`; `'fixed'` thresholds at 0.5,
 *   `'dynamic'` draws each pixel from Bernoulli(intensity) with `rng`), `indices` (default: all).
 * @returns `{ images: [N, H, W, C] float32, labels: [N] int32 }`; the caller owns both.
 * @example
 * const { images, labels } = imageSetTensors(mnist.train, { range: '-1,1' });
 */
export function imageSetTensors(
  set: ImageSet,
  options: ImageTensorOptions & { indices?: ArrayLike<number> } = {},
): ImageBatch {
  const range = options.range ?? '0,1';
  if (range !== '0,1' && range !== '-1,1')
    throw new SculptError(
      'imageSetTensors',
      "range must be '0,1' or '-1,1'",
      `got ${JSON.stringify(range)?.slice(0, 40)}`,
      "pass range: '-1,1' for diffusion and GANs, or leave it out for [0, 1]",
    );
  const source = options.indices ? subsetImages(set, options.indices) : set;
  const pixels = binarizePixels(
    source.images,
    options.binarize ?? 'none',
    options.rng,
    'imageSetTensors',
  );
  if (range === '-1,1') for (let i = 0; i < pixels.length; i++) pixels[i] = 2 * pixels[i] - 1;
  return {
    images: tf.tensor4d(
      pixels,
      [source.count, source.height, source.width, source.channels],
      'float32',
    ),
    labels: tf.tensor1d(source.labels, 'int32'),
  };
}

function binarizePixels(
  src: Float32Array,
  mode: Binarize,
  rng: Rng | undefined,
  where: string,
): Float32Array {
  if (mode === 'none') return Float32Array.from(src);
  const out = new Float32Array(src.length);
  if (mode === 'fixed') {
    for (let i = 0; i < src.length; i++) out[i] = src[i] >= 0.5 ? 1 : 0;
    return out;
  }
  if (!rng)
    throw new SculptError(
      where,
      "binarize: 'dynamic' needs an rng",
      'got none',
      'pass { rng: new Rng(seed) }',
    );
  const u = rng.uniformArray(src.length);
  for (let i = 0; i < src.length; i++) out[i] = u[i] < src[i] ? 1 : 0;
  return out;
}

/** Options of {@link shuffledBatchIndices}. */
export interface BatchIndexOptions {
  /** Examples per batch. */
  batchSize: number;
  /** Randomness for the shuffle; omit for the natural order. */
  rng?: Rng;
  /** Drop the last, smaller batch. Default `true` (every batch has `batchSize` rows). */
  dropLast?: boolean;
}

/**
 * One epoch of batch indices over `count` examples: a seeded permutation cut
 * into batches. Pure CPU, no tensors.
 *
 * @param count - number of examples.
 * @param options - `batchSize`, `rng` (shuffle; omitted = in order), `dropLast` (default `true`).
 * @returns an array of index arrays (the caller owns them).
 * @example
 * for (const idx of shuffledBatchIndices(9000, { batchSize: 64, rng })) { … }
 */
export function shuffledBatchIndices(count: number, options: BatchIndexOptions): Int32Array[] {
  const { batchSize, rng, dropLast = true } = options;
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw new SculptError(
      'shuffledBatchIndices',
      'batchSize must be a positive integer',
      `got ${batchSize}`,
    );
  }
  const order = rng ? rng.permutation(count) : Int32Array.from({ length: count }, (_, i) => i);
  const out: Int32Array[] = [];
  for (let start = 0; start < count; start += batchSize) {
    if (dropLast && start + batchSize > count) break;
    out.push(order.slice(start, Math.min(count, start + batchSize)));
  }
  return out;
}

/** Options of {@link imageBatches}. */
export interface ImageBatchOptions extends ImageTensorOptions {
  /** Examples per batch. */
  batchSize: number;
  /** Randomness: the shuffle of every epoch and the dynamic binarization draw from it. Required. */
  rng: Rng;
  /** Number of passes over the data. Default `1`; `Infinity` for an endless stream. */
  epochs?: number;
  /** Drop each epoch's last, smaller batch. Default `true`. */
  dropLast?: boolean;
}

/**
 * A seeded, shuffling batch iterator over an {@link ImageSet}. Each epoch is
 * a new permutation drawn from `rng`; with `binarize: 'dynamic'` every batch
 * is a fresh Bernoulli draw, so each epoch sees new binarizations. The same
 * seed gives the same batches in the same order.
 *
 * @param set - the images.
 * @param options - `batchSize`, `rng`, `epochs` (default 1), `dropLast` (default true), `range`, `binarize`.
 * @returns a generator of `{ images: [B,H,W,C], labels: [B], epoch, step }`; the caller owns (and must dispose) each batch's tensors.
 * @example
 * for (const batch of imageBatches(mnist.train, { batchSize: 128, rng: new Rng(0), epochs: 5, binarize: 'dynamic' })) {
 *   trainer.step(batch.images);
 *   tf.dispose([batch.images, batch.labels]);
 * }
 */
export function* imageBatches(
  set: ImageSet,
  options: ImageBatchOptions,
): Generator<ImageBatch & { epoch: number; step: number }> {
  const { batchSize, rng, epochs = 1, dropLast = true } = options;
  if (!rng)
    throw new SculptError(
      'imageBatches',
      'an rng is required',
      'got none',
      'pass { rng: new Rng(seed) }',
    );
  let step = 0;
  for (let epoch = 0; epoch < epochs; epoch++) {
    for (const indices of shuffledBatchIndices(set.count, { batchSize, rng, dropLast })) {
      const batch = imageSetTensors(set, {
        indices,
        range: options.range,
        binarize: options.binarize,
        rng,
      });
      yield { ...batch, epoch, step: step++ };
    }
  }
}
