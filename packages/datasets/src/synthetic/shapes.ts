import type { Rng } from '@sculpt/core';
import { SculptError } from '@sculpt/core';
import { type ImageSet, makeImageSet } from '../image-set.js';

/** Class names of {@link shapeImages}, by label. */
export const SHAPE_CLASSES: readonly string[] = Object.freeze(['circle', 'square', 'triangle']);

/** The largest set {@link shapeImages} makes: its pixels are one Float32Array. */
const MAX_PIXELS = 2 ** 28;

/**
 * Small procedurally drawn grayscale shapes — white circles, squares and
 * upward triangles on black, with random centre and size — for quick tests of
 * image models and conditional generation. Edges are anti-aliased by 4×4
 * supersampling.
 *
 * @param options - `count`, `rng`, `size` (image side, default 16).
 * @returns an {@link ImageSet} `[count, size, size, 1]`, labels 0 circle / 1 square / 2 triangle (cycled, so classes are balanced).
 * @example
 * const shapes = shapeImages({ count: 256, rng: new Rng(0) });
 */
export function shapeImages(options: { count: number; rng: Rng; size?: number }): ImageSet {
  const { count, rng, size = 16 } = options;
  if (!Number.isInteger(count) || count < 0 || !Number.isInteger(size) || size < 8) {
    throw new SculptError(
      'shapeImages',
      'count must be a non-negative integer and size an integer ≥ 8',
      `got count=${count}, size=${size}`,
    );
  }
  if (count * size * size > MAX_PIXELS)
    throw new SculptError(
      'shapeImages',
      `at most ${MAX_PIXELS.toLocaleString('en-US')} pixels in all (1 GiB of float32)`,
      `got ${count} images of ${size}×${size}`,
      'make fewer or smaller images, e.g. count: 10000, size: 16',
    );
  const params = rng.uniformArray(3 * count);
  const images = new Float32Array(count * size * size);
  const labels = new Int32Array(count);
  const sub = 4;
  for (let n = 0; n < count; n++) {
    const label = n % 3;
    labels[n] = label;
    // Half-extent r in [0.2, 0.35]·size; the centre keeps the shape inside the frame.
    const r = size * (0.2 + 0.15 * params[3 * n]);
    const cx = r + (size - 2 * r) * params[3 * n + 1];
    const cy = r + (size - 2 * r) * params[3 * n + 2];
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        let hits = 0;
        for (let sy = 0; sy < sub; sy++) {
          for (let sx = 0; sx < sub; sx++) {
            const px = x + (sx + 0.5) / sub - cx;
            const py = y + (sy + 0.5) / sub - cy;
            if (inside(label, px, py, r)) hits++;
          }
        }
        images[n * size * size + y * size + x] = hits / (sub * sub);
      }
    }
  }
  return makeImageSet({ images, labels, height: size, width: size, channels: 1, numClasses: 3 });
}

function inside(label: number, px: number, py: number, r: number): boolean {
  if (label === 0) return px * px + py * py <= r * r;
  if (label === 1) return Math.abs(px) <= r * 0.85 && Math.abs(py) <= r * 0.85;
  // Upward triangle: apex (0, −r), base from (−r, r) to (r, r).
  return py <= r && py >= -r && Math.abs(px) <= (py + r) / 2;
}
