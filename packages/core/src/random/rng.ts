import * as tf from '@tensorflow/tfjs-core';
import { formatShape, SculptError } from '../errors.js';
import { threefry2x32 } from './threefry.js';

/** The serialisable state of an {@link Rng}: a 64-bit key and a block counter. */
export interface RngState {
  /** The key as two unsigned 32-bit words. */
  key: [number, number];
  /** How many 64-bit blocks have been drawn (an integer below 2^53). */
  counter: number;
}

const TWO_POW_32 = 4294967296;
const INV_2_POW_24 = 1 / 16777216;

const MAX_DRAW = 2 ** 28;

function checkShape(where: string, shape: readonly number[]): number {
  let size = 1;
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) {
      throw new SculptError(
        where,
        'shape must hold non-negative integers',
        `got ${formatShape(shape)}`,
      );
    }
    size *= d;
  }
  // Values are drawn on the CPU into one Float32Array: refuse what cannot be allocated.
  if (size > MAX_DRAW) {
    throw new SculptError(
      where,
      `at most ${MAX_DRAW.toLocaleString('en-US')} values per draw (1 GiB of float32)`,
      `got shape ${formatShape(shape)} (${size.toExponential(2)} values)`,
      'draw in smaller batches',
    );
  }
  return size;
}

/**
 * A seeded, splittable random number generator. Numbers are made on the CPU
 * with Threefry-2x32 (the generator behind JAX's keys) and uploaded, so the
 * same seed gives the same numbers on every backend (cpu, wasm, webgl,
 * webgpu, tfjs-node). Its state is two words and a counter, so it can be
 * saved in a checkpoint and resumed exactly.
 *
 * Every random op in sculpt takes an `Rng`; library code never calls
 * `Math.random()` or an unseeded tfjs random op.
 *
 * @example
 * ```ts
 * const rng = new Rng(42);
 * const noise = rng.normal([4, 28, 28, 1]); // caller owns `noise`
 * const [a, b] = rng.split(2);               // independent streams
 * const saved = rng.getState();              // JSON-serialisable
 * const again = Rng.fromState(saved);        // continues the same stream
 * ```
 */
export class Rng {
  private k0: number;
  private k1: number;
  private counter: number;
  /** Scratch space for one Threefry block (not state). */
  private readonly block = new Uint32Array(2);

  /**
   * @param seed - any integer in `[0, 2^53)`; its low and high 32 bits form the key.
   */
  constructor(seed: number) {
    if (!Number.isSafeInteger(seed) || seed < 0) {
      throw new SculptError(
        'Rng',
        'seed must be a non-negative safe integer',
        `got ${seed}`,
        'pass e.g. new Rng(42)',
      );
    }
    this.k0 = seed >>> 0;
    this.k1 = Math.floor(seed / TWO_POW_32) >>> 0;
    this.counter = 0;
  }

  /** Rebuilds a generator from {@link Rng.getState}; it continues the same stream. */
  static fromState(state: RngState): Rng {
    const ok =
      state !== null &&
      typeof state === 'object' &&
      Array.isArray(state.key) &&
      state.key.length === 2 &&
      state.key.every((w) => Number.isInteger(w) && w >= 0 && w < TWO_POW_32) &&
      Number.isSafeInteger(state.counter) &&
      state.counter >= 0;
    if (!ok) {
      throw new SculptError(
        'Rng.fromState',
        'expected { key: [uint32, uint32], counter: non-negative integer }',
        `got ${JSON.stringify(state)}`,
        'pass the value returned by rng.getState()',
      );
    }
    const rng = new Rng(0);
    rng.k0 = state.key[0];
    rng.k1 = state.key[1];
    rng.counter = state.counter;
    return rng;
  }

  /** The current state, a plain JSON-serialisable object (a copy). */
  getState(): RngState {
    return { key: [this.k0, this.k1], counter: this.counter };
  }

  /**
   * Derives `count` independent child generators (new keys) and advances this
   * one, like `jax.random.split`. Children never share numbers with the parent
   * or each other.
   */
  split(count: number): Rng[];
  split(): Rng;
  split(count?: number): Rng | Rng[] {
    const n = count ?? 1;
    if (!Number.isInteger(n) || n < 1) {
      throw new SculptError('Rng.split', 'count must be a positive integer', `got ${count}`);
    }
    const words = this.uint32(2 * n);
    const children: Rng[] = [];
    for (let i = 0; i < n; i++) {
      // Hash the drawn words once more under a fixed key so a child's key is
      // not a value the parent's stream also emits.
      threefry2x32(0x5eed5eed, 0x0c0ffee0, words[2 * i], words[2 * i + 1], this.block, 0);
      children.push(Rng.fromState({ key: [this.block[0], this.block[1]], counter: 0 }));
    }
    return count === undefined ? children[0] : children;
  }

  /** `n` uniformly distributed unsigned 32-bit integers. Advances the state. */
  uint32(n: number): Uint32Array {
    checkShape('Rng.uint32', [n]);
    const out = new Uint32Array(n + (n % 2));
    for (let i = 0; i < out.length; i += 2) {
      const c = this.counter++;
      threefry2x32(this.k0, this.k1, c >>> 0, Math.floor(c / TWO_POW_32) >>> 0, out, i);
    }
    return n % 2 ? out.subarray(0, n) : out;
  }

  /** `n` uniform floats in `[min, max)` on the CPU (24 random bits each). */
  uniformArray(n: number, min = 0, max = 1): Float32Array {
    const bits = this.uint32(n);
    const out = new Float32Array(n);
    const span = max - min;
    for (let i = 0; i < n; i++) out[i] = min + span * ((bits[i] >>> 8) * INV_2_POW_24);
    return out;
  }

