import { formatShape, SculptError } from '@sculpt/core';
import * as tf from '@tensorflow/tfjs-core';

const LN2 = Math.LN2;

function meanOf(where: string, name: string, values: ArrayLike<number>): number {
  if (values.length === 0)
    throw new SculptError(where, `${name} must not be empty`, 'got 0 values');
  let s = 0;
  for (let i = 0; i < values.length; i++) s += values[i];
  return s / values.length;
}

/**
 * The negative ELBO of a VAE, in nats per example:
 * `−ELBO = E_q[−log p(x|z)] + KL(q(z|x) ‖ p(z))`, an upper bound on `−log p(x)`.
 *
 * @param parts - per-example `reconstruction` (−log p(x|z), nats) and `kl` (nats), same length.
 * @returns `{ negativeElbo, reconstruction, kl }`, means over examples, in nats.
 * @example
 * const { negativeElbo } = negativeElbo({ reconstruction: recNats, kl: klNats }); // ≈ 100 nats on binarized MNIST is decent
 */
export function negativeElbo(parts: { reconstruction: ArrayLike<number>; kl: ArrayLike<number> }): {
  negativeElbo: number;
  reconstruction: number;
  kl: number;
} {
  if (parts.reconstruction.length !== parts.kl.length) {
    throw new SculptError(
      'negativeElbo',
      'reconstruction and kl need one value per example each',
      `got ${parts.reconstruction.length} and ${parts.kl.length}`,
    );
  }
  const reconstruction = meanOf('negativeElbo', 'reconstruction', parts.reconstruction);
  const kl = meanOf('negativeElbo', 'kl', parts.kl);
  return { negativeElbo: reconstruction + kl, reconstruction, kl };
}

/**
 * The importance-weighted bound (Burda et al. 2016) from K log-weights per
 * example, `log w_k = log p(x, z_k) − log q(z_k | x)`, `z_k ~ q(z|x)`:
 * `L_K = log (1/K) Σ_k w_k ≤ log p(x)`, computed with a stable log-sum-exp.
 * Tighter than the ELBO (K = 1) and tightening as K grows.
 *
 * @param logWeights - `[B·K]` log-weights, row-major `[B, K]` (example-major).
 * @param numSamples - K, samples per example.
 * @returns `{ negativeBound, bound, perExample }` in nats: `negativeBound = −mean_b L_K` (an upper bound on the NLL).
 * @example
 * const { negativeBound } = importanceWeightedBound(logW, 5000); // IWAE-5000 NLL estimate
 */
export function importanceWeightedBound(
  logWeights: ArrayLike<number>,
  numSamples: number,
): { negativeBound: number; bound: number; perExample: Float64Array } {
  if (
    !Number.isInteger(numSamples) ||
    numSamples < 1 ||
    logWeights.length % numSamples !== 0 ||
    logWeights.length === 0
  ) {
    throw new SculptError(
      'importanceWeightedBound',
      `logWeights length must be a positive multiple of numSamples = ${numSamples}`,
      `got ${logWeights.length}`,
    );
  }
  const batch = logWeights.length / numSamples;
  const perExample = new Float64Array(batch);
  for (let b = 0; b < batch; b++) {
    let max = Number.NEGATIVE_INFINITY;
    for (let k = 0; k < numSamples; k++) max = Math.max(max, logWeights[b * numSamples + k]);
    let s = 0;
    for (let k = 0; k < numSamples; k++) s += Math.exp(logWeights[b * numSamples + k] - max);
    perExample[b] = max + Math.log(s) - Math.log(numSamples);
  }
  const bound = meanOf('importanceWeightedBound', 'logWeights', perExample);
  return { negativeBound: -bound, bound, perExample };
}

/**
 * Bits per dimension from a negative log-likelihood in nats per example:
 * `bpd = (nll + D·ln(dataScale)) / (D · ln 2)`. Pass `dataScale: 256` when the
 * model is a density on data divided by 256 (dequantized 8-bit images scaled to
 * [0, 1]): that turns the density into a likelihood of the 8-bit data.
 *
 * @param nllNats - −log p(x) per example, in nats (a number, or per-example values to average).
 * @param numDims - D, dimensions per example (e.g. 784 for MNIST).
 * @param options - `dataScale` (default 1: no change of variables).
 * @returns bits per dimension.
 * @example
 * bitsPerDim(80, 784); // ≈ 0.147
 */
