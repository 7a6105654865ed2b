// Do samples follow their prompts' attributes? Pairs of prompts that differ in
// one attribute word only ("a thick seven" / "a thin seven"), sampled with the
// same seed; the measured quantity (@sculpt/datasets' measureDigit: stroke
// thickness, |slant|) should be larger for the first of each pair.
import { SculptError } from '@sculpt/core';
import { digitCaption, measureDigit } from '@sculpt/datasets';
import type * as tf from '@tensorflow/tfjs-core';

/** The attributes a pair test can vary. */
export type PromptAttribute = 'thickness' | 'slant';

const WORDS: Record<PromptAttribute, readonly [string, string]> = {
  thickness: ['thick', 'thin'],
  slant: ['slanted', 'upright'],
};

/**
 * `numPairs` prompt pairs over the digits 0–9 (cycled) and the caption
 * templates, differing only in the attribute word.
 * @returns `{ high, low }`: "thick"/"slanted" prompts and their "thin"/"upright" twins.
 * @example
 * ```ts
 * attributePromptPairs({ attribute: 'thickness', numPairs: 2 }); // { high: ['a thick zero', 'a thick 1'], low: ['a thin zero', 'a thin 1'] }
 * ```
 */
export function attributePromptPairs(options: { attribute: PromptAttribute; numPairs: number }): {
  high: string[];
  low: string[];
} {
  const { attribute, numPairs } = options;
  const words = WORDS[attribute];
  if (!words) {
    throw new SculptError(
      'attributePromptPairs',
      `expected attribute ${Object.keys(WORDS).join(' or ')}`,
      `got '${attribute}'`,
    );
  }
  const prompt = (i: number, word: string) =>
    digitCaption({ digit: i % 10, attributes: { [attribute]: word }, template: i % 4 });
  return {
    high: Array.from({ length: numPairs }, (_, i) => prompt(i, words[0])),
    low: Array.from({ length: numPairs }, (_, i) => prompt(i, words[1])),
  };
}

/** Thickness or |slant| of each grayscale image of `[N, H, W, 1]` with pixels in [0, 1]. */
async function measureAll(images: tf.Tensor4D, attribute: PromptAttribute): Promise<number[]> {
  const [n, height, width] = images.shape;
  const data = await images.data();
  return Array.from({ length: n }, (_, i) => {
    const pixels = data.subarray(i * height * width, (i + 1) * height * width);
    const m = measureDigit({ pixels, height, width });
    return attribute === 'slant' ? Math.abs(m.slant) : m.thickness;
  });
}

/**
 * The fraction of pairs whose "high" sample measures larger than its "low" twin.
 * @param options - `high`, `low`: `[N, H, W, 1]` samples in [0, 1] of the two prompt lists (read, not disposed).
 * @returns a number in [0, 1] (0.5 = the prompt word has no effect).
 * @example
 * ```ts
 * const agree = await attributeAgreement({ attribute: 'thickness', high, low });
 * ```
 */
export async function attributeAgreement(options: {
  attribute: PromptAttribute;
  high: tf.Tensor4D;
  low: tf.Tensor4D;
}): Promise<number> {
  const { attribute, high, low } = options;
  if (high.shape.join(',') !== low.shape.join(',') || high.shape[3] !== 1) {
    throw new SculptError(
      'attributeAgreement',
      'expected two grayscale batches [N, H, W, 1] of one shape',
      `got [${high.shape}] and [${low.shape}]`,
      'sample both prompt lists with the same count and seed',
    );
  }
  const [a, b] = [await measureAll(high, attribute), await measureAll(low, attribute)];
  return a.filter((v, i) => v > b[i]).length / Math.max(1, a.length);
}
