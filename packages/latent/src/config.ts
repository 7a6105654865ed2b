// The one config value of a LatentDiffusionModel: autoencoder + text encoder
// + latent U-Net, with presets. Plain JSON, frozen, round-trips.
import { SculptError } from '@sculpt/core';
import { CAPTION_WORDS } from '@sculpt/datasets';
import { type DiffusionConfig, diffusionConfig } from '@sculpt/diffusion';

/** The conv KL autoencoder: 28×28×C → (S/4)×(S/4)×latentChannels. */
export interface AutoencoderConfig {
  /** Image side (divisible by 4). */
  readonly imageSize: number;
  /** Image channels. */
  readonly channels: number;
  /** Conv widths at full, half and quarter resolution. */
  readonly widths: readonly [number, number, number];
  /** Channels of a latent pixel. */
  readonly latentChannels: number;
  /** Weight of KL(q(z|x) ‖ N(0, I)) against the summed squared error (LDM uses ~1e-6). */
  readonly klWeight: number;
  /** 1 / std of encoded training latents, measured after training (`measureScaleFactor`); 1 until then. */
  readonly scaleFactor: number;
}

/** The frozen bidirectional text encoder (a GPT's blocks) and its word vocabulary. */
export interface TextEncoderConfig {
  /** Tokens per prompt, the start token included. */
  readonly contextLength: number;
  /** Width of each token's encoding (the U-Net's `contextDim`). */
  readonly embedDim: number;
  readonly numLayers: number;
  readonly numHeads: number;
  /** Known words, in id order after `<pad>` and `<start>`. */
  readonly words: readonly string[];
  /** Seed of the (frozen) encoder weights. */
  readonly seed: number;
}

/** The complete, serialisable description of a {@link LatentDiffusionModel}. */
export interface LatentConfig {
  readonly autoencoder: AutoencoderConfig;
  readonly text: TextEncoderConfig;
  /** The latent U-Net (its image = the latent grid, its context = the text encoding). */
  readonly diffusion: DiffusionConfig;
  /** Probability of training on the empty prompt instead of the caption (for CFG). */
  readonly captionDropout: number;
}

/** Names of the presets. */
export type LatentPresetName = 'tiny' | 'mnist-text';

/** What {@link latentConfig} takes: a preset and overrides per part. */
export interface LatentConfigInput {
  /** Default `'mnist-text'`. */
  preset?: LatentPresetName;
  autoencoder?: Partial<AutoencoderConfig>;
  text?: Partial<TextEncoderConfig>;
  /** Overrides of the latent U-Net (`unet` fields, prediction, …). */
  diffusion?: Partial<DiffusionConfig> | { unet?: Record<string, unknown> };
  captionDropout?: number;
}

/** The caption vocabulary of @sculpt/datasets' MNIST captions. */
const WORDS = CAPTION_WORDS;

interface Preset {
  autoencoder: AutoencoderConfig;
  text: TextEncoderConfig;
  unet: Record<string, unknown>;
  captionDropout: number;
}

/**
 * | preset | image | latent | AE widths | text | U-Net |
 * |---|---|---|---|---|---|
 * | tiny | 8×8×1 | 2×2×2 | 4, 8, 8 | 8 wide, 1 layer | 2×2, width 8 |
 * | mnist-text | 28×28×1 | 7×7×4 | 16, 32, 64 | 32 wide, 2 layers | 7×7, width 64, 1 block, attention + middle |
 */
