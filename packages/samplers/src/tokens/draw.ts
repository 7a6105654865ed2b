// The draw that follows the processors: argmax, or one seeded categorical
// sample per row (Gumbel-max through Rng.categorical; tf.multinomial is not
// used because it treats seed 0 as unseeded).

import type { LogitsProcessor, Rng, TokenContext } from '@sculpt/core';
import { SculptError } from '@sculpt/core';
import * as tf from '@tensorflow/tfjs-core';
import { composeProcessors } from './compose.js';
import {
  epsilonProcessor,
  etaProcessor,
  minPProcessor,
  temperatureProcessor,
  topKProcessor,
  topPProcessor,
  typicalProcessor,
} from './filters.js';
import type { UnconditionalLogits } from './guidance.js';
import { cfgProcessor } from './guidance.js';
import { checkLogits } from './internal.js';
import {
  bannedTokensProcessor,
  frequencyPenaltyProcessor,
  noRepeatNGramProcessor,
  presencePenaltyProcessor,
  repetitionPenaltyProcessor,
} from './penalties.js';

/**
 * Greedy decoding: the argmax token of each row.
 *
 * @param logits - [B, V] (not disposed).
 * @returns int32 [B]; the caller owns it.
 * @throws SculptError if `logits` is not rank 2.
 * @example
 * ```ts
 * const next = greedy(logits); // Tensor1D int32
 * const ids = await next.array(); next.dispose();
 * ```
 */
export function greedy(logits: tf.Tensor2D): tf.Tensor1D {
  checkLogits('greedy', logits);
  return tf.tidy(() => tf.cast(tf.argMax(logits, 1), 'int32') as tf.Tensor1D);
}

/**
 * Draws one token per row from softmax(logits) with a seeded {@link Rng}
 * (Gumbel-max on the device; −∞ logits are never drawn). Same seed, same
 * logits → same tokens on every backend.
 *
 * @param logits - [B, V] unnormalised log-probabilities (not disposed).
 * @param rng - the random stream; advanced by B·V uniforms.
 * @returns int32 [B]; the caller owns it.
 * @throws SculptError if `logits` is not rank 2 or `rng` is missing.
 * @example
 * ```ts
 * const rng = new Rng(1337);
 * const next = sampleTokens(topKProcessor({ topK: 40 })(logits, ctx), rng);
 * ```
 */
export function sampleTokens(logits: tf.Tensor2D, rng: Rng): tf.Tensor1D {
  const [b] = checkLogits('sampleTokens', logits);
  if (!rng || typeof rng.categorical !== 'function') {
    throw new SculptError(
      'sampleTokens',
      'rng must be an Rng from @sculpt/core',
      `got ${typeof rng}`,
      'pass new Rng(seed)',
    );
  }
  return tf.tidy(() => tf.reshape(rng.categorical(logits, 1), [b]) as tf.Tensor1D);
}

/** How {@link createTokenSampler} picks the token after processing. */
export type TokenStrategy = 'sample' | 'greedy';

/** Options for {@link createTokenSampler}. Every filter and penalty is off unless set. */
export interface TokenSamplerOptions {
  /** `'sample'` (default) draws from the processed distribution; `'greedy'` takes the argmax and skips the warpers (temperature … eta). */
  strategy?: TokenStrategy;
  /** Random stream; required for `'sample'`. */
  rng?: Rng;
  /** Temperature T > 0. Default `1`. */
  temperature?: number;
  /** Keep the k most likely tokens. Default: off. */
  topK?: number;
  /** Nucleus mass in (0, 1]. Default: off. */
  topP?: number;
  /** Min-p base in (0, 1]. Default: off. */
  minP?: number;
  /** Typical mass in (0, 1]. Default: off. */
  typicalP?: number;
  /** ε cutoff in (0, 1). Default: off. */
  epsilon?: number;
  /** η cutoff in (0, 1). Default: off. */
  eta?: number;
  /** Keep at least this many tokens in every filter. Default `1`. */
  minTokensToKeep?: number;
  /** CTRL repetition penalty θ > 0. Default: off. */
  repetitionPenalty?: number;
  /** OpenAI frequency penalty. Default: off. */
  frequencyPenalty?: number;
  /** OpenAI presence penalty. Default: off. */
  presencePenalty?: number;
  /** Ban repeated n-grams of this size. Default: off. */
  noRepeatNGramSize?: number;
  /** Token ids never generated. Default: none. */
  bannedTokenIds?: readonly number[];
  /** Banned token sequences (bad-words ids). Default: none. */
  bannedSequences?: readonly (readonly number[])[];
  /** Classifier-free guidance scale w; needs `unconditional`. Default: off. */
  guidanceScale?: number;
  /** Unconditional logits for CFG (see {@link cfgProcessor}). */
  unconditional?: UnconditionalLogits;
  /** Extra processors run after the penalties and before the warpers. Default: none. */
  processors?: readonly LogitsProcessor[];
}

