/**
 * Multivariate normal with diagonal covariance, the latent distribution of
 * VAEs. Notation: event dimensions are the last `eventDims` axes; log p, H
 * and KL sum over them, so a `[B, D]` (or `[B, H, W, C]`) distribution gives
 * `[B]` values. log σ² is kept for stability: log p(x) = −½ Σ[(x − μ)² e^{−log σ²} + log σ² + ln 2π].
 */
import * as tf from '@tensorflow/tfjs-core';
import { SculptError } from '../errors.js';
import type { Rng } from '../random/index.js';
import {
  checkPositive,
  checkSameShape,
  checkSampleShape,
  checkSuffix,
  HALF_LOG_2PI,
  stopGradient,
  sumLast,
  TensorOwner,
} from './shared.js';

/**
 * Options of {@link DiagonalNormal}: `mean` with exactly one of `logVar` or `std`,
 * plus `eventDims` (how many trailing axes form one event; default all but the
 * first, rank − 1, or 1 for a rank-1 mean, or 0 for a scalar).
 */
export type DiagonalNormalOptions =
  | {
      /** Mean μ, float32 `[...batch, ...event]`. Taken over. */
      mean: tf.Tensor;
      /** log σ², same shape as `mean` (the usual VAE encoder output). Taken over. */
      logVar: tf.Tensor;
      std?: never;
      /** Trailing axes per event. Default rank − 1 (1 for rank 1, 0 for a scalar). */
      eventDims?: number;
    }
  | {
      /** Mean μ, float32 `[...batch, ...event]`. Taken over. */
      mean: tf.Tensor;
      /** σ > 0, same shape as `mean`. Taken over. */
      std: tf.Tensor;
      logVar?: never;
      /** Trailing axes per event. Default rank − 1 (1 for rank 1, 0 for a scalar). */
      eventDims?: number;
      /** Check that every σ > 0 (one GPU→CPU read). Default `true`. */
      validate?: boolean;
    };

/**
 * N(μ, diag σ²) over the last `eventDims` axes, from `mean` and either
 * `logVar` or `std`.
 *
 * Ownership: the distribution owns `mean` and `logVar`/`std` and frees them
 * (and the other of `logVar`/`std`, which it derives) in `dispose()`. The
 * getters return those owned tensors: do not dispose them. Methods return new
 * tensors that the caller owns. If the constructor throws, it has already
 * disposed the tensors it was given.
 *
 * @example
 * ```ts
 * const [mean, logVar] = encoder(x);                    // [B, D] each
 * const q = new DiagonalNormal({ mean, logVar });
 * const z = q.rsample(rng);                             // [B, D], differentiable
 * const kl = q.klStandardNormal();                      // [B]
 * q.dispose();
 * ```
 */
export class DiagonalNormal {
  /** The full shape `[...batchShape, ...eventShape]`. */
  readonly shape: readonly number[];
  /** The leading (batch) axes. */
  readonly batchShape: readonly number[];
  /** The trailing (event) axes that log p, H and KL sum over. */
  readonly eventShape: readonly number[];
  private readonly owner = new TensorOwner('DiagonalNormal');
  private readonly meanT: tf.Tensor;
  private readonly logVarT: tf.Tensor;
  private readonly stdT: tf.Tensor;

  /**
   * @param options - `mean` and one of `logVar` / `std` (taken over), `eventDims`, `validate` (std only, default `true`).
   * @throws SculptError if shapes differ, a tensor is not float32, eventDims is out of range, or (validated) σ ≤ 0.
   */
  constructor(options: DiagonalNormalOptions) {
    const where = 'DiagonalNormal';
    const { mean, logVar, std } = options;
    try {
      this.meanT = this.owner.param(where, 'mean', mean);
      if ((logVar === undefined) === (std === undefined)) {
        throw new SculptError(
          where,
          'exactly one of logVar or std',
          `got ${logVar ? 'both' : 'neither'}`,
          'pass { mean, logVar } or { mean, std }',
        );
      }
      const given = this.owner.param(
        where,
        logVar ? 'logVar' : 'std',
        (logVar ?? std) as tf.Tensor,
      );
      checkSameShape(
        where,
        this.meanT.shape,
        given.shape,
        'give mean and logVar/std the same shape',
      );
      const rank = this.meanT.rank;
      const eventDims = options.eventDims ?? (rank >= 2 ? rank - 1 : rank);
      if (!Number.isInteger(eventDims) || eventDims < 0 || eventDims > rank) {
        throw new SculptError(
          where,
          `eventDims must be an integer in [0, ${rank}]`,
          `got ${eventDims}`,
          'leave it unset to sum over all axes but the batch axis',
        );
      }
      this.shape = [...this.meanT.shape];
      this.batchShape = this.shape.slice(0, rank - eventDims);
      this.eventShape = this.shape.slice(rank - eventDims);
      if (logVar) {
        this.logVarT = given;
        this.stdT = this.owner.own(tf.tidy(() => tf.exp(tf.mul(0.5, given))));
      } else {
        const validate = !('validate' in options) || options.validate !== false;
        if (validate) checkPositive(where, 'std', given);
        this.stdT = given;
        this.logVarT = this.owner.own(tf.tidy(() => tf.mul(2, tf.log(given))));
      }
    } catch (e) {
      this.owner.dispose();
      throw e;
    }
  }

