// PNG images from tensors and back, via fast-png (pure JS: Node and browsers),
// and torchvision-style image grids.
import * as tf from '@tensorflow/tfjs-core';
import { convertIndexedToRgb, type DecodedPng, decode, encode } from 'fast-png';
import { formatShape, SculptError } from '../errors.js';

/** Options of {@link encodePng} and {@link writePng}. */
export interface EncodePngOptions {
  /** The values that map to black (0) and white (255); values outside are clamped. Default: `[0, 1]` (use `[-1, 1]` for tanh outputs). */
  range?: [number, number];
}

/** Options of {@link imageGrid}. */
export interface ImageGridOptions {
  /** Images per row. Default: `ceil(sqrt(N))`. */
  columns?: number;
  /** Pixels between images and around the border. Default: `2`. */
  padding?: number;
  /** The value of padding and empty cells. Default: `0`. */
  padValue?: number;
}

const CHANNELS_HELP = 'C = 1 (gray), 2 (gray + alpha), 3 (RGB) or 4 (RGBA)';

function checkImage(
  where: string,
  image: tf.Tensor,
): { height: number; width: number; channels: number } {
  if (!(image instanceof tf.Tensor)) {
    throw new SculptError(where, 'image must be a tf.Tensor', `got ${typeof image}`);
  }
  const [height, width, channels = 1] = image.shape;
  const okRank = image.rank === 2 || image.rank === 3;
  if (!okRank || channels < 1 || channels > 4 || height < 1 || width < 1) {
    const fix =
      image.rank === 4
        ? 'for a batch [N, H, W, C], make one image with imageGrid(images)'
        : 'reshape it to [H, W, C]';
    throw new SculptError(
      where,
      `image must be [H, W] or [H, W, C] with H, W ≥ 1 and ${CHANNELS_HELP}`,
      `got ${formatShape(image.shape)}`,
      fix,
    );
  }
  if (image.dtype === 'string' || image.dtype === 'complex64') {
    throw new SculptError(where, 'image must be float32, int32 or bool', `got ${image.dtype}`);
  }
  return { height, width, channels };
}

/**
 * Encodes an image tensor as an 8-bit PNG: `[H, W]` or `[H, W, 1]` → grayscale,
 * 2 channels → gray + alpha, 3 → RGB, 4 → RGBA. Values are mapped from `range`
 * to 0…255, rounded to nearest (ties to even) and clamped; NaN becomes 0.
 *
 * @param image - `[H, W]` or `[H, W, C]`, C in 1…4; not disposed (the caller keeps it).
 * @param options - `range` (default `[0, 1]`).
 * @returns the PNG file's bytes (a new `Uint8Array`).
 * @throws SculptError for a wrong rank or channel count, or a bad range.
 * @example
 * ```ts
 * const bytes = await encodePng(imageGrid(samples), { range: [-1, 1] });
 * ```
 */
export async function encodePng(
  image: tf.Tensor2D | tf.Tensor3D,
  options: EncodePngOptions = {},
): Promise<Uint8Array> {
  const where = 'encodePng';
  const { height, width, channels } = checkImage(where, image);
  const [low, high] = options.range ?? [0, 1];
  if (!Number.isFinite(low) || !Number.isFinite(high) || !(low < high)) {
    throw new SculptError(
      where,
      'range must be [low, high] with finite low < high',
      `got ${JSON.stringify(options.range)}`,
    );
  }
  const scaled = tf.tidy(() => tf.mul(tf.sub(tf.cast(image, 'float32'), low), 255 / (high - low)));
  const values = await scaled.data();
  scaled.dispose();
  // Uint8ClampedArray rounds half to even, clamps to [0, 255] and maps NaN to 0.
  const data = new Uint8Array(Uint8ClampedArray.from(values).buffer);
  return encode({ width, height, data, depth: 8, channels });
}

