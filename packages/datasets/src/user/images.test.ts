import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encode } from 'fast-png';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodePngImage, loadImageFolder, loadTextFile } from './images.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sculpt-datasets-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('decodePngImage', () => {
  it('decodes 8-bit gray, 16-bit gray and RGBA to [0, 1]', () => {
    const gray = decodePngImage(
      encode({ width: 2, height: 1, data: Uint8Array.from([0, 255]), channels: 1, depth: 8 }),
    );
    expect(Array.from(gray.pixels)).toEqual([0, 1]);
    const deep = decodePngImage(
      encode({ width: 1, height: 1, data: Uint16Array.from([32768]), channels: 1, depth: 16 }),
    );
    expect(deep.pixels[0]).toBeCloseTo(32768 / 65535, 6);
    const rgba = decodePngImage(
      encode({
        width: 1,
        height: 1,
        data: Uint8Array.from([255, 0, 51, 102]),
        channels: 4,
        depth: 8,
      }),
    );
    expect(rgba.channels).toBe(4);
    expect(Array.from(rgba.pixels)).toEqual(Array.from(Float32Array.from([1, 0, 0.2, 0.4])));
    expect(() => decodePngImage(new Uint8Array([1, 2, 3]))).toThrow(
      /decodePngImage: expected bytes of a valid PNG/,
    );
  });

  it('unpacks 1-, 2- and 4-bit gray into [0, 1] (core decodes, no second decoder)', () => {
    const bits = decodePngImage(
      encode({ width: 3, height: 1, data: Uint8Array.from([0b10100000]), channels: 1, depth: 1 }),
    );
    expect(Array.from(bits.pixels)).toEqual([1, 0, 1]);
    const two = decodePngImage(
      encode({ width: 2, height: 1, data: Uint8Array.from([0b11010000]), channels: 1, depth: 2 }),
    );
    expect(Array.from(two.pixels)).toEqual([1, 1 / 3].map(Math.fround));
    const four = decodePngImage(
      encode({ width: 2, height: 1, data: Uint8Array.from([0xf3]), channels: 1, depth: 4 }),
    );
    expect(Array.from(four.pixels)).toEqual([1, 3 / 15].map(Math.fround));
    for (const img of [bits, two, four])
      for (const v of img.pixels) expect(v).toBeLessThanOrEqual(1);
  });
});

describe('loadImageFolder', () => {
  it('reads class sub-folders in sorted order and converts channels', async () => {
    const root = join(dir, 'classes');
    for (const [cls, value] of [
      ['b-dogs', 200],
      ['a-cats', 100],
    ] as const) {
      await mkdir(join(root, cls), { recursive: true });
      for (let i = 0; i < 2; i++) {
        const data = new Uint8Array(4 * 3 * 3).fill(value + i);
        await writeFile(
          join(root, cls, `${i}.png`),
          encode({ width: 4, height: 3, data, channels: 3, depth: 8 }),
        );
      }
    }
    const { set, classNames, files } = await loadImageFolder(root, { channels: 1 });
    expect(classNames).toEqual(['a-cats', 'b-dogs']);
    expect(Array.from(set.labels)).toEqual([0, 0, 1, 1]);
    expect([set.count, set.height, set.width, set.channels]).toEqual([4, 3, 4, 1]);
    expect(set.images[0]).toBeCloseTo(100 / 255, 5); // luma of a gray RGB pixel is the gray value
    expect(set.images[12 * 3]).toBeCloseTo(201 / 255, 5);
    expect(files[0]).toMatch(/a-cats.0\.png$/);
  });

  it('rejects mixed sizes and empty folders with a fix', async () => {
    const root = join(dir, 'mixed');
    await mkdir(root, { recursive: true });
    await writeFile(
      join(root, 'a.png'),
      encode({ width: 2, height: 2, data: new Uint8Array(4), channels: 1, depth: 8 }),
    );
    await writeFile(
      join(root, 'b.png'),
      encode({ width: 3, height: 2, data: new Uint8Array(6), channels: 1, depth: 8 }),
    );
    await expect(loadImageFolder(root)).rejects.toThrow(/all images must be 2×2, got 3×2/);
    await mkdir(join(dir, 'empty'));
    await expect(loadImageFolder(join(dir, 'empty'))).rejects.toThrow(/expected PNG files/);
  });

  it('loads a text file with normalised line endings', async () => {
    await writeFile(join(dir, 't.txt'), 'a\r\nb\rc');
    expect(await loadTextFile({ path: join(dir, 't.txt') })).toBe('a\nb\nc');
  });
});
