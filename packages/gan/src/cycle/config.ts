// CycleGAN's one config value: the two generators' and two discriminators' architecture.
import { SculptError } from '@sculpt/core';

/**
 * The complete, serialisable description of a {@link CycleGanModel}: two
 * ResNet-style generators (stem conv → `downsamples` stride-2 convs →
 * `residualBlocks` residual blocks → nearest-resize + conv upsamples → tanh)
 * with instance norm, and two PatchGAN discriminators (stride-2 convs → a
 * map of per-patch real/fake scores).
 */
export interface CycleGanConfig {
  /** Side of the square images (28 for MNIST); divisible by 2^max(downsamples, discriminatorDownsamples). */
  readonly imageSize: number;
  /** Image channels (1 for MNIST). */
  readonly channels: number;
  /** G's stem width; each downsample doubles it. */
  readonly generatorWidth: number;
  /** Stride-2 convolutions of G (0–2; 2 takes 28 → 7). */
  readonly downsamples: number;
  /** Residual blocks of G at the lowest resolution. */
  readonly residualBlocks: number;
  /** D's first width; each further conv doubles it. */
  readonly discriminatorWidth: number;
  /** Stride-2 convolutions of D (1–3): the patch each score sees grows with them. */
  readonly discriminatorDownsamples: number;
  /**
   * Stride-1 4×4 convolutions of D after the stride-2 ones, at their width
   * (PatchGAN's own stride-1 layer): each widens the patch a score sees by
   * 3·2^discriminatorDownsamples pixels without shrinking the score map.
   * Absent in configs saved before it existed: 0.
   */
  readonly discriminatorPatchLayers: number;
}

/** Names of the built-in CycleGAN presets. */
export type CycleGanPresetName = 'tiny-cycle' | 'cyclegan-digits';

/** The built-in presets (frozen). */
export const CYCLE_GAN_PRESETS: Readonly<Record<CycleGanPresetName, CycleGanConfig>> =
  Object.freeze({
    'tiny-cycle': Object.freeze({
      imageSize: 8,
      channels: 1,
      generatorWidth: 8,
      downsamples: 1,
      residualBlocks: 1,
      discriminatorWidth: 8,
      discriminatorDownsamples: 2,
      discriminatorPatchLayers: 0,
    }),
    'cyclegan-digits': Object.freeze({
      imageSize: 28,
      channels: 1,
      generatorWidth: 16,
      downsamples: 1,
      residualBlocks: 2,
      discriminatorWidth: 16,
      discriminatorDownsamples: 2,
      discriminatorPatchLayers: 1,
    }),
  });

/** What {@link cycleGanConfig} accepts: a preset name and/or fields to override. */
export interface CycleGanConfigInput extends Partial<CycleGanConfig> {
  /** Start from this preset. Default `'cyclegan-digits'`. */
  preset?: CycleGanPresetName;
}

const RANGES = {
  imageSize: [1, Infinity],
  channels: [1, Infinity],
  generatorWidth: [1, Infinity],
  downsamples: [0, 2],
  residualBlocks: [0, Infinity],
  discriminatorWidth: [1, Infinity],
  discriminatorDownsamples: [1, 3],
  discriminatorPatchLayers: [0, 4],
} as const;

/**
 * Builds a checked, frozen {@link CycleGanConfig} from a preset (default
 * `'cyclegan-digits'`) and overrides. Accepts its own output (round trip).
 *
 * @returns a new frozen plain object (JSON-serialisable).
 * @throws SculptError for an unknown preset or an impossible size.
 * @example
 * ```ts
 * const config = cycleGanConfig({ preset: 'tiny-cycle', residualBlocks: 2 });
 * ```
 */
export function cycleGanConfig(input: CycleGanConfigInput = {}): CycleGanConfig {
  const where = 'cycleGanConfig';
  const preset = input.preset ?? 'cyclegan-digits';
  if (!Object.hasOwn(CYCLE_GAN_PRESETS, preset)) {
    throw new SculptError(
      where,
      'expected a known preset',
      `got '${preset}'`,
      `use one of ${Object.keys(CYCLE_GAN_PRESETS).join(', ')}`,
    );
  }
  const { preset: _drop, ...overrides } = input;
  const config: CycleGanConfig = { ...CYCLE_GAN_PRESETS[preset], ...overrides };
  for (const [key, [min, max]] of Object.entries(RANGES)) {
    const v = config[key as keyof CycleGanConfig];
    if (!(Number.isInteger(v) && v >= min && v <= max)) {
      const range = max === Infinity ? `≥ ${min}` : `in [${min}, ${max}]`;
      throw new SculptError(where, `expected ${key} to be an integer ${range}`, `got ${v}`);
    }
  }
  const factor = 2 ** Math.max(config.downsamples, config.discriminatorDownsamples);
  if (config.imageSize % factor !== 0) {
    throw new SculptError(
      where,
      `expected imageSize to be divisible by ${factor} (the stride-2 layers)`,
      `got ${config.imageSize}`,
      'use fewer downsamples or pad the images (28 works with 2)',
    );
  }
  return Object.freeze(config);
}

/**
 * A saved config as this version reads it: configs saved before
 * `discriminatorPatchLayers` existed had none, whatever the preset says now.
 * @example `CycleGanModel.create(savedCycleGanConfig(json))`
 */
export function savedCycleGanConfig(saved: Partial<CycleGanConfig>): CycleGanConfigInput {
  return { discriminatorPatchLayers: 0, ...saved };
}
