// The GAN's one config value: the generator and discriminator architecture.
import { SculptError } from '@sculpt/core';

/**
 * The complete, serialisable description of a {@link GanModel}: a DCGAN
 * generator (dense → two stride-2 transposed convs, pixel norm) and
 * discriminator (two stride-2 convs → dense), conditional when
 * `numClasses > 0` (label embedding into G, projection discriminator). With
 * `generator: 'style'` G is the StyleGAN-style generator of ./style.ts.
 */
export interface GanConfig {
  /** Side of the square images; a multiple of 4 (28 for MNIST). */
  readonly imageSize: number;
  /** Image channels (1 for MNIST). */
  readonly channels: number;
  /** Size of the noise vector z. */
  readonly latentDim: number;
  /** Classes to condition on; 0 = unconditional. */
  readonly numClasses: number;
  /** Size of G's label embedding (concatenated to z). */
  readonly embeddingDim: number;
  /** G's base width: the dense layer makes `2·width` maps at side/4, the first up-conv `width`. */
  readonly generatorWidth: number;
  /** D's base width: its convs have `width` and `2·width` channels. */
  readonly discriminatorWidth: number;
  /** Spectral normalisation of every D weight (one power iteration per D step). */
  readonly spectralNorm: boolean;
  /** G's architecture: the DCGAN, or the StyleGAN-style generator (mapping network, modulated convs). Default `'dcgan'`. */
  readonly generator: GeneratorKind;
  /** Size of the style vector w (style generator only). */
  readonly styleDim: number;
  /** Dense layers of the mapping network z → w (style generator only). */
  readonly mappingLayers: number;
  /**
   * A class head on D's features beside the projection (AC-GAN, Odena et al.
   * 2017): D also learns to classify real images and G to make fakes D reads
   * as their class (conditional models only). Default false.
   */
  readonly auxiliaryClassifier: boolean;
}

/** The generator architectures. */
export type GeneratorKind = 'dcgan' | 'style';

const DCGAN_G = {
  generator: 'dcgan',
  styleDim: 64,
  mappingLayers: 4,
  auxiliaryClassifier: false,
} as const;

/** Names of the built-in presets. */
export type GanPresetName =
  | 'tiny'
  | 'dcgan-mnist'
  | 'cdcgan-mnist'
  | 'tiny-style'
  | 'stylegan-mnist';

/**
 * The built-in presets (frozen). `dcgan-mnist` is the bench's DCGAN workload;
 * `stylegan-mnist` the StyleGAN-style generator at 4→7→14→28 (`tiny-style`: 4→8, for tests).
 */
export const GAN_PRESETS: Readonly<Record<GanPresetName, GanConfig>> = Object.freeze({
  tiny: Object.freeze({
    imageSize: 8,
    channels: 1,
    latentDim: 8,
    numClasses: 0,
    embeddingDim: 4,
    generatorWidth: 8,
    discriminatorWidth: 8,
    spectralNorm: false,
    ...DCGAN_G,
  }),
  'dcgan-mnist': Object.freeze({
    imageSize: 28,
    channels: 1,
    latentDim: 100,
    numClasses: 0,
    embeddingDim: 16,
    generatorWidth: 64,
    discriminatorWidth: 64,
    spectralNorm: false,
    ...DCGAN_G,
  }),
  'cdcgan-mnist': Object.freeze({
    imageSize: 28,
    channels: 1,
    latentDim: 100,
    numClasses: 10,
    embeddingDim: 16,
    generatorWidth: 64,
    discriminatorWidth: 64,
    spectralNorm: false,
    ...DCGAN_G,
  }),
  'tiny-style': Object.freeze({
    imageSize: 8,
    channels: 1,
    latentDim: 8,
    numClasses: 0,
    embeddingDim: 4,
    generatorWidth: 8,
    discriminatorWidth: 8,
    spectralNorm: false,
    generator: 'style',
    styleDim: 8,
    mappingLayers: 2,
    auxiliaryClassifier: false,
  }),
  'stylegan-mnist': Object.freeze({
    imageSize: 28,
    channels: 1,
    latentDim: 64,
    numClasses: 0,
    embeddingDim: 16,
    generatorWidth: 32,
    discriminatorWidth: 64,
    spectralNorm: false,
    generator: 'style',
    styleDim: 64,
    mappingLayers: 4,
    auxiliaryClassifier: false,
  }),
});

/** What {@link ganConfig} accepts: a preset name and/or fields to override. */
export interface GanConfigInput extends Partial<GanConfig> {
  /** Start from this preset. Default `'dcgan-mnist'`. */
  preset?: GanPresetName;
}

const INTEGER_FIELDS = [
  'imageSize',
  'channels',
  'latentDim',
  'numClasses',
  'embeddingDim',
  'generatorWidth',
  'discriminatorWidth',
  'styleDim',
  'mappingLayers',
] as const;

/**
 * Builds a checked, frozen {@link GanConfig} from a preset (default
 * `'dcgan-mnist'`) and overrides. Accepts its own output (round trip).
 *
 * @returns a new frozen plain object (JSON-serialisable).
 * @throws SculptError for an unknown preset or an impossible size.
 * @example
 * ```ts
 * const config = ganConfig({ preset: 'tiny', numClasses: 3, spectralNorm: true });
 * ```
 */
export function ganConfig(input: GanConfigInput = {}): GanConfig {
  const where = 'ganConfig';
  const preset = input.preset ?? 'dcgan-mnist';
  if (!Object.hasOwn(GAN_PRESETS, preset)) {
    throw new SculptError(
      where,
      'expected a known preset',
      `got '${preset}'`,
      `use one of ${Object.keys(GAN_PRESETS).join(', ')}`,
    );
  }
  const { preset: _drop, ...overrides } = input;
  const config: GanConfig = { ...GAN_PRESETS[preset], ...overrides };
  for (const key of INTEGER_FIELDS) {
    const v = config[key];
    const min = key === 'numClasses' ? 0 : 1;
    if (!(Number.isInteger(v) && v >= min)) {
      throw new SculptError(where, `expected ${key} to be an integer ≥ ${min}`, `got ${v}`);
    }
  }
  if (config.imageSize % 4 !== 0) {
    throw new SculptError(
      where,
      'expected imageSize to be a multiple of 4 (two stride-2 layers)',
      `got ${config.imageSize}`,
      'pad or resize the images (28 for MNIST)',
    );
  }
  for (const key of ['spectralNorm', 'auxiliaryClassifier'] as const) {
    if (typeof config[key] !== 'boolean')
      throw new SculptError(where, `expected ${key} to be a boolean`, `got ${config[key]}`);
  }
  if (config.auxiliaryClassifier && config.numClasses === 0) {
    throw new SculptError(
      where,
      'expected numClasses > 0 with auxiliaryClassifier (D classifies the real images)',
      'got numClasses 0',
      'set numClasses, or leave auxiliaryClassifier false',
    );
  }
  if (config.generator !== 'dcgan' && config.generator !== 'style') {
    throw new SculptError(
      where,
      "expected generator to be 'dcgan' or 'style'",
      `got ${JSON.stringify(config.generator)}`,
      "use 'style' for the StyleGAN-style generator",
    );
  }
  return Object.freeze(config);
}
