// Words from measurements: terciles of the training set's thickness, |slant|
// and height split each quantity into low / middle / high; the low and high
// thirds get a word ("thin"/"thick", "upright"/"slanted", "small"/"large"),
// the middle third none. Templates vary the wording and mix digit words with
// numerals, so a text encoder sees "a thick seven" and "thick 7" alike.
import type { Rng } from '@sculpt/core';
import { SculptError } from '@sculpt/core';
import type { ImageSet } from '../image-set.js';
import { type DigitMeasures, measureImageSet } from './captions.js';

/** The words for the digits 0–9. */
export const DIGIT_WORDS: readonly string[] = Object.freeze([
  'zero',
  'one',
  'two',
  'three',
  'four',
  'five',
  'six',
  'seven',
  'eight',
  'nine',
]);

/** The attribute words a caption can hold. */
export interface CaptionAttributes {
  readonly thickness?: 'thin' | 'thick';
  readonly slant?: 'upright' | 'slanted';
  readonly size?: 'small' | 'large';
}

/** Tercile edges `[low, high]` of each measured quantity on a training set. */
export interface CaptionBins {
  readonly thickness: readonly [number, number];
  /** Of |slant|. */
  readonly slant: readonly [number, number];
  readonly height: readonly [number, number];
}

/** Every word a caption from {@link digitCaption} can contain (for word tokenizers). */
export const CAPTION_WORDS: readonly string[] = Object.freeze([
  'a',
  'an',
  'the',
  'digit',
  'thin',
  'thick',
  'upright',
  'slanted',
  'small',
  'large',
  ...DIGIT_WORDS,
  ...DIGIT_WORDS.map((_, d) => String(d)),
]);

/** Number of wording templates of {@link digitCaption}. */
export const CAPTION_TEMPLATES = 4;

function terciles(values: number[]): readonly [number, number] {
  const sorted = Float64Array.from(values).sort();
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  return Object.freeze([at(1 / 3), at(2 / 3)]) as readonly [number, number];
}

/**
 * Tercile edges of thickness, |slant| and height over a training set's measures.
 * @returns a frozen {@link CaptionBins} (store it with a model so prompts keep their meaning).
 * @example
 * ```ts
 * const bins = captionBins(measureImageSet(mnist.train));
 * ```
 */
export function captionBins(measures: readonly DigitMeasures[]): CaptionBins {
  if (measures.length < 3) {
    throw new SculptError(
      'captionBins',
      'expected at least 3 measured images',
      `got ${measures.length}`,
      'measure the training set (measureImageSet)',
    );
  }
  return Object.freeze({
    thickness: terciles(measures.map((m) => m.thickness)),
    slant: terciles(measures.map((m) => Math.abs(m.slant))),
    height: terciles(measures.map((m) => m.height)),
  });
}

function pick<T>(v: number, [lo, hi]: readonly [number, number], low: T, high: T): T | undefined {
  // Strict on both sides: a value on an edge is "middle", so a quantity with
  // many ties (MNIST heights: most digits are 20 px tall) gets no word there.
  if (v < lo) return low;
  return v > hi ? high : undefined;
}

/**
 * The attribute words for one image's measures.
 * @example
 * ```ts
 * captionAttributes(measureDigit({ pixels, height: 28, width: 28 }), bins); // { thickness: 'thick' }
 * ```
 */
export function captionAttributes(m: DigitMeasures, bins: CaptionBins): CaptionAttributes {
  const out: { -readonly [K in keyof CaptionAttributes]: CaptionAttributes[K] } = {};
  const thickness = pick(m.thickness, bins.thickness, 'thin' as const, 'thick' as const);
  const slant = pick(Math.abs(m.slant), bins.slant, 'upright' as const, 'slanted' as const);
  const size = pick(m.height, bins.height, 'small' as const, 'large' as const);
  if (thickness) out.thickness = thickness;
  if (slant) out.slant = slant;
  if (size) out.size = size;
  return Object.freeze(out);
}

const article = (next: string) => (/^(8|eight|upright)\b/.test(next) ? 'an' : 'a');

