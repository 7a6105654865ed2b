// Logit warpers: temperature and the truncation filters (top-k, top-p, min-p,
// typical, ε, η). Each factory validates its options once and returns a
// LogitsProcessor; filtered tokens get −∞.
//
// Notation: z = logits [B, V], p = softmax(z), log p = z − logsumexp(z).

import type { LogitsProcessor } from '@sculpt/core';
import { SculptError } from '@sculpt/core';
import * as tf from '@tensorflow/tfjs-core';
import {
  checkInteger,
  checkLogits,
  checkUnitInterval,
  keepAtLeast,
  keepOrNegInf,
  negEntropy,
  nucleusMask,
} from './internal.js';

/** Options for {@link temperatureProcessor}. */
export interface TemperatureOptions {
  /** Divides the logits: p = softmax(z / T). Must be > 0; below 1 sharpens, above 1 flattens. */
  temperature: number;
}

/** Options shared by the truncation filters. */
export interface MinTokensOption {
  /** Never keep fewer than this many tokens per row. Default `1`. */
  minTokensToKeep?: number;
}

/** Options for {@link topKProcessor}. */
export interface TopKOptions extends MinTokensOption {
  /** Keep the `topK` largest logits (all tokens tied with the k-th are kept). An integer ≥ 1; values above V keep everything. */
  topK: number;
}

/** Options for {@link topPProcessor}. */
export interface TopPOptions extends MinTokensOption {
  /** Nucleus mass p₀ in (0, 1]: keep the smallest most-probable set whose mass is ≥ p₀. `1` keeps everything. */
  topP: number;
}

/** Options for {@link minPProcessor}. */
export interface MinPOptions extends MinTokensOption {
  /** p_base in (0, 1]: keep token i iff p_i ≥ p_base · max_j p_j. */
  minP: number;
}

/** Options for {@link typicalProcessor}. */
export interface TypicalOptions extends MinTokensOption {
  /** Mass τ in (0, 1]: rank tokens by |−log p_i − H(p)| and keep them until the mass reaches τ. `1` keeps everything. */
  typicalP: number;
}

/** Options for {@link epsilonProcessor}. */
export interface EpsilonOptions extends MinTokensOption {
  /** ε in (0, 1): drop tokens with p_i < ε. Hewitt et al. suggest 3e-4 – 9e-4. */
  epsilon: number;
}

/** Options for {@link etaProcessor}. */
export interface EtaOptions extends MinTokensOption {
  /** η in (0, 1): drop tokens with p_i < min(η, √η · e^{−H(p)}). Hewitt et al. suggest 3e-4 – 2e-3. */
  eta: number;
}

function minTokens(where: string, options: MinTokensOption): number {
  const m = options.minTokensToKeep ?? 1;
  checkInteger(where, 'minTokensToKeep', m, 1);
  return m;
}

function checkOpenUnit(where: string, name: string, value: number): void {
  if (!(typeof value === 'number' && value > 0 && value < 1)) {
    throw new SculptError(where, `${name} must be in (0, 1)`, `got ${value}`);
  }
}

/**
 * Temperature scaling: z ← z / T.
 *
 * @param options - `{ temperature }` (required, > 0).
 * @returns a processor; each call returns a new [B, V] tensor the caller owns.
 * @throws SculptError if `temperature` ≤ 0 or not finite.
 * @example
 * ```ts
 * const warm = temperatureProcessor({ temperature: 0.8 });
 * const z2 = warm(logits, ctx); // caller disposes z2
 * ```
 */
export function temperatureProcessor(options: TemperatureOptions): LogitsProcessor {
  const where = 'temperatureProcessor';
  const t = options.temperature;
  if (!(typeof t === 'number' && t > 0 && Number.isFinite(t))) {
    throw new SculptError(
      where,
      'temperature must be a finite number > 0',
      `got ${t}`,
      "for argmax decoding use greedy() or createTokenSampler({ strategy: 'greedy' })",
    );
  }
  return (logits) => {
    checkLogits(where, logits);
    return tf.tidy(() => tf.div(logits, t) as tf.Tensor2D);
  };
}

/**
 * Top-k filtering (Fan, Lewis & Dauphin 2018): keep the k largest logits per
 * row, set the rest to −∞.
 *
 * @param options - `{ topK, minTokensToKeep = 1 }`.
 * @returns a processor; each call returns a new [B, V] tensor the caller owns.
 * @throws SculptError if `topK` is not an integer ≥ 1.
 * @example
 * ```ts
 * const z2 = topKProcessor({ topK: 40 })(logits, ctx);
 * ```
 */
export function topKProcessor(options: TopKOptions): LogitsProcessor {
  const where = 'topKProcessor';
  checkInteger(where, 'topK', options.topK, 1);
  const k = Math.max(options.topK, minTokens(where, options));
  return (logits) => {
    checkLogits(where, logits);
    return tf.tidy(() =>
      keepOrNegInf(logits, tf.greaterEqual(logits, keepAtLeast(logits, tf.scalar(Infinity), k))),
    );
  };
}

/**
 * Nucleus (top-p) filtering (Holtzman et al. 2020): sort by probability and
 * keep the smallest prefix whose cumulative mass is ≥ p₀. Over
 * p = [0.5, 0.3, 0.15, 0.05] with p₀ = 0.8 it keeps exactly the first two.
 *
 * @param options - `{ topP, minTokensToKeep = 1 }`.
 * @returns a processor; each call returns a new [B, V] tensor the caller owns.
 * @throws SculptError if `topP` is outside (0, 1].
 * @example
 * ```ts
 * const z2 = topPProcessor({ topP: 0.9 })(logits, ctx);
 * ```
 */