  /** `n` normal floats on the CPU (Box–Muller on pairs of uniforms). */
  normalArray(n: number, mean = 0, std = 1): Float32Array {
    const bits = this.uint32(n + (n % 2));
    const out = new Float32Array(n);
    for (let i = 0; i < n; i += 2) {
      // u1 in (0, 1] so the log is finite; u2 in [0, 1).
      const u1 = ((bits[i] >>> 8) + 1) * INV_2_POW_24;
      const u2 = (bits[i + 1] >>> 8) * INV_2_POW_24;
      const r = Math.sqrt(-2 * Math.log(u1));
      out[i] = mean + std * r * Math.cos(2 * Math.PI * u2);
      if (i + 1 < n) out[i + 1] = mean + std * r * Math.sin(2 * Math.PI * u2);
    }
    return out;
  }

  /** `n` integers uniform in `[low, high)` on the CPU. */
  integers(n: number, low: number, high: number): Int32Array {
    if (!Number.isInteger(low) || !Number.isInteger(high) || high <= low) {
      throw new SculptError(
        'Rng.integers',
        'expected integers with low < high',
        `got low=${low}, high=${high}`,
      );
    }
    const u = this.uniformArray(n);
    const out = new Int32Array(n);
    const span = high - low;
    for (let i = 0; i < n; i++) out[i] = low + Math.min(span - 1, Math.floor(u[i] * span));
    return out;
  }

  /** A uniformly random permutation of `0 … n−1` (Fisher–Yates). */
  permutation(n: number): Int32Array {
    checkShape('Rng.permutation', [n]);
    const out = new Int32Array(n);
    for (let i = 0; i < n; i++) out[i] = i;
    const u = this.uniformArray(n);
    for (let i = n - 1; i > 0; i--) {
      const j = Math.min(i, Math.floor(u[i] * (i + 1)));
      const t = out[i];
      out[i] = out[j];
      out[j] = t;
    }
    return out;
  }

  /** A float32 tensor of standard (or shifted and scaled) normal noise. The caller owns it. */
  normal(shape: readonly number[], options: { mean?: number; std?: number } = {}): tf.Tensor {
    const size = checkShape('Rng.normal', shape);
    return tf.tensor(
      this.normalArray(size, options.mean ?? 0, options.std ?? 1),
      shape as number[],
      'float32',
    );
  }

  /** A float32 tensor uniform in `[min, max)` (default `[0, 1)`). The caller owns it. */
  uniform(shape: readonly number[], options: { min?: number; max?: number } = {}): tf.Tensor {
    const size = checkShape('Rng.uniform', shape);
    const { min = 0, max = 1 } = options;
    if (!(max > min)) {
      throw new SculptError('Rng.uniform', 'expected max > min', `got min=${min}, max=${max}`);
    }
    return tf.tensor(this.uniformArray(size, min, max), shape as number[], 'float32');
  }

  /**
   * Bernoulli draws as float32 0/1. `probs` is a number (with `shape`) or a
   * tensor of probabilities (its shape is used). The caller owns the result.
   */
  bernoulli(probs: number | tf.Tensor, shape?: readonly number[]): tf.Tensor {
    if (typeof probs === 'number') {
      if (!(probs >= 0 && probs <= 1)) {
        throw new SculptError('Rng.bernoulli', 'probability must be in [0, 1]', `got ${probs}`);
      }
      if (!shape)
        throw new SculptError(
          'Rng.bernoulli',
          'a numeric probability needs a shape',
          'got none',
          'pass rng.bernoulli(0.5, [B, D])',
        );
      const size = checkShape('Rng.bernoulli', shape);
      const u = this.uniformArray(size);
      const out = new Float32Array(size);
      for (let i = 0; i < size; i++) out[i] = u[i] < probs ? 1 : 0;
      return tf.tensor(out, shape as number[], 'float32');
    }
    const u = this.uniformArray(probs.size);
    return tf.tidy(() => tf.cast(tf.less(tf.tensor(u, probs.shape, 'float32'), probs), 'float32'));
  }

  /**
   * Draws from categorical distributions given unnormalised log-probabilities
   * `logits` `[B, K]`, by the Gumbel-max trick (on the device, no sync).
   * Returns int32 indices `[B, numSamples]`. The caller owns the result.
   */
  categorical(logits: tf.Tensor2D, numSamples = 1): tf.Tensor2D {
    if (logits.rank !== 2) {
      throw new SculptError(
        'Rng.categorical',
        'logits must be rank 2 [batch, classes]',
        `got shape ${formatShape(logits.shape)}`,
      );
    }
    if (!Number.isInteger(numSamples) || numSamples < 1) {
      throw new SculptError(
        'Rng.categorical',
        'numSamples must be a positive integer',
        `got ${numSamples}`,
      );
    }
    const [b, k] = logits.shape;
    const u = this.uniformArray(b * numSamples * k);
    // Gumbel(0,1) = −log(−log U), with U in (0, 1).
    for (let i = 0; i < u.length; i++) u[i] = -Math.log(-Math.log(u[i] + 0.5 * INV_2_POW_24));
    return tf.tidy(() => {
      const g = tf.tensor3d(u, [b, numSamples, k]);
      const scores = tf.add(tf.expandDims(logits, 1), g); // [B, S, K]
      return tf.cast(tf.argMax(scores, 2), 'int32') as tf.Tensor2D;
    });
  }

  /** A positive 31-bit integer, for third-party APIs that take a numeric seed (0 means "unseeded" to some tfjs ops). */
  seed(): number {
    return (this.uint32(1)[0] % 0x7ffffffe) + 1;
  }
}
