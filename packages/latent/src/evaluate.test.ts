import { initBackend } from '@sculpt/backend';
import { SculptError } from '@sculpt/core';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { attributeAgreement, attributePromptPairs } from './index.js';

/** A 28×28 stroke of `width` pixels from (row 4, column top) to (row 23, column bottom). */
function stroke(width: number, top: number, bottom: number): number[] {
  const px = new Array(28 * 28).fill(0);
  for (let r = 4; r < 24; r++) {
    const centre = top + ((bottom - top) * (r - 4)) / 19;
    for (let c = 0; c < 28; c++) if (Math.abs(c - centre) < width / 2) px[r * 28 + c] = 1;
  }
  return px;
}

const batch = (images: number[][]) => tf.tensor4d(images.flat(), [images.length, 28, 28, 1]);

beforeAll(async () => {
  await initBackend('cpu');
});

describe('attribute pair tests', () => {
  it('pairs prompts that differ only in the attribute word', () => {
    const { high, low } = attributePromptPairs({ attribute: 'slant', numPairs: 12 });
    expect(high).toHaveLength(12);
    expect(high[7]).toBe(low[7].replace('upright', 'slanted'));
    expect(high.every((p) => p.includes('slanted'))).toBe(true);
    expect(() => attributePromptPairs({ attribute: 'colour' as never, numPairs: 1 })).toThrow(
      SculptError,
    );
  });

  it('measures drawn strokes: thick over thin, slanted over upright, and 0 the other way round', async () => {
    const thick = batch([stroke(6, 14, 14), stroke(5, 10, 10)]);
    const thin = batch([stroke(2, 14, 14), stroke(1.5, 10, 10)]);
    expect(await attributeAgreement({ attribute: 'thickness', high: thick, low: thin })).toBe(1);
    expect(await attributeAgreement({ attribute: 'thickness', high: thin, low: thick })).toBe(0);
    const slanted = batch([stroke(3, 20, 8), stroke(3, 8, 20)]);
    const upright = batch([stroke(3, 14, 14), stroke(3, 13, 15)]);
    expect(await attributeAgreement({ attribute: 'slant', high: slanted, low: upright })).toBe(1);
    const one = tf.zeros([1, 28, 28, 1]) as tf.Tensor4D;
    await expect(
      attributeAgreement({ attribute: 'slant', high: slanted, low: one }),
    ).rejects.toThrow(/same count and seed/);
    tf.dispose([thick, thin, slanted, upright, one]);
  });
});