export function topPProcessor(options: TopPOptions): LogitsProcessor {
  const where = 'topPProcessor';
  checkUnitInterval(where, 'topP', options.topP);
  const m = minTokens(where, options);
  return (logits) => {
    checkLogits(where, logits);
    if (options.topP >= 1) return tf.clone(logits);
    return tf.tidy(() =>
      keepOrNegInf(logits, nucleusMask(logits, 'score-is-logits', options.topP, m)),
    );
  };
}

/**
 * Min-p filtering (Nguyen et al. 2024): keep token i iff
 * p_i ≥ p_base · max_j p_j, i.e. z_i ≥ max_j z_j + log p_base.
 *
 * @param options - `{ minP, minTokensToKeep = 1 }`.
 * @returns a processor; each call returns a new [B, V] tensor the caller owns.
 * @throws SculptError if `minP` is outside (0, 1].
 * @example
 * ```ts
 * const z2 = minPProcessor({ minP: 0.05 })(logits, ctx);
 * ```
 */
export function minPProcessor(options: MinPOptions): LogitsProcessor {
  const where = 'minPProcessor';
  checkUnitInterval(where, 'minP', options.minP);
  const m = minTokens(where, options);
  const logBase = Math.log(options.minP);
  return (logits) => {
    checkLogits(where, logits);
    return tf.tidy(() => {
      const cutoff = tf.add(tf.max(logits, 1, true), logBase); // [B, 1]
      return keepOrNegInf(logits, tf.greaterEqual(logits, keepAtLeast(logits, cutoff, m)));
    });
  };
}

/**
 * Locally typical sampling (Meister et al. 2023): rank tokens by
 * |−log p_i − H(p)| (ascending) and keep them until the mass reaches τ.
 *
 * @param options - `{ typicalP, minTokensToKeep = 1 }`.
 * @returns a processor; each call returns a new [B, V] tensor the caller owns.
 * @throws SculptError if `typicalP` is outside (0, 1].
 * @example
 * ```ts
 * const z2 = typicalProcessor({ typicalP: 0.95 })(logits, ctx);
 * ```
 */
export function typicalProcessor(options: TypicalOptions): LogitsProcessor {
  const where = 'typicalProcessor';
  checkUnitInterval(where, 'typicalP', options.typicalP);
  const m = minTokens(where, options);
  return (logits) => {
    checkLogits(where, logits);
    if (options.typicalP >= 1) return tf.clone(logits);
    return tf.tidy(() => {
      const logp = tf.logSoftmax(logits) as tf.Tensor2D;
      const entropy = tf.neg(negEntropy(logp)); // [B, 1]
      // Higher = more typical: −|−log p − H|. −∞ tokens score −∞.
      const score = tf.neg(tf.abs(tf.add(logp, entropy))) as tf.Tensor2D;
      return keepOrNegInf(
        logits,
        nucleusMask(score, tf.exp(logp) as tf.Tensor2D, options.typicalP, m),
      );
    });
  };
}

/**
 * ε-sampling (Hewitt et al. 2022): drop tokens with p_i < ε, i.e.
 * z_i < logsumexp(z) + log ε.
 *
 * @param options - `{ epsilon, minTokensToKeep = 1 }`.
 * @returns a processor; each call returns a new [B, V] tensor the caller owns.
 * @throws SculptError if `epsilon` is outside (0, 1).
 * @example
 * ```ts
 * const z2 = epsilonProcessor({ epsilon: 3e-4 })(logits, ctx);
 * ```
 */
export function epsilonProcessor(options: EpsilonOptions): LogitsProcessor {
  const where = 'epsilonProcessor';
  checkOpenUnit(where, 'epsilon', options.epsilon);
  const m = minTokens(where, options);
  const logEps = Math.log(options.epsilon);
  return (logits) => {
    checkLogits(where, logits);
    return tf.tidy(() => {
      const cutoff = tf.add(tf.logSumExp(logits, 1, true), logEps);
      return keepOrNegInf(logits, tf.greaterEqual(logits, keepAtLeast(logits, cutoff, m)));
    });
  };
}

/**
 * η-sampling (Hewitt et al. 2022): drop tokens with p_i < min(η, √η·e^{−H(p)}),
 * an entropy-adaptive ε.
 *
 * @param options - `{ eta, minTokensToKeep = 1 }`.
 * @returns a processor; each call returns a new [B, V] tensor the caller owns.
 * @throws SculptError if `eta` is outside (0, 1).
 * @example
 * ```ts
 * const z2 = etaProcessor({ eta: 1e-3 })(logits, ctx);
 * ```
 */
export function etaProcessor(options: EtaOptions): LogitsProcessor {
  const where = 'etaProcessor';
  checkOpenUnit(where, 'eta', options.eta);
  const m = minTokens(where, options);
  const eta = options.eta;
  return (logits) => {
    checkLogits(where, logits);
    return tf.tidy(() => {
      const logp = tf.logSoftmax(logits) as tf.Tensor2D;
      // log threshold = min(log η, ½ log η − H) with −H = Σ p log p.
      const logThreshold = tf.minimum(Math.log(eta), tf.add(negEntropy(logp), 0.5 * Math.log(eta)));
      const cutoff = tf.add(tf.logSumExp(logits, 1, true), logThreshold);
      return keepOrNegInf(logits, tf.greaterEqual(logits, keepAtLeast(logits, cutoff, m)));
    });
  };
}