export const LATENT_PRESETS: Readonly<Record<LatentPresetName, Preset>> = Object.freeze({
  tiny: {
    autoencoder: {
      imageSize: 8,
      channels: 1,
      widths: [4, 8, 8],
      latentChannels: 2,
      klWeight: 1e-4,
      scaleFactor: 1,
    },
    text: { contextLength: 8, embedDim: 8, numLayers: 1, numHeads: 1, words: WORDS, seed: 0 },
    unet: {
      imageSize: 2,
      channels: 2,
      widths: [8],
      attentionLevels: [0],
      midAttention: false,
      numClasses: 0,
      groups: 4,
      numHeads: 1,
      embedDim: 16,
    },
    captionDropout: 0.1,
  },
  'mnist-text': {
    autoencoder: {
      imageSize: 28,
      channels: 1,
      widths: [16, 32, 64],
      latentChannels: 4,
      klWeight: 1e-4,
      scaleFactor: 1,
    },
    text: { contextLength: 16, embedDim: 32, numLayers: 2, numHeads: 2, words: WORDS, seed: 0 },
    unet: {
      imageSize: 7,
      channels: 4,
      widths: [64],
      blocksPerLevel: 1,
      attentionLevels: [0],
      midAttention: true,
      numClasses: 0,
      groups: 8,
      numHeads: 2,
      embedDim: 64,
    },
    captionDropout: 0.1,
  },
});

/**
 * A checked, frozen {@link LatentConfig} from a preset and overrides; accepts its own output.
 * @example
 * ```ts
 * const config = latentConfig({ preset: 'tiny', captionDropout: 0.2 });
 * ```
 */
export function latentConfig(input: LatentConfigInput = {}): LatentConfig {
  const preset = input.preset ?? 'mnist-text';
  const base = LATENT_PRESETS[preset];
  if (!base) {
    throw new SculptError(
      'latentConfig',
      `expected a preset in ${Object.keys(LATENT_PRESETS).join(', ')}`,
      `got '${preset}'`,
    );
  }
  const autoencoder = { ...base.autoencoder, ...(input.autoencoder ?? {}) };
  const text = { ...base.text, ...(input.text ?? {}) };
  const given = (input.diffusion ?? {}) as { unet?: Record<string, unknown> } & Record<
    string,
    unknown
  >;
  const diffusion = diffusionConfig({
    preset: 'tiny',
    ...given,
    unet: {
      ...base.unet,
      ...(given.unet ?? {}),
      contextDim: text.embedDim,
      contextLength: text.contextLength,
    },
  } as Parameters<typeof diffusionConfig>[0]);
  const config: LatentConfig = {
    autoencoder: Object.freeze({
      ...autoencoder,
      widths: Object.freeze([...autoencoder.widths]) as unknown as AutoencoderConfig['widths'],
    }),
    text: Object.freeze({ ...text, words: Object.freeze([...text.words]) }),
    diffusion,
    captionDropout: input.captionDropout ?? base.captionDropout,
  };
  checkLatentConfig(config);
  return Object.freeze(config);
}

function checkLatentConfig(c: LatentConfig): void {
  const where = 'latentConfig';
  const a = c.autoencoder;
  const side = a.imageSize / 4;
  const u = c.diffusion.unet;
  if (!(Number.isInteger(side) && side > 0)) {
    throw new SculptError(
      where,
      'expected autoencoder.imageSize divisible by 4',
      `got ${a.imageSize}`,
    );
  }
  if (u.imageSize !== side || u.channels !== a.latentChannels) {
    throw new SculptError(
      where,
      `expected the U-Net to work on the latent grid ${side}×${side}×${a.latentChannels}`,
      `got ${u.imageSize}×${u.imageSize}×${u.channels}`,
      'set diffusion.unet.imageSize = autoencoder.imageSize / 4 and channels = latentChannels',
    );
  }
  if (!(a.scaleFactor > 0 && a.klWeight >= 0)) {
    throw new SculptError(
      where,
      'expected scaleFactor > 0 and klWeight ≥ 0',
      `got ${a.scaleFactor}, ${a.klWeight}`,
    );
  }
  if (!(c.captionDropout >= 0 && c.captionDropout < 1)) {
    throw new SculptError(where, 'expected captionDropout in [0, 1)', `got ${c.captionDropout}`);
  }
  if (c.text.embedDim % c.text.numHeads !== 0 || c.text.contextLength < 2) {
    throw new SculptError(
      where,
      'expected text.numHeads to divide text.embedDim and contextLength ≥ 2',
      `got ${c.text.numHeads}, ${c.text.embedDim}, ${c.text.contextLength}`,
    );
  }
}
