import { SculptError } from '@sculpt/core';
import { describe, expect, it } from 'vitest';
import { GAN_PRESETS, ganConfig } from './index.js';

describe('ganConfig', () => {
  it('builds every preset, frozen, and round-trips its own output', () => {
    for (const preset of Object.keys(GAN_PRESETS) as (keyof typeof GAN_PRESETS)[]) {
      const config = ganConfig({ preset });
      expect(Object.isFrozen(config)).toBe(true);
      expect(ganConfig(JSON.parse(JSON.stringify(config)))).toEqual(config);
    }
    expect(ganConfig().numClasses).toBe(0); // dcgan-mnist
    expect(ganConfig({ preset: 'cdcgan-mnist' }).numClasses).toBe(10);
  });

  it('applies overrides over the preset', () => {
    const c = ganConfig({ preset: 'tiny', numClasses: 3, spectralNorm: true });
    expect(c).toMatchObject({ imageSize: 8, numClasses: 3, spectralNorm: true });
  });

  it('rejects unknown presets and impossible sizes with the fix', () => {
    expect(() => ganConfig({ preset: 'big' as 'tiny' })).toThrow(/use one of tiny/);
    expect(() => ganConfig({ preset: 'tiny', imageSize: 10 })).toThrow(SculptError);
    expect(() => ganConfig({ preset: 'tiny', imageSize: 10 })).toThrow(/multiple of 4/);
    expect(() => ganConfig({ preset: 'tiny', latentDim: 0 })).toThrow(/latentDim/);
    expect(() => ganConfig({ preset: 'tiny', numClasses: 1.5 })).toThrow(/numClasses/);
    expect(() => ganConfig({ preset: 'tiny', auxiliaryClassifier: true })).toThrow(
      /set numClasses/,
    );
    expect(ganConfig({ preset: 'tiny', numClasses: 3, auxiliaryClassifier: true })).toMatchObject({
      auxiliaryClassifier: true,
    });
  });
});