  /** μ (owned by the distribution). */
  get mean(): tf.Tensor {
    this.owner.check('mean');
    return this.meanT;
  }
  /** The mode, μ (owned by the distribution). */
  get mode(): tf.Tensor {
    return this.mean;
  }
  /** σ (owned by the distribution). */
  get stddev(): tf.Tensor {
    this.owner.check('stddev');
    return this.stdT;
  }
  /** log σ² (owned by the distribution). */
  get logVar(): tf.Tensor {
    this.owner.check('logVar');
    return this.logVarT;
  }
  /** σ² (owned by the distribution, computed once). */
  get variance(): tf.Tensor {
    return this.owner.memo('variance', () => tf.exp(this.logVarT));
  }
  /** Whether `dispose()` was called. */
  get isDisposed(): boolean {
    return this.owner.isDisposed;
  }

  private get eventDims(): number {
    return this.eventShape.length;
  }

  /**
   * Reparameterised draws z = μ + σ ε, ε ~ N(0, I): differentiable with respect to μ and log σ² / σ.
   * @param rng - source of ε.
   * @param sampleShape - leading sample dimensions. Default `[]`.
   * @returns `[...sampleShape, ...shape]` float32; the caller owns it.
   */
  rsample(rng: Rng, sampleShape: readonly number[] = []): tf.Tensor {
    this.owner.check('rsample');
    const outShape = [...checkSampleShape('DiagonalNormal.rsample', sampleShape), ...this.shape];
    return tf.tidy(() => tf.add(this.meanT, tf.mul(this.stdT, rng.normal(outShape))));
  }

  /**
   * Draws without gradient (same numbers as {@link DiagonalNormal.rsample} for the same `rng` state).
   * @param rng - source of randomness.
   * @param sampleShape - leading sample dimensions. Default `[]`.
   * @returns `[...sampleShape, ...shape]` float32; the caller owns it.
   */
  sample(rng: Rng, sampleShape: readonly number[] = []): tf.Tensor {
    this.owner.check('sample');
    return tf.tidy(() => stopGradient(this.rsample(rng, sampleShape)));
  }

  /**
   * log p(x) = −½ Σ_event[(x − μ)² e^{−log σ²} + log σ² + ln 2π].
   * @param x - `[...sampleShape, ...shape]`.
   * @returns `[...sampleShape, ...batchShape]`; the caller owns it.
   * @throws SculptError if `x` does not end with `shape`.
   */
  logProb(x: tf.Tensor): tf.Tensor {
    this.owner.check('logProb');
    checkSuffix('DiagonalNormal.logProb', 'x', x.shape, this.shape);
    return tf.tidy(() => {
      const sq = tf.mul(tf.square(tf.sub(x, this.meanT)), tf.exp(tf.neg(this.logVarT)));
      const elem = tf.sub(tf.mul(-0.5, tf.add(sq, this.logVarT)), HALF_LOG_2PI);
      return sumLast(elem, this.eventDims);
    });
  }

  /**
   * Differential entropy Σ_event ½(1 + ln 2π + log σ²) in nats.
   * @returns `batchShape`; the caller owns it.
   */
  entropy(): tf.Tensor {
    this.owner.check('entropy');
    return tf.tidy(() =>
      sumLast(tf.add(tf.mul(0.5, this.logVarT), 0.5 + HALF_LOG_2PI), this.eventDims),
    );
  }

  /**
   * KL(this ‖ other) = ½ Σ_event[log σ₂² − log σ₁² + (σ₁² + (μ₁ − μ₂)²)/σ₂² − 1] in nats (closed form).
   * @param other - a diagonal normal of the same shape and eventDims.
   * @returns `batchShape`; the caller owns it.
   * @throws SculptError if the shapes or event shapes differ.
   */
  kl(other: DiagonalNormal): tf.Tensor {
    this.owner.check('kl');
    if (!(other instanceof DiagonalNormal))
      throw new SculptError(
        'DiagonalNormal.kl',
        'other must be a DiagonalNormal',
        `got ${String(other)}`,
      );
    checkSameShape(
      'DiagonalNormal.kl',
      this.shape,
      other.shape,
      'compare distributions of the same shape',
    );
    checkSameShape(
      'DiagonalNormal.kl',
      this.eventShape,
      other.eventShape,
      'give both the same eventDims',
    );
    const [m2, lv2] = [other.mean, other.logVar];
    return tf.tidy(() => {
      const inv2 = tf.exp(tf.neg(lv2));
      const t = tf.add(
        tf.mul(tf.exp(this.logVarT), inv2),
        tf.mul(tf.square(tf.sub(this.meanT, m2)), inv2),
      );
      const elem = tf.mul(0.5, tf.sub(tf.add(tf.sub(lv2, this.logVarT), t), 1));
      return sumLast(elem, this.eventDims);
    });
  }

  /**
   * KL(this ‖ N(0, I)) = −½ Σ_event(1 + log σ² − μ² − σ²), the VAE regulariser.
   * @returns `batchShape`; the caller owns it.
   */
  klStandardNormal(): tf.Tensor {
    this.owner.check('klStandardNormal');
    return tf.tidy(() => {
      const elem = tf.sub(
        tf.sub(tf.add(1, this.logVarT), tf.square(this.meanT)),
        tf.exp(this.logVarT),
      );
      return tf.mul(-0.5, sumLast(elem, this.eventDims));
    });
  }

  /** Frees `mean`, `logVar`, `std` and anything derived. Idempotent. */
  dispose(): void {
    this.owner.dispose();
  }
}
