// Config of a VQ-VAE: one typed, JSON-serialisable value.
import { SculptError } from '@sculpt/core';

/** The full, frozen config of a {@link VqVaeModel}. */
export interface VqVaeConfig {
  /** One image without the batch axis: `[height, width, channels]`. */
  imageShape: [number, number, number];
  /** Widths of the stride-2 encoder convs (28 → 14 → 7 for two); the decoder mirrors them. */
  convChannels: number[];
  /** Size D of one code vector. */
  codeDim: number;
  /** Number K of codes in the codebook. */
  numCodes: number;
  /** β of the commitment loss β‖z − sg(e)‖². */
  commitment: number;
  /** Decay γ of the EMA codebook update. */
  emaDecay: number;
  /** Laplace smoothing ε of the EMA cluster sizes. */
  epsilon: number;
  /** Codes unused over this many training steps are restarted on random encoder outputs (0: never). */
  restartAfter: number;
}

/** Names of the built-in VQ-VAE presets. */
export type VqVaePreset = 'tiny-vq' | 'mnist-vq';

/** What {@link vqVaeConfig} accepts: a preset name and/or overrides. */
export type VqVaeConfigInput = Partial<VqVaeConfig> & { preset?: VqVaePreset };

/** The built-in presets. `tiny-vq` is for tests (8×8 images → 2×2 codes, seconds). */
export const VQ_PRESETS: Readonly<Record<VqVaePreset, VqVaeConfig>> = Object.freeze({
  'tiny-vq': {
    imageShape: [8, 8, 1],
    convChannels: [8, 16],
    codeDim: 4,
    numCodes: 8,
    commitment: 0.25,
    emaDecay: 0.9,
    epsilon: 1e-5,
    restartAfter: 20,
  },
  'mnist-vq': {
    imageShape: [28, 28, 1],
    convChannels: [16, 32],
    codeDim: 32,
    numCodes: 64,
    commitment: 0.25,
    emaDecay: 0.99,
    epsilon: 1e-5,
    restartAfter: 100,
  },
});

const posInt = (v: unknown): boolean => Number.isInteger(v) && (v as number) > 0;

function fail(field: string, expected: string, got: unknown): never {
  throw new SculptError(
    'vqVaeConfig',
    `expected ${field} ${expected}`,
    `got ${JSON.stringify(got)}`,
    'fix the field or start from a preset (tiny-vq, mnist-vq)',
  );
}

/**
 * Resolves a preset and overrides into a validated, frozen {@link VqVaeConfig}.
 * @throws SculptError for an unknown preset or an invalid field.
 * @example `vqVaeConfig({ preset: 'mnist-vq', numCodes: 64 })`
 */
export function vqVaeConfig(input: VqVaeConfigInput | VqVaePreset = {}): VqVaeConfig {
  const given = typeof input === 'string' ? { preset: input } : input;
  const { preset, ...overrides } = given;
  if (preset !== undefined && !(preset in VQ_PRESETS))
    fail('preset', `one of ${Object.keys(VQ_PRESETS).join(', ')}`, preset);
  const base = VQ_PRESETS[preset ?? 'tiny-vq'];
  const c: VqVaeConfig = {
    ...base,
    ...overrides,
    imageShape: [...(overrides.imageShape ?? base.imageShape)] as [number, number, number],
    convChannels: [...(overrides.convChannels ?? base.convChannels)],
  };
  if (c.imageShape.length !== 3 || !c.imageShape.every(posInt))
    fail('imageShape', '[height, width, channels] of positive integers', c.imageShape);
  if (c.convChannels.length < 1 || !c.convChannels.every(posInt))
    fail('convChannels', 'one or more positive integers', c.convChannels);
  const s = 2 ** c.convChannels.length;
  if (c.imageShape[0] % s !== 0 || c.imageShape[1] % s !== 0)
    fail(
      'imageShape',
      `with height and width divisible by ${s} (one halving per conv)`,
      c.imageShape,
    );
  if (!posInt(c.codeDim)) fail('codeDim', 'a positive integer', c.codeDim);
  if (!Number.isInteger(c.numCodes) || c.numCodes < 2)
    fail('numCodes', 'an integer ≥ 2', c.numCodes);
  if (!(c.commitment >= 0)) fail('commitment', '≥ 0', c.commitment);
  if (!(c.emaDecay >= 0 && c.emaDecay < 1)) fail('emaDecay', 'in [0, 1)', c.emaDecay);
  if (!(c.epsilon > 0)) fail('epsilon', '> 0', c.epsilon);
  if (!(Number.isInteger(c.restartAfter) && c.restartAfter >= 0))
    fail('restartAfter', 'an integer ≥ 0', c.restartAfter);
  return Object.freeze(c);
}
