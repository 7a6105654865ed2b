// Captions made from the data: each digit image is measured (stroke
// thickness, slant, size) and described in words, so that a text-to-image
// model can be trained on MNIST and its samples checked against their prompts.
//
// Notation (image moments, Hu 1962): for pixel intensities I(x, y) with x the
// column and y the row (downwards), m_pq = Σ xᵖ yᑫ I, centred moments
// μ_pq = Σ (x − x̄)ᵖ (y − ȳ)ᑫ I.
import { SculptError } from '@sculpt/core';
import type { ImageSet } from '../image-set.js';

/** Pixels above this count as ink for the perimeter and the bounding box. */
const INK = 0.5;

/** What {@link measureDigit} reads off one image. */
export interface DigitMeasures {
  /**
   * Stroke thickness in pixels: 2 · ink mass / ink perimeter. A stroke of
   * width w and length L has mass ≈ wL and perimeter ≈ 2(w + L), so this is
   * ≈ w for long strokes. Robust: no skeletonisation, and both terms grow
   * with the number of strokes, so a busy 8 and a plain 1 of the same pen
   * read alike.
   */
  readonly thickness: number;
  /**
   * Slant as the shear x per unit y, −μ11/μ02 (rows run downwards, so a digit
   * leaning right, like "/", reads positive). 0 = upright.
   */
  readonly slant: number;
  /** Height of the ink's bounding box in pixels. */
  readonly height: number;
  /** Total ink (sum of intensities). */
  readonly mass: number;
}

/**
 * Measures one grayscale image (`height × width` floats in [0, 1], row-major).
 * @param options - `pixels`, `height`, `width`.
 * @returns plain numbers (all 0 for an empty image).
 * @example
 * ```ts
 * const m = measureDigit({ pixels: mnist.train.images.subarray(0, 784), height: 28, width: 28 });
 * ```
 */
export function measureDigit(options: {
  pixels: ArrayLike<number>;
  height: number;
  width: number;
}): DigitMeasures {
  const { pixels, height: h, width: w } = options;
  if (pixels.length !== h * w) {
    throw new SculptError(
      'measureDigit',
      `expected ${h}×${w} = ${h * w} pixels`,
      `got ${pixels.length}`,
      'pass one grayscale image (channels = 1)',
    );
  }
  const mass = sum(pixels);
  if (mass <= 0) return { thickness: 0, slant: 0, height: 0, mass: 0 };
  return {
    thickness: (2 * mass) / Math.max(1, perimeter(pixels, h, w)),
    slant: slantOf(pixels, h, w, mass),
    height: inkHeight(pixels, h, w),
    mass,
  };
}

function sum(a: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i];
  return s;
}

/** Edges between an ink pixel and a non-ink pixel (or the frame), 4-neighbourhood. */
function perimeter(p: ArrayLike<number>, h: number, w: number): number {
  const ink = (y: number, x: number) => y >= 0 && y < h && x >= 0 && x < w && p[y * w + x] > INK;
  let edges = 0;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      if (!ink(y, x)) continue;
      edges += +!ink(y - 1, x) + +!ink(y + 1, x) + +!ink(y, x - 1) + +!ink(y, x + 1);
    }
  }
  return edges;
}

function slantOf(p: ArrayLike<number>, h: number, w: number, mass: number): number {
  let mx = 0;
  let my = 0;
  for (let i = 0; i < h * w; i++) {
    mx += (i % w) * p[i];
    my += Math.floor(i / w) * p[i];
  }
  const [cx, cy] = [mx / mass, my / mass];
  let mu11 = 0;
  let mu02 = 0;
  for (let i = 0; i < h * w; i++) {
    const dx = (i % w) - cx;
    const dy = Math.floor(i / w) - cy;
    mu11 += dx * dy * p[i];
    mu02 += dy * dy * p[i];
  }
  return mu02 > 0 ? -mu11 / mu02 : 0;
}

function inkHeight(p: ArrayLike<number>, h: number, w: number): number {
  let top = h;
  let bottom = -1;
  for (let i = 0; i < h * w; i++) {
    if (p[i] <= INK) continue;
    const y = Math.floor(i / w);
    top = Math.min(top, y);
    bottom = Math.max(bottom, y);
  }
  return bottom < top ? 0 : bottom - top + 1;
}

/**
 * Measures every image of a grayscale set.
 * @returns one {@link DigitMeasures} per image.
 * @example
 * ```ts
 * const measures = measureImageSet(mnist.train);
 * ```
 */
export function measureImageSet(set: ImageSet): DigitMeasures[] {
  if (set.channels !== 1) {
    throw new SculptError(
      'measureImageSet',
      'expected a grayscale set (channels = 1)',
      `got ${set.channels} channels`,
    );
  }
  const size = set.height * set.width;
  return Array.from({ length: set.count }, (_, i) =>
    measureDigit({
      pixels: set.images.subarray(i * size, (i + 1) * size),
      height: set.height,
      width: set.width,
    }),
  );
}
