/**
 * Bernoulli distributions parameterised by logits l = ln(p/(1 − p)).
 * Numerically stable forms: log p(x) = x·l − softplus(l),
 * H = softplus(l) − p·l.
 */
import * as tf from '@tensorflow/tfjs-core';
import { SculptError } from '../errors.js';
import type { Rng } from '../random/index.js';
import { broadcastShape, checkSampleShape, checkSuffix, sumLast, TensorOwner } from './shared.js';

/** Options of {@link Bernoulli}. */
export interface BernoulliOptions {
  /** Logits l, float32 `[...batch, ...event]`. The distribution takes ownership. */
  logits: tf.Tensor;
  /**
   * How many trailing axes form one event: `logProb` and `entropy` sum over
   * them. Default 0 (elementwise); a Bernoulli image decoder on `[B, H, W, C]`
   * uses 3 to get `[B]` log-likelihoods.
   */
  eventDims?: number;
}

/**
 * Independent Bernoulli variables from logits (Bernoulli VAE decoders,
 * binarised MNIST likelihoods).
 *
 * Ownership: the distribution owns `logits` and frees it (and derived
 * `probs`/`mode`) in `dispose()`. Getters return owned tensors: do not
 * dispose them. Methods return new tensors that the caller owns.
 *
 * @example
 * ```ts
 * const px = new Bernoulli({ logits: decoder(z), eventDims: 3 }); // [B, 28, 28, 1]
 * const logLik = px.logProb(xBinary);                             // [B]
 * px.dispose();
 * ```
 */
export class Bernoulli {
  /** Shape of `logits`. */
  readonly shape: readonly number[];
  /** Leading (batch) axes. */
  readonly batchShape: readonly number[];
  /** Trailing axes summed by `logProb` and `entropy`. */
  readonly eventShape: readonly number[];
  private readonly owner = new TensorOwner('Bernoulli');
  private readonly logitsT: tf.Tensor;

  /**
   * @param options - `logits` (taken over), `eventDims` (default 0).
   * @throws SculptError if logits are not a float32 tensor or eventDims is out of range.
   */
  constructor(options: BernoulliOptions) {
    try {
      this.logitsT = this.owner.param('Bernoulli', 'logits', options.logits);
    } catch (e) {
      this.owner.dispose();
      throw e;
    }
    const rank = this.logitsT.rank;
    const eventDims = options.eventDims ?? 0;
    if (!Number.isInteger(eventDims) || eventDims < 0 || eventDims > rank) {
      this.owner.dispose();
      throw new SculptError(
        'Bernoulli',
        `eventDims must be an integer in [0, ${rank}]`,
        `got ${eventDims}`,
      );
    }
    this.shape = [...this.logitsT.shape];
    this.batchShape = this.shape.slice(0, rank - eventDims);
    this.eventShape = this.shape.slice(rank - eventDims);
  }

  /** The logits (owned by the distribution). */
  get logits(): tf.Tensor {
    this.owner.check('logits');
    return this.logitsT;
  }
  /** p = sigmoid(l) (owned by the distribution, computed once). */
  get probs(): tf.Tensor {
    return this.owner.memo('probs', () => tf.sigmoid(this.logitsT));
  }
  /** The mean, p (owned by the distribution). */
  get mean(): tf.Tensor {
    return this.probs;
  }
  /** The mode: 1 where l > 0, else 0, float32 (owned by the distribution). */
  get mode(): tf.Tensor {
    return this.owner.memo('mode', () => tf.cast(tf.greater(this.logitsT, 0), 'float32'));
  }
  /** Whether `dispose()` was called. */
  get isDisposed(): boolean {
    return this.owner.isDisposed;
  }

  /**
   * Draws 0/1 values (no gradient).
   * @param rng - source of randomness.
   * @param sampleShape - leading sample dimensions. Default `[]`.
   * @returns float32 0/1, `[...sampleShape, ...shape]`; the caller owns it.
   */
  sample(rng: Rng, sampleShape: readonly number[] = []): tf.Tensor {
    this.owner.check('sample');
    const outShape = [...checkSampleShape('Bernoulli.sample', sampleShape), ...this.shape];
    const p = this.probs;
    return tf.tidy(() => rng.bernoulli(tf.broadcastTo(p, outShape)));
  }

  /**
   * log p(x) = x·l − softplus(l), summed over the event axes; stable for large |l|.
   * Values other than 0/1 (e.g. grey levels in [0, 1]) give the continuous cross-entropy form.
   * @param x - float32 `[...sampleShape, ...shape]`.
   * @returns `[...sampleShape, ...batchShape]`; the caller owns it.
   */
  logProb(x: tf.Tensor): tf.Tensor {
    this.owner.check('logProb');
    checkSuffix('Bernoulli.logProb', 'x', x.shape, this.shape);
    return tf.tidy(() =>
      sumLast(tf.sub(tf.mul(x, this.logitsT), tf.softplus(this.logitsT)), this.eventShape.length),
    );
  }

  /**
   * Entropy softplus(l) − p·l (nats), summed over the event axes.
   * @returns `batchShape`; the caller owns it.
   */
  entropy(): tf.Tensor {
    this.owner.check('entropy');
    return tf.tidy(() =>
      sumLast(
        tf.sub(tf.softplus(this.logitsT), tf.mul(tf.sigmoid(this.logitsT), this.logitsT)),
        this.eventShape.length,
      ),
    );
  }

  /**
   * KL(this ‖ other) = p(l₁ − l₂) + softplus(l₂) − softplus(l₁), summed over the event axes (nats).
   * @param other - a Bernoulli with broadcast-compatible logits and the same number of event axes.
   * @returns batch shape; the caller owns it.
   */
  kl(other: Bernoulli): tf.Tensor {
    this.owner.check('kl');
    if (!(other instanceof Bernoulli))
      throw new SculptError('Bernoulli.kl', 'other must be a Bernoulli', `got ${String(other)}`);
    broadcastShape('Bernoulli.kl', this.shape, other.shape);
    const l2 = other.logits;
    return tf.tidy(() => {
      const l1 = this.logitsT;
      // KL = p(log p − log q) + (1 − p)(log(1 − p) − log(1 − q))
      //    = p(l₁ − l₂) − softplus(l₁) + softplus(l₂).
      const elem = tf.add(
        tf.mul(tf.sigmoid(l1), tf.sub(l1, l2)),
        tf.sub(tf.softplus(l2), tf.softplus(l1)),
      );
      return sumLast(elem, this.eventShape.length);
    });
  }

  /** Frees `logits` and anything derived. Idempotent. */
  dispose(): void {
    this.owner.dispose();
  }
}