/** Unpacks 1/2/4-bit samples (MSB first, each row starting on a byte). */
function unpackLowDepth(png: DecodedPng): Uint8Array {
  const { width, height, channels, depth } = png;
  const perRow = width * channels;
  const bytesPerRow = Math.ceil((perRow * depth) / 8);
  const mask = (1 << depth) - 1;
  const out = new Uint8Array(perRow * height);
  for (let y = 0; y < height; y++) {
    for (let i = 0; i < perRow; i++) {
      const bit = i * depth;
      const byte = png.data[y * bytesPerRow + (bit >> 3)];
      out[y * perRow + i] = (byte >> (8 - depth - (bit & 7))) & mask;
    }
  }
  return out;
}

/** A decoded PNG as plain floats: what {@link decodePngPixels} returns. */
export interface PngPixels {
  /** Row-major `height × width × channels` samples in [0, 1]. */
  readonly pixels: Float32Array;
  readonly height: number;
  readonly width: number;
  /** 1 (gray), 2 (gray + alpha), 3 (RGB) or 4 (RGBA). */
  readonly channels: number;
}

/**
 * Decodes a PNG (gray, gray + alpha, RGB, RGBA or palette; 1 to 16 bits) into
 * plain floats in [0, 1], without tfjs. Palette images become RGB (RGBA with
 * transparency); 1/2/4-bit samples are unpacked.
 *
 * @param bytes - the PNG file's bytes.
 * @returns pixels, height, width and channels.
 * @throws SculptError when the bytes are not a valid PNG.
 * @example
 * ```ts
 * const { pixels, width, height } = decodePngPixels(new Uint8Array(await (await fetch('digit.png')).arrayBuffer()));
 * ```
 */
export function decodePngPixels(bytes: Uint8Array, where = 'decodePngPixels'): PngPixels {
  let png: DecodedPng;
  try {
    png = decode(bytes);
  } catch (error) {
    throw new SculptError(
      where,
      'expected bytes of a valid PNG',
      `got an error decoding them: ${(error as Error).message}`,
      'check that the file is a complete PNG',
    );
  }
  let samples: ArrayLike<number> = png.data;
  let channels = png.channels;
  let max = 2 ** png.depth - 1;
  if (png.palette) {
    samples = convertIndexedToRgb(png);
    channels = png.palette[0].length;
    max = 255;
  } else if (png.depth < 8) {
    samples = unpackLowDepth(png);
  }
  const pixels = Float32Array.from(samples, (v) => v / max);
  return { pixels, height: png.height, width: png.width, channels };
}

/**
 * Decodes a PNG (gray, gray + alpha, RGB, RGBA or palette; 1 to 16 bits) into
 * a float32 tensor in [0, 1]. Palette images become RGB (RGBA with transparency).
 *
 * @param bytes - the PNG file's bytes.
 * @returns `[H, W, C]` float32 in [0, 1], C in 1…4; a new tensor the caller owns.
 * @throws SculptError when the bytes are not a valid PNG.
 * @example
 * ```ts
 * const image = decodePng(new Uint8Array(await (await fetch('digit.png')).arrayBuffer()));
 * ```
 */
export function decodePng(bytes: Uint8Array): tf.Tensor3D {
  const { pixels, height, width, channels } = decodePngPixels(bytes, 'decodePng');
  return tf.tensor3d(pixels, [height, width, channels]);
}

/**
 * Tiles a batch of images into one image, row by row, as torchvision's
 * `make_grid`: `padding` pixels between images and around the border, empty
 * cells filled with `padValue`.
 *
 * @param images - `[N, H, W, C]`; not disposed.
 * @param options - `columns` (default `ceil(sqrt(N))`), `padding` (default `2`), `padValue` (default `0`).
 * @returns `[rows·(H+p)+p, columns·(W+p)+p, C]` with `rows = ceil(N / columns)`,
 *   float32 (int32 stays int32); a new tensor the caller owns.
 * @throws SculptError for a tensor that is not rank 4 or bad options.
 * @example
 * ```ts
 * const grid = imageGrid(samples, { columns: 8 });   // [N, 28, 28, 1] → one image
 * await writePng('samples.png', grid);
 * grid.dispose();
 * ```
 */