/**
 * A caption for a digit with attributes, in one of {@link CAPTION_TEMPLATES} wordings:
 * 0 "a thick slanted seven", 1 "a thick slanted 7", 2 "thick slanted seven", 3 "the thick slanted digit 7".
 * @param options - `digit` (0–9), `attributes`, `template` (default 0).
 * @example
 * ```ts
 * digitCaption({ digit: 7, attributes: { thickness: 'thick' } }); // 'a thick seven'
 * ```
 */
export function digitCaption(options: {
  digit: number;
  attributes?: CaptionAttributes;
  template?: number;
}): string {
  const { digit, attributes = {}, template = 0 } = options;
  if (!(Number.isInteger(digit) && digit >= 0 && digit <= 9)) {
    throw new SculptError('digitCaption', 'expected a digit in 0–9', `got ${digit}`);
  }
  const words = [attributes.size, attributes.thickness, attributes.slant].filter(Boolean);
  const attrs = words.join(' ');
  const phrase = (noun: string) => (attrs ? `${attrs} ${noun}` : noun);
  switch (((template % CAPTION_TEMPLATES) + CAPTION_TEMPLATES) % CAPTION_TEMPLATES) {
    case 0:
      return `${article(phrase(DIGIT_WORDS[digit]))} ${phrase(DIGIT_WORDS[digit])}`;
    case 1:
      return `${article(phrase(String(digit)))} ${phrase(String(digit))}`;
    case 2:
      return phrase(DIGIT_WORDS[digit]);
    default:
      return `the ${phrase(`digit ${digit}`)}`;
  }
}

/** What {@link parseCaption} reads back. */
export interface ParsedCaption {
  /** The digit named, or -1 when none is. */
  readonly digit: number;
  readonly attributes: CaptionAttributes;
}

/**
 * Reads the digit and attribute words back out of a caption (to check samples against prompts).
 * @example
 * ```ts
 * parseCaption('a thick slanted 7'); // { digit: 7, attributes: { thickness: 'thick', slant: 'slanted' } }
 * ```
 */
export function parseCaption(text: string): ParsedCaption {
  const words = text.toLowerCase().split(/[^a-z0-9]+/);
  let digit = -1;
  const attributes: { -readonly [K in keyof CaptionAttributes]: CaptionAttributes[K] } = {};
  for (const w of words) {
    if (DIGIT_WORDS.includes(w)) digit = DIGIT_WORDS.indexOf(w);
    else if (/^[0-9]$/.test(w)) digit = Number(w);
    else if (w === 'thin' || w === 'thick') attributes.thickness = w;
    else if (w === 'upright' || w === 'slanted') attributes.slant = w;
    else if (w === 'small' || w === 'large') attributes.size = w;
  }
  return Object.freeze({ digit, attributes: Object.freeze(attributes) });
}

/**
 * One caption per image of a labelled digit set, the wording drawn from `rng`.
 * @param options - `set` (labels = digits), `bins` (default: the set's own terciles), `rng`.
 * @returns `{ captions, bins }`: the bins used (keep the training set's for held-out data).
 * @example
 * ```ts
 * const { captions, bins } = captionImageSet({ set: mnist.train, rng: new Rng(0) });
 * const held = captionImageSet({ set: mnist.test, bins, rng: new Rng(1) }).captions;
 * ```
 */
export function captionImageSet(options: { set: ImageSet; bins?: CaptionBins; rng: Rng }): {
  captions: string[];
  bins: CaptionBins;
} {
  const { set, rng } = options;
  if (typeof (rng as Partial<Rng> | undefined)?.uniformArray !== 'function')
    throw new SculptError(
      'captionImageSet',
      'an rng (it picks each caption template)',
      `got ${rng === undefined ? 'none' : typeof rng}`,
      'pass { set, rng: new Rng(seed) }',
    );
  const measures = measureImageSet(set);
  const bins = options.bins ?? captionBins(measures);
  const draws = rng.uniformArray(set.count);
  const captions = measures.map((m, i) =>
    digitCaption({
      digit: set.labels[i],
      attributes: captionAttributes(m, bins),
      template: Math.floor(draws[i] * CAPTION_TEMPLATES),
    }),
  );
  return { captions, bins };
}
