import * as realFs from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { decode, encode } from 'fast-png';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SculptError } from '../errors.js';
import { Rng } from '../random/rng.js';
import { expectNoLeak } from '../testing/index.js';
import { decodePng, encodePng, imageGrid, readPng, writePng } from './png.js';

let root: string;
beforeAll(async () => {
  await tf.setBackend('cpu');
  root = await realFs.mkdtemp(join(tmpdir(), 'sculpt-png-'));
});
afterAll(async () => {
  await realFs.rm(root, { recursive: true, force: true });
});

/** The 8-bit level a value in [0, 1] quantises to, computed independently of the code under test. */
const level = (v: number) =>
  Number.isNaN(v) ? 0 : Math.min(255, Math.max(0, Math.round(v * 255)));

async function caught(fn: () => unknown): Promise<Error> {
  try {
    await fn();
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a throw');
}

describe('encodePng / decodePng', () => {
  it('round-trips RGB to the quantised input, clamping what is out of range', async () => {
    const image = new Rng(1).uniform([5, 7, 3], { min: -0.2, max: 1.2 }) as tf.Tensor3D;
    const bytes = await encodePng(image);
    expect(Array.from(bytes.subarray(0, 8))).toEqual([
      0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a,
    ]);
    expect(decode(bytes)).toMatchObject({ width: 7, height: 5, channels: 3, depth: 8 });
    const back = decodePng(bytes);
    expect(back.shape).toEqual([5, 7, 3]);
    expect(back.dtype).toBe('float32');
    const expected = Array.from(image.dataSync(), (v) => Math.fround(level(v) / 255));
    expect(Array.from(back.dataSync())).toEqual(expected);
    tf.dispose([image, back]);
  });

  it('maps range [-1, 1] onto all 256 levels exactly', async () => {
    const levels = Array.from({ length: 256 }, (_, k) => (k / 255) * 2 - 1);
    const image = tf.tensor2d(levels, [16, 16]);
    const raw = decode(await encodePng(image, { range: [-1, 1] }));
    expect(raw.channels).toBe(1);
    expect(Array.from(raw.data)).toEqual(Array.from({ length: 256 }, (_, k) => k));
    image.dispose();
  });

  it('clamps and maps NaN to 0', async () => {
    const image = tf.tensor2d([-5, 5, Number.NaN, 0.5], [1, 4]);
    const raw = decode(await encodePng(image));
    expect(Array.from(raw.data)).toEqual([0, 255, 0, 128]);
    image.dispose();
  });

  it.each([
    [[3, 2], 1],
    [[3, 2, 1], 1],
    [[3, 2, 2], 2],
    [[3, 2, 4], 4],
  ])('picks the PNG colour type from the shape %j (%i channels)', async (shape, channels) => {
    const image = new Rng(2).uniform(shape) as tf.Tensor3D;
    const bytes = await encodePng(image);
    expect(decode(bytes).channels).toBe(channels);
    const back = decodePng(bytes);
    expect(back.shape).toEqual([3, 2, channels]);
    expect(Array.from(back.dataSync())).toEqual(
      Array.from(image.dataSync(), (v) => Math.fround(level(v) / 255)),
    );
    tf.dispose([image, back]);
  });

  it('decodes 16-bit, 1-bit and palette PNGs', () => {
    const deep = decodePng(
      encode({
        width: 3,
        height: 1,
        depth: 16,
        channels: 1,
        data: new Uint16Array([0, 65535, 32768]),
      }),
    );
    expect(Array.from(deep.dataSync())).toEqual([0, 1, Math.fround(32768 / 65535)]);
    // 10 pixels a row: two bytes a row, the last 6 bits padding.
    const bits = decodePng(
      encode({
        width: 10,
        height: 2,
        depth: 1,
        channels: 1,
        data: new Uint8Array([0b10110000, 0b01000000, 0b01001111, 0b11000000]),
      }),
    );
    expect(bits.shape).toEqual([2, 10, 1]);
    expect(Array.from(bits.dataSync())).toEqual([
      1, 0, 1, 1, 0, 0, 0, 0, 0, 1, 0, 1, 0, 0, 1, 1, 1, 1, 1, 1,
    ]);
    const indexed = decodePng(
      encode({
        width: 2,
        height: 1,
        depth: 8,
        channels: 1,
        data: new Uint8Array([1, 0]),
        palette: [
          [255, 0, 0],
          [0, 51, 255],
        ],
      }),
    );
    expect(indexed.shape).toEqual([1, 2, 3]);
    expect(Array.from(indexed.dataSync())).toEqual([0, 0.2, 1, 1, 0, 0].map(Math.fround));
    tf.dispose([deep, bits, indexed]);
  });

  it('rejects wrong ranks, channel counts, ranges and bytes', async () => {
    const batch = tf.zeros([2, 4, 4, 3]);
    const five = tf.zeros([4, 4, 5]);
    const image = tf.zeros([4, 4]);
    let error = await caught(() => encodePng(batch as unknown as tf.Tensor3D));
    expect(error).toBeInstanceOf(SculptError);
    expect(error.message).toMatch(
      /^encodePng: image must be \[H, W\] or \[H, W, C\].*got \[2, 4, 4, 3\]. Fix: .*imageGrid/,
    );
    error = await caught(() => encodePng(five as tf.Tensor3D));
    expect(error.message).toMatch(/C = 1 \(gray\).*got \[4, 4, 5\]/);
    error = await caught(() => encodePng(image as tf.Tensor2D, { range: [1, 1] }));
    expect(error.message).toMatch(/finite low < high, got \[1,1\]/);
    error = await caught(() => decodePng(new Uint8Array([1, 2, 3, 4])));
    expect(error).toBeInstanceOf(SculptError);
    expect(error.message).toMatch(/^decodePng: expected bytes of a valid PNG/);
    tf.dispose([batch, five, image]);
  });

  it('leaks nothing', async () => {
    const image = new Rng(3).uniform([4, 4, 3]) as tf.Tensor3D;
    await expectNoLeak(async () => decodePng(await encodePng(image, { range: [-1, 1] })));
    image.dispose();
  });
});

describe('imageGrid', () => {
  it('lays images out row by row with padding and empty cells', () => {
    // Five 2×3 images; image i is filled with i + 1.
    const images = tf.tidy(() =>
      tf.mul(tf.ones([5, 2, 3, 1]), tf.reshape(tf.range(1, 6), [5, 1, 1, 1])),
    ) as tf.Tensor4D;
    const grid = imageGrid(images, { padding: 1, padValue: -1 });
    // Default columns ceil(sqrt(5)) = 3, rows 2 → [2·3+1, 3·4+1, 1].
    expect(grid.shape).toEqual([7, 13, 1]);
    const expected: number[] = [];
    for (let y = 0; y < 7; y++) {
      for (let x = 0; x < 13; x++) {
        const inImage = y % 3 !== 0 && x % 4 !== 0;
        const index = Math.floor(y / 3) * 3 + Math.floor(x / 4);
        expected.push(inImage && index < 5 ? index + 1 : -1);
      }
    }
    expect(Array.from(grid.dataSync())).toEqual(expected);
    tf.dispose([images, grid]);
  });

  it('keeps pixels in place for columns = N, padding 0', () => {
    const images = new Rng(4).uniform([3, 2, 2, 3]) as tf.Tensor4D;
    const grid = imageGrid(images, { columns: 3, padding: 0 });
    expect(grid.shape).toEqual([2, 6, 3]);
    const src = images.arraySync();
    const out = grid.arraySync();
    for (let i = 0; i < 3; i++) {
      for (let y = 0; y < 2; y++)
        for (let x = 0; x < 2; x++) expect(out[y][i * 2 + x]).toEqual(src[i][y][x]);
    }
    tf.dispose([images, grid]);
  });

  it('rejects wrong ranks and options, and leaks nothing', async () => {
    const image = tf.zeros([4, 4, 1]);
    const images = tf.zeros([3, 4, 4, 1]) as tf.Tensor4D;
    expect(() => imageGrid(image as unknown as tf.Tensor4D)).toThrow(
      /^imageGrid: images must be \[N, H, W, C\].*got \[4, 4, 1\]. Fix: .*expandDims/,
    );
    expect(() => imageGrid(images, { columns: 0 })).toThrow(
      /columns must be a positive integer, got 0/,
    );
    expect(() => imageGrid(images, { padding: 1.5 })).toThrow(
      /padding must be a non-negative integer/,
    );
    await expectNoLeak(() => imageGrid(images, { columns: 2 }));
    tf.dispose([image, images]);
  });
});

describe('writePng / readPng', () => {
  it('round-trips through a file', async () => {
    const images = new Rng(5).uniform([4, 8, 8, 3], { min: -1, max: 1 }) as tf.Tensor4D;
    const grid = imageGrid(images, { columns: 2 });
    const path = join(root, 'grid.png');
    await writePng(path, grid, { range: [-1, 1] });
    const back = await readPng(path);
    expect(back.shape).toEqual([22, 22, 3]); // 2·(8 + 2) + 2
    expect(Array.from(back.dataSync())).toEqual(
      Array.from(grid.dataSync(), (v) => Math.fround(level((v + 1) / 2) / 255)),
    );
    tf.dispose([images, grid, back]);
  });

  it('names the path in errors', async () => {
    expect((await caught(() => readPng(join(root, 'missing.png')))).message).toMatch(
      /^readPng: a readable file at .*missing\.png, got ENOENT/,
    );
    const image = tf.zeros([2, 2]) as tf.Tensor2D;
    expect(
      (await caught(() => writePng(join(root, 'no', 'such', 'dir.png'), image))).message,
    ).toMatch(/^writePng: to write .*dir\.png/);
    await realFs.writeFile(join(root, 'bad.png'), 'not a png');
    expect((await caught(() => readPng(join(root, 'bad.png')))).message).toMatch(
      /^readPng: a valid PNG at .*bad\.png/,
    );
    image.dispose();
  });
});