/** What {@link createTokenSampler} returns. */
export interface TokenSampler {
  /** The whole processor chain, in order. Its result is owned by the caller. */
  readonly process: LogitsProcessor;
  /** Processes `logits` and draws one token per row: int32 [B], owned by the caller. `logits` is not disposed. */
  readonly sample: (logits: tf.Tensor2D, ctx: TokenContext) => tf.Tensor1D;
}

/** The penalty/constraint processors, in transformers' order. */
function constraintChain(o: TokenSamplerOptions): LogitsProcessor[] {
  const chain: LogitsProcessor[] = [];
  if (o.guidanceScale !== undefined || o.unconditional !== undefined) {
    if (o.guidanceScale === undefined || o.unconditional === undefined) {
      throw new SculptError(
        'createTokenSampler',
        'guidanceScale and unconditional must be given together',
        `got guidanceScale ${o.guidanceScale} and ${o.unconditional ? 'an' : 'no'} unconditional source`,
      );
    }
    chain.push(cfgProcessor({ guidanceScale: o.guidanceScale, unconditional: o.unconditional }));
  }
  if (o.repetitionPenalty !== undefined)
    chain.push(repetitionPenaltyProcessor({ penalty: o.repetitionPenalty }));
  if (o.frequencyPenalty !== undefined)
    chain.push(frequencyPenaltyProcessor({ frequencyPenalty: o.frequencyPenalty }));
  if (o.presencePenalty !== undefined)
    chain.push(presencePenaltyProcessor({ presencePenalty: o.presencePenalty }));
  if (o.noRepeatNGramSize !== undefined)
    chain.push(noRepeatNGramProcessor({ ngramSize: o.noRepeatNGramSize }));
  if (o.bannedTokenIds !== undefined || o.bannedSequences !== undefined) {
    chain.push(bannedTokensProcessor({ tokenIds: o.bannedTokenIds, sequences: o.bannedSequences }));
  }
  chain.push(...(o.processors ?? []));
  return chain;
}

/** The warpers, in transformers' order: temperature, top-k, top-p, min-p, typical, ε, η. */
function warperChain(o: TokenSamplerOptions): LogitsProcessor[] {
  const minTokensToKeep = o.minTokensToKeep;
  const chain: LogitsProcessor[] = [];
  if (o.temperature !== undefined) chain.push(temperatureProcessor({ temperature: o.temperature }));
  if (o.topK !== undefined) chain.push(topKProcessor({ topK: o.topK, minTokensToKeep }));
  if (o.topP !== undefined) chain.push(topPProcessor({ topP: o.topP, minTokensToKeep }));
  if (o.minP !== undefined) chain.push(minPProcessor({ minP: o.minP, minTokensToKeep }));
  if (o.typicalP !== undefined)
    chain.push(typicalProcessor({ typicalP: o.typicalP, minTokensToKeep }));
  if (o.epsilon !== undefined)
    chain.push(epsilonProcessor({ epsilon: o.epsilon, minTokensToKeep }));
  if (o.eta !== undefined) chain.push(etaProcessor({ eta: o.eta, minTokensToKeep }));
  return chain;
}

/**
 * Builds the conventional chain (transformers' order: CFG → repetition →
 * frequency → presence → no-repeat n-gram → banned → your `processors` →
 * temperature → top-k → top-p → min-p → typical → ε → η) and the draw.
 * Every option is validated here, once.
 *
 * @param options - see {@link TokenSamplerOptions}; everything is off unless set, `strategy` defaults to `'sample'`.
 * @returns `{ process, sample }`; tensors they return are owned by the caller.
 * @throws SculptError for an unknown strategy, `'sample'` without `rng`, or any invalid processor option.
 * @example
 * ```ts
 * const sampler = createTokenSampler({ rng: new Rng(1337), temperature: 0.8, topK: 200 });
 * const next = sampler.sample(logits, { tokens, step }); // int32 [B]
 * ```
 */
export function createTokenSampler(options: TokenSamplerOptions = {}): TokenSampler {
  const strategy = options.strategy ?? 'sample';
  if (strategy !== 'sample' && strategy !== 'greedy') {
    throw new SculptError(
      'createTokenSampler',
      "strategy must be 'sample' or 'greedy'",
      `got ${String(strategy)}`,
    );
  }
  const rng = options.rng;
  if (strategy === 'sample' && (!rng || typeof rng.categorical !== 'function')) {
    throw new SculptError(
      'createTokenSampler',
      "strategy 'sample' needs an rng",
      'got none',
      "pass { rng: new Rng(seed) } or strategy: 'greedy'",
    );
  }
  const warpers = warperChain(options); // validated even for greedy
  const chain = constraintChain(options);
  const process = composeProcessors(...chain, ...(strategy === 'sample' ? warpers : []));
  const sample = (logits: tf.Tensor2D, ctx: TokenContext): tf.Tensor1D => {
    const z = process(logits, ctx);
    try {
      return strategy === 'greedy' ? greedy(z) : sampleTokens(z, rng as Rng);
    } finally {
      z.dispose();
    }
  };
  return Object.freeze({ process, sample });
}
