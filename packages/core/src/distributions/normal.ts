/**
 * Univariate normal distributions, elementwise over a tensor of parameters.
 *
 * Notation: N(x; μ, σ²), log p(x) = −(x − μ)²/(2σ²) − ln σ − ½ ln 2π.
 */
import * as tf from '@tensorflow/tfjs-core';
import { SculptError } from '../errors.js';
import type { Rng } from '../random/index.js';
import {
  broadcastShape,
  checkPositive,
  checkSampleShape,
  HALF_LOG_2PI,
  type ParamInput,
  stopGradient,
  TensorOwner,
} from './shared.js';

/** Options of {@link Normal}. */
export interface NormalOptions {
  /** Mean μ: a float32 tensor or a number. The distribution takes ownership. */
  loc: ParamInput;
  /** Standard deviation σ > 0 (broadcasts with `loc`). The distribution takes ownership. */
  scale: ParamInput;
  /** Check that every σ > 0 (one GPU→CPU read when `scale` is a tensor). Default `true`. */
  validate?: boolean;
}

/**
 * Independent normal distributions N(loc, scale²), one per element of the
 * broadcast of `loc` and `scale`. `logProb`, `entropy` and `kl` are
 * elementwise (use {@link DiagonalNormal} to sum over event dimensions).
 *
 * Ownership: the distribution owns the parameter tensors passed to it and
 * frees them (and anything it derived) in `dispose()`. Getters (`loc`,
 * `mean`, `stddev`, …) return those owned tensors: do not dispose them.
 * Methods return new tensors that the caller owns. If the constructor throws,
 * it has already disposed the parameters it was given.
 *
 * @example
 * ```ts
 * const d = new Normal({ loc: tf.zeros([3]), scale: 2 });
 * const x = d.sample(new Rng(0), [100]); // [100, 3], caller owns
 * const lp = d.logProb(x);               // [100, 3], caller owns
 * d.dispose();
 * ```
 */
export class Normal {
  /** The broadcast shape of `loc` and `scale`. */
  readonly shape: readonly number[];
  private readonly owner = new TensorOwner('Normal');
  private readonly locT: tf.Tensor;
  private readonly scaleT: tf.Tensor;

  /**
   * @param options - `loc`, `scale` (tensors or numbers, taken over), `validate` (default `true`).
   * @throws SculptError if the shapes do not broadcast, a parameter is not float32, or (validated) σ ≤ 0.
   */
  constructor(options: NormalOptions) {
    const { loc, scale, validate = true } = options;
    try {
      this.locT = this.owner.param('Normal', 'loc', loc);
      this.scaleT = this.owner.param('Normal', 'scale', scale);
      this.shape = broadcastShape(
        'Normal',
        this.locT.shape,
        this.scaleT.shape,
        'give loc and scale broadcastable shapes',
      );
      if (typeof scale === 'number' && !(scale > 0)) {
        throw new SculptError(
          'Normal',
          'scale must be > 0',
          `got ${scale}`,
          'pass a positive standard deviation',
        );
      }
      if (validate && typeof scale !== 'number') checkPositive('Normal', 'scale', this.scaleT);
    } catch (e) {
      this.owner.dispose();
      throw e;
    }
  }

  /** μ (owned by the distribution). */
  get loc(): tf.Tensor {
    this.owner.check('loc');
    return this.locT;
  }
  /** σ (owned by the distribution). */
  get scale(): tf.Tensor {
    this.owner.check('scale');
    return this.scaleT;
  }
  /** The mean μ (owned by the distribution; broadcasts to `shape`). */
  get mean(): tf.Tensor {
    return this.loc;
  }
  /** The mode μ (owned by the distribution). */
  get mode(): tf.Tensor {
    return this.loc;
  }
  /** The standard deviation σ (owned by the distribution; broadcasts to `shape`). */
  get stddev(): tf.Tensor {
    return this.scale;
  }
  /** The variance σ² (owned by the distribution, computed once). */
  get variance(): tf.Tensor {
    return this.owner.memo('variance', () => tf.square(this.scaleT));
  }
  /** Whether `dispose()` was called. */
  get isDisposed(): boolean {
    return this.owner.isDisposed;
  }

  /**
   * Reparameterised draws x = μ + σ ε, ε ~ N(0, 1): differentiable with respect to μ and σ.
   * @param rng - source of ε.
   * @param sampleShape - leading sample dimensions. Default `[]`.
   * @returns `[...sampleShape, ...shape]` float32; the caller owns it.
   */
  rsample(rng: Rng, sampleShape: readonly number[] = []): tf.Tensor {
    this.owner.check('rsample');
    const outShape = [...checkSampleShape('Normal.rsample', sampleShape), ...this.shape];
    return tf.tidy(() => tf.add(this.locT, tf.mul(this.scaleT, rng.normal(outShape))));
  }

  /**
   * Draws without gradient (same numbers as {@link Normal.rsample} for the same `rng` state).
   * @param rng - source of randomness.
   * @param sampleShape - leading sample dimensions. Default `[]`.
   * @returns `[...sampleShape, ...shape]` float32; the caller owns it.
   */
  sample(rng: Rng, sampleShape: readonly number[] = []): tf.Tensor {
    this.owner.check('sample');
    return tf.tidy(() => stopGradient(this.rsample(rng, sampleShape)));
  }

  /**
   * Elementwise log density −(x − μ)²/(2σ²) − ln σ − ½ ln 2π.
   * @param x - values broadcastable with `shape` (e.g. `[...sampleShape, ...shape]`).
   * @returns the broadcast shape of `x` and `shape`; the caller owns it.
   */
  logProb(x: tf.Tensor): tf.Tensor {
    this.owner.check('logProb');
    broadcastShape(
      'Normal.logProb',
      x.shape,
      this.shape,
      'pass x shaped [...sampleShape, ...distribution.shape]',
    );
    return tf.tidy(() => {
      const z = tf.div(tf.sub(x, this.locT), this.scaleT);
      return tf.sub(tf.sub(tf.mul(-0.5, tf.square(z)), tf.log(this.scaleT)), HALF_LOG_2PI);
    });
  }

  /**
   * Elementwise differential entropy ½ + ½ ln 2π + ln σ (nats).
   * @returns `shape`; the caller owns it.
   */
  entropy(): tf.Tensor {
    this.owner.check('entropy');
    return tf.tidy(() =>
      tf.broadcastTo(tf.add(tf.log(this.scaleT), 0.5 + HALF_LOG_2PI), [...this.shape]),
    );
  }

  /**
   * Elementwise KL(this ‖ other) = ln(σ₂/σ₁) + (σ₁² + (μ₁ − μ₂)²)/(2σ₂²) − ½ (nats).
   * @param other - a normal with a broadcast-compatible shape.
   * @returns the broadcast shape; the caller owns it.
   */
  kl(other: Normal): tf.Tensor {
    this.owner.check('kl');
    if (!(other instanceof Normal))
      throw new SculptError('Normal.kl', 'other must be a Normal', `got ${String(other)}`);
    broadcastShape('Normal.kl', this.shape, other.shape);
    const [m2, s2] = [other.loc, other.scale];
    return tf.tidy(() => {
      const ratio = tf.div(this.scaleT, s2);
      const diff = tf.div(tf.sub(this.locT, m2), s2);
      return tf.sub(
        tf.mul(0.5, tf.add(tf.square(ratio), tf.square(diff))),
        tf.add(tf.log(ratio), 0.5),
      );
    });
  }

  /** Frees the parameter tensors and everything derived from them. Idempotent. */
  dispose(): void {
    this.owner.dispose();
  }
}
