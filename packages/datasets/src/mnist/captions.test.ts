import { Rng } from '@sculpt/core';
import { describe, expect, it } from 'vitest';
import { makeImageSet } from '../image-set.js';
import {
  CAPTION_WORDS,
  captionAttributes,
  captionBins,
  captionImageSet,
  digitCaption,
  parseCaption,
} from './caption-builder.js';
import { measureDigit } from './captions.js';

const S = 28;

/** A bar of width `w` from row `top` to row `bottom`, its centre shifted by `shear` px per row up. */
function bar(options: { w: number; top?: number; bottom?: number; shear?: number }): Float32Array {
  const { w, top = 4, bottom = 23, shear = 0 } = options;
  const p = new Float32Array(S * S);
  for (let y = top; y <= bottom; y++) {
    const cx = 14 + shear * (13.5 - y);
    for (let x = 0; x < S; x++) {
      const d = x + 0.5 - cx;
      if (d >= -w / 2 && d < w / 2) p[y * S + x] = 1;
    }
  }
  return p;
}

const measure = (pixels: Float32Array) => measureDigit({ pixels, height: S, width: S });

describe('measureDigit', () => {
  it('reads a thick bar as thicker than a thin one', () => {
    const thick = measure(bar({ w: 5 }));
    const thin = measure(bar({ w: 1 }));
    expect(thick.thickness).toBeGreaterThan(2 * thin.thickness);
    expect(thin.thickness).toBeGreaterThan(0.5);
    expect(thin.thickness).toBeLessThan(1.5);
  });

  it('reads a right-leaning bar as slanted and a vertical bar as upright', () => {
    const upright = measure(bar({ w: 2 }));
    const slanted = measure(bar({ w: 2, shear: 0.4 }));
    expect(Math.abs(upright.slant)).toBeLessThan(0.02);
    expect(slanted.slant).toBeGreaterThan(0.3);
    expect(measure(bar({ w: 2, shear: -0.4 })).slant).toBeLessThan(-0.3);
  });

  it('reads the bounding-box height: a small box vs a large one', () => {
    expect(measure(bar({ w: 6, top: 10, bottom: 17 })).height).toBe(8);
    expect(measure(bar({ w: 6, top: 2, bottom: 25 })).height).toBe(24);
  });

  it('returns zeros for an empty image and throws on a wrong size', () => {
    expect(measure(new Float32Array(S * S))).toEqual({
      thickness: 0,
      slant: 0,
      height: 0,
      mass: 0,
    });
    expect(() => measureDigit({ pixels: new Float32Array(10), height: S, width: S })).toThrow(
      /784 pixels/,
    );
  });
});

describe('captions', () => {
  const shapes = [
    bar({ w: 1 }),
    bar({ w: 3, shear: 0.15 }),
    bar({ w: 6, shear: 0.2 }),
    bar({ w: 3, shear: 0.5 }),
    bar({ w: 3, top: 10, bottom: 17, shear: 0.1 }),
    bar({ w: 3, top: 1, bottom: 26, shear: 0.25 }),
  ];
  const bins = captionBins(shapes.map(measure));

  it('gives the extremes their words', () => {
    expect(captionAttributes(measure(shapes[0]), bins).thickness).toBe('thin');
    expect(captionAttributes(measure(shapes[2]), bins).thickness).toBe('thick');
    expect(captionAttributes(measure(shapes[3]), bins).slant).toBe('slanted');
    expect(captionAttributes(measure(shapes[0]), bins).slant).toBe('upright');
    expect(captionAttributes(measure(shapes[4]), bins).size).toBe('small');
    expect(captionAttributes(measure(shapes[5]), bins).size).toBe('large');
  });

  it('words every template from the caption vocabulary and parses it back', () => {
    const attributes = { thickness: 'thick', slant: 'slanted' } as const;
    expect(digitCaption({ digit: 7, attributes })).toBe('a thick slanted seven');
    expect(digitCaption({ digit: 8, template: 1 })).toBe('an 8');
    for (let template = 0; template < 4; template++) {
      const text = digitCaption({ digit: 3, attributes, template });
      for (const w of text.split(' ')) expect(CAPTION_WORDS).toContain(w);
      expect(parseCaption(text)).toEqual({ digit: 3, attributes });
    }
  });

  it('captions a labelled set with the digit of each label', () => {
    const set = makeImageSet({
      images: Float32Array.from(shapes.flatMap((s) => [...s])),
      labels: Int32Array.from([1, 1, 1, 7, 4, 1]),
      height: S,
      width: S,
      numClasses: 10,
    });
    const { captions } = captionImageSet({ set, rng: new Rng(0) });
    expect(captions.map((c) => parseCaption(c).digit)).toEqual([1, 1, 1, 7, 4, 1]);
    expect(parseCaption(captions[3]).attributes.slant).toBe('slanted');
  });
});
