// GPT configuration: one frozen, JSON-serialisable value with documented
// defaults and a preset table (nanoGPT's GPTConfig, in TypeScript).
import { SculptError } from '@sculpt/core';

/** How token positions enter the model: learned absolute embeddings (GPT-2) or rotary (RoPE, Su et al. 2021). */
export type PositionKind = 'learned' | 'rotary';

/** A GPT's architecture. Every field is plain JSON. */
export interface GptConfig {
  /** Number of token ids (the tokenizer's `vocabSize`). */
  readonly vocabSize: number;
  /** The longest context the model attends to, in tokens (nanoGPT's `block_size`). */
  readonly contextLength: number;
  /** Transformer blocks. */
  readonly numLayers: number;
  /** Attention heads per block; must divide `embedDim`. */
  readonly numHeads: number;
  /** Width of the residual stream. */
  readonly embedDim: number;
  /** Dropout on attention weights and residual branches during training, in [0, 1). */
  readonly dropout: number;
  /** Position encoding. */
  readonly positions: PositionKind;
  /** Share the token embedding with the output projection (weight tying, Press & Wolf 2017). */
  readonly tieWeights: boolean;
  /** Biases in the linear layers and LayerNorms (nanoGPT's `bias`). */
  readonly bias: boolean;
}

/** What {@link gptConfig} takes: `vocabSize` plus any fields to override. */
export type GptConfigInput = Partial<GptConfig> & { vocabSize: number };

/** The preset names, smallest first. */
export type GptPreset = 'tiny' | 'char-small' | 'bpe-small';

/** Everything but the vocabulary size, per preset. */
export const PRESETS: Readonly<Record<GptPreset, Omit<GptConfig, 'vocabSize'>>> = Object.freeze({
  /** For tests: trains in milliseconds per step. */
  tiny: Object.freeze({
    contextLength: 32,
    numLayers: 2,
    numHeads: 2,
    embedDim: 32,
    dropout: 0,
    positions: 'learned',
    tieWeights: true,
    bias: true,
  }),
  /** A character-level model sized for a 2-core CPU: ≈ 1.2 M weights, 20 minutes on a book. */
  'char-small': Object.freeze({
    contextLength: 128,
    numLayers: 4,
    numHeads: 4,
    embedDim: 160,
    dropout: 0,
    positions: 'learned',
    tieWeights: true,
    bias: true,
  }),
  /** The same body over BPE tokens (vocabulary ≈ 1,024): each position sees ~3 characters. */
  'bpe-small': Object.freeze({
    contextLength: 64,
    numLayers: 4,
    numHeads: 4,
    embedDim: 160,
    dropout: 0,
    positions: 'learned',
    tieWeights: true,
    bias: true,
  }),
});

const positiveInt = (v: unknown): boolean => Number.isInteger(v) && (v as number) > 0;

/**
 * A validated, frozen config from a preset name plus overrides.
 *
 * @param preset - a {@link GptPreset}.
 * @param input - `vocabSize` and any overrides.
 * @returns a frozen {@link GptConfig}.
 * @throws SculptError naming the first invalid field.
 * @example
 * ```ts
 * const config = gptConfig('char-small', { vocabSize: tokenizer.vocabSize, dropout: 0.1 });
 * ```
 */
export function gptConfig(preset: GptPreset, input: GptConfigInput): GptConfig {
  const base = PRESETS[preset];
  if (!base) {
    throw new SculptError(
      'gptConfig',
      `expected a preset name (${Object.keys(PRESETS).join(', ')})`,
      `got '${String(preset)}'`,
    );
  }
  return checkConfig({ ...base, ...input });
}

/**
 * Validates a full config (e.g. read from a checkpoint) and freezes it.
 *
 * @returns the same fields, frozen.
 * @throws SculptError naming the first invalid field and the fix.
 * @example
 * ```ts
 * const config = checkConfig(JSON.parse(text));
 * ```
 */
export function checkConfig(c: GptConfig): GptConfig {
  const where = 'gptConfig';
  for (const key of ['vocabSize', 'contextLength', 'numLayers', 'numHeads', 'embedDim'] as const) {
    if (!positiveInt(c[key]))
      throw new SculptError(where, `${key} must be a positive integer`, `got ${c[key]}`);
  }
  if (c.embedDim % c.numHeads !== 0)
    throw new SculptError(
      where,
      'numHeads must divide embedDim',
      `got embedDim ${c.embedDim}, numHeads ${c.numHeads}`,
    );
  if (c.positions === 'rotary' && (c.embedDim / c.numHeads) % 2 !== 0)
    throw new SculptError(
      where,
      'rotary positions need an even head size (embedDim / numHeads)',
      `got ${c.embedDim / c.numHeads}`,
    );
  if (!(c.dropout >= 0 && c.dropout < 1))
    throw new SculptError(where, 'dropout must be in [0, 1)', `got ${c.dropout}`);
  if (c.positions !== 'learned' && c.positions !== 'rotary')
    throw new SculptError(where, "positions must be 'learned' or 'rotary'", `got ${c.positions}`);
  if (typeof c.tieWeights !== 'boolean' || typeof c.bias !== 'boolean')
    throw new SculptError(
      where,
      'tieWeights and bias must be booleans',
      `got ${c.tieWeights}, ${c.bias}`,
    );
  return Object.freeze({
    vocabSize: c.vocabSize,
    contextLength: c.contextLength,
    numLayers: c.numLayers,
    numHeads: c.numHeads,
    embedDim: c.embedDim,
    dropout: c.dropout,
    positions: c.positions,
    tieWeights: c.tieWeights,
    bias: c.bias,
  });
}
