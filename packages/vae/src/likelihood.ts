// Decoder likelihoods p(x|z) from the decoder's raw outputs, per image in nats.
//   Bernoulli(x; λ = σ(l)):  x·l − softplus(l)
//   continuous Bernoulli:    x·l − softplus(l) + log C(λ),
//     C(λ) = 2·artanh(1 − 2λ) / (1 − 2λ)  (Loaiza-Ganem & Cunningham 2019, eq. 7)
//          = l / tanh(l/2)  in terms of the logit l (since 1 − 2λ = −tanh(l/2)),
//     so log C = log 2 + log(u / tanh u), u = l/2, → log 2 as λ → ½
//   Gaussian:                −½[(x − μ)²/σ² + log σ² + ln 2π]
import * as tf from '@tensorflow/tfjs-core';
import type { Likelihood } from './config.js';

/** Below this |u| = |l/2| the log normaliser uses its Taylor series (float32 cancellation). */
const SERIES_BELOW = 0.05;
/** Below this |l| the continuous-Bernoulli mean uses its Taylor series. */
const MEAN_SERIES_BELOW = 1e-2;

// Masks by tf.step (its gradient is zero) and arithmetic blends: tf.less has no
// gradient in tfjs, and the gradient tape walks through a tf.where's condition.
/** 1 where x < bound, else 0. */
const below = (x: tf.Tensor, bound: number): tf.Tensor => tf.step(tf.sub(bound, x));
/** mask·a + (1 − mask)·b. */
const blend = (mask: tf.Tensor, a: tf.Tensor, b: tf.Tensor): tf.Tensor =>
  tf.add(tf.mul(mask, a), tf.mul(tf.sub(1, mask), b));

/**
 * log C(λ) of the continuous Bernoulli with logit `l` (elementwise), stable at λ = ½:
 * log(u / tanh u) with u = l/2, and u²/3 − u⁴/45 + 2u⁶/945 below |u| = 0.05.
 * @returns the caller owns it.
 * @example `cbLogNormalizer(tf.tensor1d([0, 2]))  // [log 2, log(2/tanh 1)]`
 */
export function cbLogNormalizer(logits: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const u = tf.abs(tf.mul(logits, 0.5));
    const small = below(u, SERIES_BELOW);
    // the closed form on a safe u only (no NaN gradients through the unused branch)
    const safe = blend(small, tf.onesLike(u), u);
    const closed = tf.sub(tf.log(safe), tf.log(tf.tanh(safe)));
    const u2 = tf.square(u);
    // log(u coth u) = u²/3 − u⁴/45 + 2u⁶/945 − …
    const series = tf.mul(u2, tf.add(1 / 3, tf.mul(u2, tf.add(-1 / 45, tf.mul(u2, 2 / 945)))));
    return tf.add(Math.LN2, blend(small, series, closed));
  });
}

/**
 * The mean of a continuous Bernoulli with logit `l`: λ/(2λ − 1) + 1/(2 artanh(1 − 2λ))
 * = σ(l)/tanh(l/2) − 1/l, and ½ + l/12 near l = 0. @returns the caller owns it.
 */
export function cbMean(logits: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const small = below(tf.abs(logits), MEAN_SERIES_BELOW);
    const safe = blend(small, tf.onesLike(logits), logits);
    const closed = tf.sub(
      tf.div(tf.sigmoid(safe), tf.tanh(tf.mul(safe, 0.5))),
      tf.reciprocal(safe),
    );
    const series = tf.add(0.5, tf.div(logits, 12));
    return blend(small, series, closed);
  });
}

/** The decoder mean E[x|z] from raw outputs. @returns the caller owns it. */
export function decoderMean(likelihood: Likelihood, raw: tf.Tensor): tf.Tensor {
  if (likelihood === 'bernoulli') return tf.sigmoid(raw);
  if (likelihood === 'continuous-bernoulli') return cbMean(raw);
  return raw.clone();
}

/**
 * log p(x|z) summed over the pixels of `[B, P]` targets and raw outputs: `[B]` nats.
 * `logVar` (Gaussian only) is a scalar or `[P]`. @returns the caller owns it.
 */
export function logLikelihoodFlat(
  likelihood: Likelihood,
  x: tf.Tensor2D,
  raw: tf.Tensor2D,
  logVar?: tf.Tensor,
): tf.Tensor1D {
  return tf.tidy(() => {
    if (likelihood !== 'gaussian') {
      const bern = tf.sub(tf.mul(x, raw), tf.softplus(raw));
      const elem = likelihood === 'bernoulli' ? bern : tf.add(bern, cbLogNormalizer(raw));
      return tf.sum(elem, 1) as tf.Tensor1D;
    }
    const lv = logVar ?? tf.scalar(0);
    const sq = tf.mul(tf.square(tf.sub(x, raw)), tf.exp(tf.neg(lv)));
    return tf.sum(tf.mul(-0.5, tf.add(tf.add(sq, lv), Math.log(2 * Math.PI))), 1) as tf.Tensor1D;
  });
}