export function bitsPerDim(
  nllNats: number | ArrayLike<number>,
  numDims: number,
  options: { dataScale?: number } = {},
): number {
  const nll = typeof nllNats === 'number' ? nllNats : meanOf('bitsPerDim', 'nllNats', nllNats);
  if (!(numDims > 0))
    throw new SculptError('bitsPerDim', 'numDims must be positive', `got ${numDims}`);
  const scale = options.dataScale ?? 1;
  return (nll + numDims * Math.log(scale)) / (numDims * LN2);
}

/** Language-model scores derived from a total negative log-likelihood. */
export interface LanguageModelScores {
  /** Mean NLL per token, nats. */
  natsPerToken: number;
  /** Mean NLL per token, bits. */
  bitsPerToken: number;
  /** `exp(natsPerToken)`. */
  perplexity: number;
  /** Total nats divided by the number of characters the tokens encode (equals natsPerToken for char models). */
  natsPerCharacter: number;
  /** `natsPerCharacter / ln 2` (bits per character, bpc). */
  bitsPerCharacter: number;
}

/**
 * Perplexity and nats/bits per token and per character from a summed NLL.
 *
 * @param totals - `totalNats` (sum of −log p over tokens), `numTokens`, `numCharacters` (default `numTokens`).
 * @returns {@link LanguageModelScores}.
 * @example
 * const { perplexity, bitsPerCharacter } = languageModelScores({ totalNats, numTokens });
 */
export function languageModelScores(totals: {
  totalNats: number;
  numTokens: number;
  numCharacters?: number;
}): LanguageModelScores {
  const { totalNats, numTokens } = totals;
  const numCharacters = totals.numCharacters ?? numTokens;
  if (!(numTokens > 0) || !(numCharacters > 0)) {
    throw new SculptError(
      'languageModelScores',
      'numTokens and numCharacters must be positive',
      `got ${numTokens}, ${numCharacters}`,
    );
  }
  const natsPerToken = totalNats / numTokens;
  const natsPerCharacter = totalNats / numCharacters;
  return {
    natsPerToken,
    bitsPerToken: natsPerToken / LN2,
    perplexity: Math.exp(natsPerToken),
    natsPerCharacter,
    bitsPerCharacter: natsPerCharacter / LN2,
  };
}

/**
 * Summed cross-entropy of integer targets under logits, in nats (one read-back).
 *
 * @param logits - `[N, V]` unnormalised log-probabilities (e.g. a GPT's logits reshaped to rows).
 * @param targets - `[N]` int32 token ids.
 * @returns `{ totalNats, numTokens }`; pass to {@link languageModelScores}. No tensor outlives the call.
 * @example
 * const scores = languageModelScores(await tokenNll(logits, targets));
 */
export async function tokenNll(
  logits: tf.Tensor2D,
  targets: tf.Tensor1D,
): Promise<{ totalNats: number; numTokens: number }> {
  if (logits.rank !== 2 || targets.rank !== 1 || targets.shape[0] !== logits.shape[0]) {
    throw new SculptError(
      'tokenNll',
      'expected logits [N, V] and targets [N]',
      `got ${formatShape(logits.shape)} and ${formatShape(targets.shape)}`,
    );
  }
  const total = tf.tidy(() => {
    const logProbs = tf.logSoftmax(logits);
    // One-hot by comparison and a cast, not tf.oneHot(…, 'float32'): on the wasm
    // backend that returns int32 bit patterns (1 reads as 1.4e-45).
    const ids = tf.expandDims(tf.cast(targets, 'int32'), 1);
    const mask = tf.cast(tf.equal(tf.range(0, logits.shape[1], 1, 'int32'), ids), 'float32');
    return tf.neg(tf.sum(tf.mul(logProbs, mask)));
  });
  const value = (await total.data())[0];
  total.dispose();
  return { totalNats: value, numTokens: logits.shape[0] };
}
