// Config of an autoencoder / VAE: one typed, JSON-serialisable value.
import { SculptError } from '@sculpt/core';

/** `'vae'`: probabilistic encoder q(z|x) = N(μ, σ²); `'ae'`: deterministic encoder z = f(x). */
export type VaeKind = 'vae' | 'ae';

/**
 * The encoder/decoder body:
 * - `'mlp'`: dense layers of widths `hidden` on the flattened image.
 * - `'conv'`: one 3×3 stride-2 conv per `convChannels` width (28 → 14 → 7), then
 *   dense layers `hidden` to the latent; the decoder mirrors it with nearest 2×
 *   upsampling + 3×3 convs.
 */
export type VaeArch = 'mlp' | 'conv';

/**
 * The decoder's likelihood p(x|z):
 * - `'bernoulli'`: pixels in {0, 1} (binarized MNIST); the decoder outputs logits.
 * - `'continuous-bernoulli'`: pixels in [0, 1] (Loaiza-Ganem & Cunningham 2019); logits out,
 *   the log normaliser included, the decoder mean E[x|z] (not λ) as the image.
 * - `'gaussian'`: N(x; μ(z), σ²) with σ fixed (`decoderStd`) or learned per pixel (`decoderStd: 'learned'`).
 */
export type Likelihood = 'bernoulli' | 'gaussian' | 'continuous-bernoulli';

/** The full, frozen config of a {@link VaeModel}. */
export interface VaeConfig {
  /** `'vae'` or `'ae'`. */
  kind: VaeKind;
  /** One image without the batch axis: `[height, width, channels]`. */
  imageShape: [number, number, number];
  /** Encoder/decoder body: `'mlp'` or `'conv'`. */
  arch: VaeArch;
  /** Conv only: the widths of the stride-2 convs (each halves H and W, which must divide by 2ⁿ). */
  convChannels: number[];
  /** Size of the latent vector z. */
  latentDim: number;
  /** Hidden widths of the dense encoder layers (after the convs for `'conv'`; the decoder mirrors them). */
  hidden: number[];
  /** The decoder likelihood. */
  likelihood: Likelihood;
  /** Gaussian only: the fixed decoder standard deviation, or `'learned'` (one log σ² per pixel). */
  decoderStd: number | 'learned';
}

/** Names of the built-in presets. */
export type VaePreset = 'tiny' | 'tiny-conv' | 'mnist-mlp' | 'mnist-conv' | 'mnist-2d' | 'mnist-ae';

/** What {@link vaeConfig} accepts: a preset name and/or overrides. */
export type VaeConfigInput = Partial<VaeConfig> & { preset?: VaePreset };

/** The built-in presets. `tiny` and `tiny-conv` are for tests (8×8 images, seconds). */
export const PRESETS: Readonly<Record<VaePreset, VaeConfig>> = Object.freeze({
  tiny: {
    kind: 'vae',
    imageShape: [8, 8, 1],
    arch: 'mlp',
    convChannels: [],
    latentDim: 4,
    hidden: [32],
    likelihood: 'bernoulli',
    decoderStd: 0.1,
  },
  'tiny-conv': {
    kind: 'vae',
    imageShape: [8, 8, 1],
    arch: 'conv',
    convChannels: [8, 16],
    latentDim: 4,
    hidden: [32],
    likelihood: 'bernoulli',
    decoderStd: 0.1,
  },
  'mnist-mlp': {
    kind: 'vae',
    imageShape: [28, 28, 1],
    arch: 'mlp',
    convChannels: [],
    latentDim: 32,
    hidden: [512, 256],
    likelihood: 'bernoulli',
    decoderStd: 0.1,
  },
  'mnist-conv': {
    kind: 'vae',
    imageShape: [28, 28, 1],
    arch: 'conv',
    convChannels: [16, 32],
    latentDim: 32,
    hidden: [256],
    likelihood: 'bernoulli',
    decoderStd: 0.1,
  },
  'mnist-2d': {
    kind: 'vae',
    imageShape: [28, 28, 1],
    arch: 'mlp',
    convChannels: [],
    latentDim: 2,
    hidden: [512, 256],
    likelihood: 'bernoulli',
    decoderStd: 0.1,
  },
  'mnist-ae': {
    kind: 'ae',
    imageShape: [28, 28, 1],
    arch: 'mlp',
    convChannels: [],
    latentDim: 32,
    hidden: [512, 256],
    likelihood: 'bernoulli',
    decoderStd: 0.1,
  },
});