export function imageGrid(images: tf.Tensor4D, options: ImageGridOptions = {}): tf.Tensor3D {
  const where = 'imageGrid';
  if (!(images instanceof tf.Tensor) || images.rank !== 4 || images.shape[0] < 1) {
    const shape = images instanceof tf.Tensor ? formatShape(images.shape) : typeof images;
    throw new SculptError(
      where,
      'images must be [N, H, W, C] with N ≥ 1',
      `got ${shape}`,
      'for a single [H, W, C] image use tf.expandDims(image, 0)',
    );
  }
  const [n, h, w, c] = images.shape;
  const { columns = Math.ceil(Math.sqrt(n)), padding = 2, padValue = 0 } = options;
  if (!Number.isInteger(columns) || columns < 1)
    throw new SculptError(where, 'columns must be a positive integer', `got ${columns}`);
  if (!Number.isInteger(padding) || padding < 0)
    throw new SculptError(where, 'padding must be a non-negative integer', `got ${padding}`);
  if (!Number.isFinite(padValue))
    throw new SculptError(where, 'padValue must be a finite number', `got ${padValue}`);
  const rows = Math.ceil(n / columns);
  const p = padding;
  return tf.tidy(() => {
    let x: tf.Tensor = images.dtype === 'int32' ? images : tf.cast(images, 'float32');
    if (rows * columns > n)
      x = tf.concat([x, tf.fill([rows * columns - n, h, w, c], padValue, x.dtype)], 0);
    x = tf.pad(
      x,
      [
        [0, 0],
        [0, p],
        [0, p],
        [0, 0],
      ],
      padValue,
    ); // [cells, H+p, W+p, C]
    x = tf.reshape(x, [rows, columns, h + p, w + p, c]);
    x = tf.transpose(x, [0, 2, 1, 3, 4]); // [rows, H+p, columns, W+p, C]
    x = tf.reshape(x, [rows * (h + p), columns * (w + p), c]);
    return tf.pad(
      x,
      [
        [p, 0],
        [p, 0],
        [0, 0],
      ],
      padValue,
    ) as tf.Tensor3D;
  });
}

/**
 * Node only: encodes an image (see {@link encodePng}) and writes it to `path`.
 * `node:fs` is imported dynamically, so browser bundles never load it.
 *
 * @param path - the file to write, e.g. `'runs/mnist/samples-1200.png'` (its directory must exist).
 * @param image - `[H, W]` or `[H, W, C]`; not disposed.
 * @param options - `range` (default `[0, 1]`).
 * @returns when the file is written.
 * @example
 * ```ts
 * await writePng('grid.png', imageGrid(samples), { range: [-1, 1] });
 * ```
 */
export async function writePng(
  path: string,
  image: tf.Tensor2D | tf.Tensor3D,
  options: EncodePngOptions = {},
): Promise<void> {
  const bytes = await encodePng(image, options);
  const fs = await import('node:fs/promises');
  try {
    await fs.writeFile(path, bytes);
  } catch (error) {
    throw new SculptError(
      'writePng',
      `to write ${path}`,
      `got ${(error as Error).message}`,
      'check that the directory exists and is writable',
    );
  }
}

/**
 * Node only: reads a PNG file into a `[H, W, C]` float32 tensor in [0, 1] (see {@link decodePng}).
 *
 * @param path - the PNG file.
 * @returns a new tensor the caller owns.
 * @example
 * ```ts
 * const image = await readPng('digit.png');   // [28, 28, 1]
 * ```
 */
export async function readPng(path: string): Promise<tf.Tensor3D> {
  const fs = await import('node:fs/promises');
  let buffer: Uint8Array;
  try {
    buffer = await fs.readFile(path);
  } catch (error) {
    throw new SculptError(
      'readPng',
      `a readable file at ${path}`,
      `got ${(error as Error).message}`,
      'check the path',
    );
  }
  try {
    return decodePng(new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength));
  } catch (error) {
    throw new SculptError(
      'readPng',
      `a valid PNG at ${path}`,
      `got ${(error as Error).message}`,
      'check that the file is a complete PNG',
    );
  }
}
