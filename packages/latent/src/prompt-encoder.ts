// The text encoder: a word tokenizer over the caption vocabulary and a GPT's
// blocks from @sculpt/autoregressive run bidirectionally (`gptEncode`), kept
// frozen at its seeded initialisation: the U-Net's cross-attention learns to
// read its per-token encodings (keys and values are trained, the encoder not).
// Token 0 is padding (masked out), token 1 a start token that every prompt —
// the empty one included — begins with, so no prompt is all padding.
import { gptConfig, gptEncode, initGptParams } from '@sculpt/autoregressive';
import { SculptError } from '@sculpt/core';
import * as tf from '@tensorflow/tfjs-core';
import type { TextEncoderConfig } from './config.js';

/** Ids of the special tokens. */
export const PAD_TOKEN = 0;
export const START_TOKEN = 1;

/** What {@link PromptEncoder.encode} returns; the caller owns both tensors. */
export interface EncodedPrompts {
  /** `[B, contextLength, embedDim]`. */
  context: tf.Tensor3D;
  /** `[B, contextLength]`: 1 = token, 0 = padding. */
  contextMask: tf.Tensor2D;
}

/**
 * Prompts → `cond.context` for a U-Net with `contextDim = embedDim`.
 * Owns its (frozen) weights: `dispose()`.
 * @example
 * ```ts
 * const text = new PromptEncoder(latentConfig({ preset: 'tiny' }).text);
 * const { context, contextMask } = text.encode(['a thick seven', '']);
 * ```
 */
export class PromptEncoder {
  readonly config: TextEncoderConfig;
  private readonly gpt: ReturnType<typeof gptConfig>;
  /** The frozen encoder weights (GPT names); owned. */
  readonly params: Record<string, tf.Variable>;
  private readonly ids: ReadonlyMap<string, number>;

  constructor(config: TextEncoderConfig) {
    this.config = config;
    this.ids = new Map(config.words.map((w, i) => [w, i + 2]));
    this.gpt = gptConfig('tiny', {
      vocabSize: config.words.length + 2,
      contextLength: config.contextLength,
      embedDim: config.embedDim,
      numLayers: config.numLayers,
      numHeads: config.numHeads,
    });
    this.params = initGptParams(this.gpt, config.seed);
    for (const v of Object.values(this.params)) (v as { trainable: boolean }).trainable = false;
  }

  /**
   * Word ids of a prompt, the start token first, padded with 0 to `contextLength`.
   * @throws SculptError for an unknown word or a prompt longer than the context.
   */
  tokenize(prompt: string): Int32Array {
    const where = 'PromptEncoder.tokenize';
    if (typeof prompt !== 'string')
      throw new SculptError(
        where,
        'a prompt string',
        `got ${typeof prompt}`,
        "pass text, e.g. 'a thick seven'",
      );
    const words = prompt
      .toLowerCase()
      .split(/[^a-z0-9]+/)
      .filter(Boolean);
    const max = this.config.contextLength - 1;
    if (words.length > max) {
      throw new SculptError(
        where,
        `expected at most ${max} words (contextLength ${this.config.contextLength} minus the start token)`,
        `got ${words.length} words in ${JSON.stringify(prompt.slice(0, 60))}`,
        `shorten the prompt to ${max} words, or train a model with a larger text.contextLength`,
      );
    }
    const out = new Int32Array(this.config.contextLength);
    out[0] = START_TOKEN;
    words.forEach((w, i) => {
      const id = this.ids.get(w);
      if (id === undefined) {
        throw new SculptError(
          where,
          'expected words from the caption vocabulary',
          `got '${w}'`,
          `use words such as ${this.config.words.slice(4, 12).join(', ')} and digits 0–9`,
        );
      }
      out[i + 1] = id;
    });
    return out;
  }

  /**
   * Encodes prompts (an empty string is the unconditional prompt).
   * @returns `{ context, contextMask }`; the caller owns both.
   */
  encode(prompts: readonly string[]): EncodedPrompts {
    if (!Array.isArray(prompts))
      throw new SculptError(
        'PromptEncoder.encode',
        'an array of prompt strings',
        `got ${typeof prompts}`,
        "wrap one prompt in an array: ['a thick seven']",
      );
    const L = this.config.contextLength;
    const ids = new Int32Array(prompts.length * L);
    for (const [i, p] of prompts.entries()) ids.set(this.tokenize(p), i * L);
    return tf.tidy(() => {
      const tokens = tf.tensor2d(ids, [prompts.length, L], 'int32');
      const contextMask = tf.cast(tf.notEqual(tokens, PAD_TOKEN), 'float32') as tf.Tensor2D;
      const context = gptEncode(this.gpt, this.params, tokens, { keyMask: contextMask });
      return { context, contextMask };
    });
  }

  /** Frees the weights. */
  dispose(): void {
    tf.dispose(Object.values(this.params));
  }
}