const posInt = (v: unknown): boolean => Number.isInteger(v) && (v as number) > 0;

const LIKELIHOODS: readonly Likelihood[] = ['bernoulli', 'continuous-bernoulli', 'gaussian'];

function checkArch(where: string, c: VaeConfig): void {
  if (c.arch !== 'mlp' && c.arch !== 'conv')
    throw new SculptError(where, "expected arch 'mlp' or 'conv'", `got '${String(c.arch)}'`);
  if (c.arch === 'mlp') return;
  const n = c.convChannels.length;
  if (n < 1 || !c.convChannels.every(posInt))
    throw new SculptError(
      where,
      'expected convChannels: one or more positive integers',
      `got ${JSON.stringify(c.convChannels)}`,
      "e.g. [32, 64] (28 → 14 → 7), or arch 'mlp'",
    );
  const [h, w] = c.imageShape;
  if (h % 2 ** n !== 0 || w % 2 ** n !== 0)
    throw new SculptError(
      where,
      `expected height and width divisible by 2^${n} (one halving per conv)`,
      `got ${h}×${w}`,
      'resize or pad the images, or use fewer convChannels',
    );
}

/**
 * Resolves a preset and overrides into a validated, frozen {@link VaeConfig}.
 * @throws SculptError for an unknown preset or an invalid field.
 * @example `vaeConfig({ preset: 'mnist-mlp', latentDim: 16 })`
 */
export function vaeConfig(input: VaeConfigInput | VaePreset = {}): VaeConfig {
  const where = 'vaeConfig';
  const given = typeof input === 'string' ? { preset: input } : input;
  const { preset, ...overrides } = given;
  if (preset !== undefined && !(preset in PRESETS))
    throw new SculptError(
      where,
      `expected preset one of ${Object.keys(PRESETS).join(', ')}`,
      `got '${String(preset)}'`,
      'pick a listed preset or pass the fields yourself',
    );
  const base = PRESETS[preset ?? 'tiny'];
  const c: VaeConfig = {
    ...base,
    ...overrides,
    imageShape: [...(overrides.imageShape ?? base.imageShape)] as [number, number, number],
    hidden: [...(overrides.hidden ?? base.hidden)],
    convChannels: [...(overrides.convChannels ?? base.convChannels)],
  };
  if (c.kind !== 'vae' && c.kind !== 'ae')
    throw new SculptError(where, "expected kind 'vae' or 'ae'", `got '${String(c.kind)}'`);
  if (c.imageShape.length !== 3 || !c.imageShape.every(posInt))
    throw new SculptError(
      where,
      'expected imageShape [height, width, channels] of positive integers',
      `got ${JSON.stringify(c.imageShape)}`,
    );
  checkArch(where, c);
  if (!posInt(c.latentDim))
    throw new SculptError(where, 'expected latentDim a positive integer', `got ${c.latentDim}`);
  if (!c.hidden.every(posInt))
    throw new SculptError(
      where,
      'expected hidden widths positive integers',
      `got ${JSON.stringify(c.hidden)}`,
    );
  if (!LIKELIHOODS.includes(c.likelihood))
    throw new SculptError(
      where,
      `expected likelihood one of ${LIKELIHOODS.join(', ')}`,
      `got '${String(c.likelihood)}'`,
    );
  if (c.decoderStd !== 'learned' && !(typeof c.decoderStd === 'number' && c.decoderStd > 0))
    throw new SculptError(
      where,
      "expected decoderStd > 0 or 'learned'",
      `got ${JSON.stringify(c.decoderStd)}`,
    );
  return Object.freeze(c);
}
