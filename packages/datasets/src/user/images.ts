import { decodePngPixels, SculptError } from '@sculpt/core';
import { type ImageSet, makeImageSet } from '../image-set.js';
import { readFileBytes, requireNode } from '../node-io.js';

/** One decoded image: `height × width × channels` floats in `[0, 1]`. */
export interface DecodedImage {
  /** Pixels, row-major HWC. */
  readonly pixels: Float32Array;
  /** Height in pixels. */
  readonly height: number;
  /** Width in pixels. */
  readonly width: number;
  /** 1 (gray), 2 (gray + alpha), 3 (RGB) or 4 (RGBA). */
  readonly channels: number;
}

/**
 * Decodes PNG bytes (gray, gray + alpha, RGB, RGBA or palette; 1 to 16 bits)
 * with core's decoder. Works in Node and browsers.
 *
 * @param bytes - the PNG file.
 * @returns a {@link DecodedImage} with pixels in `[0, 1]` (the caller owns it).
 * @throws SculptError when the bytes are not a valid PNG.
 * @example
 * const img = decodePngImage(new Uint8Array(await (await fetch('/cat.png')).arrayBuffer()));
 */
export function decodePngImage(bytes: Uint8Array): DecodedImage {
  return decodePngPixels(bytes, 'decodePngImage');
}

/** Options of {@link loadImageFolder}. */
export interface ImageFolderOptions {
  /** Convert every image to this many channels: 1 (luma), 3 (RGB) or 4 (RGBA). Default: the first image's channel count (alpha dropped for 2-channel gray+alpha). */
  channels?: 1 | 3 | 4;
}

/**
 * Loads a folder of PNG images (Node). Files directly in `dir` get label
 * `-1`; files in sub-folders get the sub-folder's index in sorted order as
 * their label (an ImageNet-style class layout). Files are read in sorted
 * order, so the result is deterministic. All images must share one size.
 *
 * @param dir - the folder.
 * @param options - `channels` (see {@link ImageFolderOptions}).
 * @returns `{ set, classNames, files }`: an {@link ImageSet}, the sub-folder names by label, and the file of each image.
 * @example
 * const { set, classNames } = await loadImageFolder('./my-sprites');
 * const { images } = imageSetTensors(set, { range: '-1,1' });
 */
export async function loadImageFolder(
  dir: string,
  options: ImageFolderOptions = {},
): Promise<{ set: ImageSet; classNames: string[]; files: string[] }> {
  requireNode(
    'loadImageFolder',
    'in browsers, decode each file with decodePngImage and build the set with makeImageSet',
  );
  const fs = await import(/* webpackIgnore: true */ /* @vite-ignore */ 'node:fs/promises');
  const path = await import(/* webpackIgnore: true */ /* @vite-ignore */ 'node:path');
  const entries = (await fs.readdir(dir, { withFileTypes: true })).sort((a, b) =>
    a.name < b.name ? -1 : 1,
  );
  const classNames = entries.filter((e) => e.isDirectory()).map((e) => e.name);
  const files: { file: string; label: number }[] = [];
  for (const e of entries)
    if (e.isFile() && /\.png$/i.test(e.name))
      files.push({ file: path.join(dir, e.name), label: -1 });
  for (let label = 0; label < classNames.length; label++) {
    const sub = (await fs.readdir(path.join(dir, classNames[label])))
      .filter((f) => /\.png$/i.test(f))
      .sort();
    for (const f of sub) files.push({ file: path.join(dir, classNames[label], f), label });
  }
  if (files.length === 0)
    throw new SculptError(
      'loadImageFolder',
      `expected PNG files in ${dir}`,
      'got none',
      'put .png files in the folder (or in one sub-folder per class)',
    );
  const decoded: DecodedImage[] = [];
  for (const { file } of files) decoded.push(decodePngImage(await readFileBytes(file)));
  const first = decoded[0];
  const channels = options.channels ?? (first.channels === 2 ? 1 : first.channels);
  const per = first.height * first.width * channels;
  const images = new Float32Array(decoded.length * per);
  decoded.forEach((img, i) => {
    if (img.height !== first.height || img.width !== first.width) {
      throw new SculptError(
        'loadImageFolder',
        `all images must be ${first.width}×${first.height}`,
        `got ${img.width}×${img.height} in ${files[i].file}`,
        'resize the images to one size',
      );
    }
    images.set(convertChannels(img, channels), i * per);
  });
  const set = makeImageSet({
    images,
    labels: Int32Array.from(files, (f) => f.label),
    height: first.height,
    width: first.width,
    channels,
    numClasses: classNames.length > 0 ? classNames.length : undefined,
  });
  return { set, classNames, files: files.map((f) => f.file) };
}

/** Converts HWC pixels between 1–4 channels (luma by ITU-R BT.601 weights; alpha defaults to 1). */
function convertChannels(img: DecodedImage, to: number): Float32Array {
  const n = img.height * img.width;
  const from = img.channels;
  if (from === to) return img.pixels;
  const out = new Float32Array(n * to);
  for (let i = 0; i < n; i++) {
    const p = img.pixels.subarray(i * from, (i + 1) * from);
    const gray = from <= 2;
    const r = p[0];
    const g = gray ? p[0] : p[1];
    const b = gray ? p[0] : p[2];
    const a = from === 2 ? p[1] : from === 4 ? p[3] : 1;
    if (to === 1) out[i] = 0.299 * r + 0.587 * g + 0.114 * b;
    else {
      out[i * to] = r;
      out[i * to + 1] = g;
      out[i * to + 2] = b;
      if (to === 4) out[i * to + 3] = a;
    }
  }
  return out;
}

/**
 * Loads a user's text file: a local path (Node) or a URL (browser: serve it with your app).
 *
 * @param source - `{ path }` or `{ url }`.
 * @returns the text, with `\r\n` normalised to `\n`.
 * @example
 * const text = await loadTextFile({ path: './poems.txt' });
 * const vocab = charVocab({ text });
 */
export async function loadTextFile(source: { path: string } | { url: string }): Promise<string> {
  let text: string;
  if ('path' in source) {
    requireNode('loadTextFile', 'in browsers pass { url }');
    const fs = await import(/* webpackIgnore: true */ /* @vite-ignore */ 'node:fs/promises');
    text = await fs.readFile(source.path, 'utf8');
  } else {
    const response = await fetch(source.url);
    if (!response.ok)
      throw new SculptError(
        'loadTextFile',
        `expected HTTP 200 for ${source.url}`,
        `got ${response.status}`,
      );
    text = await response.text();
  }
  return text.replace(/\r\n?/g, '\n');
}
