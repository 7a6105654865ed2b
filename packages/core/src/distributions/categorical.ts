/**
 * Categorical distributions over K classes from logits `[...batch, K]`.
 * log p(k) = l_k − logsumexp(l); H = −Σ_k p_k log p_k (terms with p_k = 0
 * count as 0, so logits masked to −∞ by top-k/top-p are fine).
 */
import * as tf from '@tensorflow/tfjs-core';
import { formatShape, SculptError } from '../errors.js';
import type { Rng } from '../random/index.js';
import { checkSampleShape, checkSuffix, TensorOwner } from './shared.js';

/** log p below this counts as log 0 (p underflows to 0 in float32 long before), keeping 0·log 0 = 0. */
const LOG_FLOOR = -1e30;

/** Options of {@link Categorical}. */
export interface CategoricalOptions {
  /** Unnormalised log-probabilities, float32 `[...batch, K]` (rank ≥ 1). The distribution takes ownership. */
  logits: tf.Tensor;
}

/**
 * Categorical distributions from logits: token sampling, class labels,
 * discrete VAE latents.
 *
 * Ownership: the distribution owns `logits` and frees it (and derived
 * `probs`/`logProbs`/`mode`) in `dispose()`. Getters return owned tensors: do
 * not dispose them. Methods return new tensors that the caller owns.
 *
 * @example
 * ```ts
 * const d = new Categorical({ logits });   // [B, V]
 * const next = d.sample(rng);              // [B] int32
 * const lp = d.logProb(next);              // [B]
 * d.dispose();
 * ```
 */
export class Categorical {
  /** Shape of `logits`, `[...batchShape, K]`. */
  readonly shape: readonly number[];
  /** The batch axes (all but the last). */
  readonly batchShape: readonly number[];
  /** K, the number of classes. */
  readonly numClasses: number;
  private readonly owner = new TensorOwner('Categorical');
  private readonly logitsT: tf.Tensor;

  /**
   * @param options - `logits` (taken over).
   * @throws SculptError if logits are not a float32 tensor of rank ≥ 1 with K ≥ 1.
   */
  constructor(options: CategoricalOptions) {
    try {
      this.logitsT = this.owner.param('Categorical', 'logits', options.logits);
    } catch (e) {
      this.owner.dispose();
      throw e;
    }
    const shape = this.logitsT.shape;
    if (shape.length < 1 || shape[shape.length - 1] < 1) {
      this.owner.dispose();
      throw new SculptError(
        'Categorical',
        'logits must have rank ≥ 1 with at least one class on the last axis',
        `got shape ${formatShape(shape)}`,
        'pass logits shaped [batch, K]',
      );
    }
    this.shape = [...shape];
    this.batchShape = this.shape.slice(0, -1);
    this.numClasses = this.shape[this.shape.length - 1];
  }

  /** The logits as given (owned by the distribution). */
  get logits(): tf.Tensor {
    this.owner.check('logits');
    return this.logitsT;
  }
  /** Normalised log-probabilities log softmax(l), `[...batch, K]` (owned by the distribution). */
  get logProbs(): tf.Tensor {
    return this.owner.memo('logProbs', () => tf.logSoftmax(this.logitsT));
  }
  /** Probabilities softmax(l), `[...batch, K]` (owned by the distribution). */
  get probs(): tf.Tensor {
    return this.owner.memo('probs', () => tf.softmax(this.logitsT));
  }
  /** The most likely class, int32 `[...batch]` (owned by the distribution). */
  get mode(): tf.Tensor {
    return this.owner.memo('mode', () => tf.cast(tf.argMax(this.logitsT, -1), 'int32'));
  }
  /** Whether `dispose()` was called. */
  get isDisposed(): boolean {
    return this.owner.isDisposed;
  }

