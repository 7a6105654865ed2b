import { type ImageSet, subsetImages } from '../image-set.js';

/** Two unpaired image domains for CycleGAN-style translation. */
export interface UnpairedDomains {
  /** Domain A: plain digits (white on black). */
  readonly domainA: ImageSet;
  /** Domain B: {@link styleTransform}ed digits (thick, black on white), drawn from *other* images than A. */
  readonly domainB: ImageSet;
}

/**
 * The deterministic style of domain B: a 3×3 max filter (dilation: strokes
 * one pixel thicker on every side), then inversion `1 − p` (black ink on white).
 *
 * @param set - single-channel images in `[0, 1]`.
 * @returns a new {@link ImageSet} with the same labels.
 * @example
 * const styled = styleTransform(mnist.heldOut);
 */
export function styleTransform(set: ImageSet): ImageSet {
  const { height: h, width: w, channels: c } = set;
  const per = h * w * c;
  const images = new Float32Array(set.images.length);
  for (let n = 0; n < set.count; n++) {
    const src = set.images.subarray(n * per, (n + 1) * per);
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        for (let k = 0; k < c; k++) {
          let m = 0;
          for (let dy = -1; dy <= 1; dy++) {
            for (let dx = -1; dx <= 1; dx++) {
              const yy = y + dy;
              const xx = x + dx;
              if (yy >= 0 && yy < h && xx >= 0 && xx < w)
                m = Math.max(m, src[(yy * w + xx) * c + k]);
            }
          }
          images[n * per + (y * w + x) * c + k] = 1 - m;
        }
      }
    }
  }
  return { ...set, images, labels: Int32Array.from(set.labels) };
}

/**
 * Splits a set of digits into two unpaired domains: images at even positions
 * form domain A as they are; images at odd positions are {@link styleTransform}ed
 * into domain B. No image appears in both, so no (a, b) pair is shared.
 *
 * @param set - e.g. `mnist.train` or `mnist.heldOut`.
 * @returns `{ domainA, domainB }` (new arrays; labels kept for evaluation, not for training).
 * @example
 * const { domainA, domainB } = unpairedDigitDomains(mnist.train);
 */
export function unpairedDigitDomains(set: ImageSet): UnpairedDomains {
  const even: number[] = [];
  const odd: number[] = [];
  for (let i = 0; i < set.count; i++) (i % 2 === 0 ? even : odd).push(i);
  return { domainA: subsetImages(set, even), domainB: styleTransform(subsetImages(set, odd)) };
}