  /**
   * Draws class indices with `rng.categorical` (Gumbel-max, no sync).
   * @param rng - source of randomness.
   * @param sampleShape - leading sample dimensions. Default `[]`.
   * @returns int32 `[...sampleShape, ...batchShape]`; the caller owns it.
   */
  sample(rng: Rng, sampleShape: readonly number[] = []): tf.Tensor {
    this.owner.check('sample');
    const lead = checkSampleShape('Categorical.sample', sampleShape);
    const n = lead.reduce((a, b) => a * b, 1);
    const rows = this.batchShape.reduce((a, b) => a * b, 1);
    if (n === 0 || rows === 0) return tf.zeros([...lead, ...this.batchShape], 'int32');
    return tf.tidy(() => {
      const flat = tf.reshape(this.logitsT, [rows, this.numClasses]) as tf.Tensor2D;
      const draws = rng.categorical(flat, n); // [rows, n]
      return tf.reshape(tf.transpose(draws), [...lead, ...this.batchShape]);
    });
  }

  /**
   * log p(value) = logSoftmax(l)[value]. Indices outside [0, K) give 0 (one-hot of nothing);
   * a class whose logit is −∞ gives −1e30 (log 0, floored) rather than −∞.
   * @param value - int32 class indices `[...sampleShape, ...batchShape]`.
   * @returns float32 of the same shape; the caller owns it (differentiable in the logits).
   * @throws SculptError if `value` is not int32 or its shape does not end with `batchShape`.
   */
  logProb(value: tf.Tensor): tf.Tensor {
    this.owner.check('logProb');
    if (value.dtype !== 'int32') {
      throw new SculptError(
        'Categorical.logProb',
        'value must be int32 class indices',
        `got ${value.dtype}`,
        "pass tf.cast(value, 'int32')",
      );
    }
    checkSuffix('Categorical.logProb', 'value', value.shape, this.batchShape);
    const lp = this.logProbs;
    return tf.tidy(() => {
      // One-hot as int32 then cast (float32 oneHot is broken on wasm); avoids gather's gradient too.
      const hot = tf.cast(tf.oneHot(tf.reshape(value, [-1]), this.numClasses), 'float32');
      // Floored so that 0·(−∞) from masked classes gives 0, not NaN; broadcasts over sample axes.
      const picked = tf.mul(
        tf.reshape(hot, [...value.shape, this.numClasses]),
        tf.maximum(lp, LOG_FLOOR),
      );
      return tf.sum(picked, -1);
    });
  }

  /**
   * Entropy −Σ_k p_k log p_k in nats (classes with p_k = 0 contribute 0).
   * @returns `batchShape`; the caller owns it.
   */
  entropy(): tf.Tensor {
    this.owner.check('entropy');
    const lp = this.logProbs;
    return tf.tidy(() => {
      // Floor log p before multiplying so that 0·(−∞) gives neither a NaN value nor a NaN
      // gradient (tf.where would need a gradient for its Greater mask, which tfjs lacks).
      return tf.neg(tf.sum(tf.mul(tf.exp(lp), tf.maximum(lp, LOG_FLOOR)), -1));
    });
  }

  /**
   * KL(this ‖ other) = Σ_k p_k(log p_k − log q_k) in nats (log 0 is floored at −1e30, so
   * q_k = 0 where p_k > 0 gives a huge finite value rather than ∞).
   * @param other - a Categorical with the same shape.
   * @returns `batchShape`; the caller owns it.
   */
  kl(other: Categorical): tf.Tensor {
    this.owner.check('kl');
    if (!(other instanceof Categorical))
      throw new SculptError(
        'Categorical.kl',
        'other must be a Categorical',
        `got ${String(other)}`,
      );
    if (
      other.shape.length !== this.shape.length ||
      other.shape.some((d, i) => d !== this.shape[i])
    ) {
      throw new SculptError(
        'Categorical.kl',
        'shapes must match',
        `got ${formatShape(this.shape)} and ${formatShape(other.shape)}`,
      );
    }
    const lp = this.logProbs;
    const lq = other.logProbs;
    return tf.tidy(() => {
      const diff = tf.sub(tf.maximum(lp, LOG_FLOOR), tf.maximum(lq, LOG_FLOOR));
      return tf.sum(tf.mul(tf.exp(lp), diff), -1);
    });
  }

  /** Frees `logits` and anything derived. Idempotent. */
  dispose(): void {
    this.owner.dispose();
  }
}
