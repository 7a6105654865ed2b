/** Helpers shared by the distributions (not exported from the package). */
import * as tf from '@tensorflow/tfjs-core';
import { formatShape, SculptError } from '../errors.js';

/** A parameter: a float32 tensor, or a number (made into a scalar tensor). */
export type ParamInput = tf.Tensor | number;

/**
 * Tracks the tensors a distribution owns (its parameters and lazily derived
 * tensors such as `probs`) and disposes them together.
 */
export class TensorOwner {
  private readonly tensors: tf.Tensor[] = [];
  private readonly cache = new Map<string, tf.Tensor>();
  private disposed = false;

  constructor(private readonly className: string) {}

  /** Takes ownership of a parameter; numbers become scalar float32 tensors. */
  param(where: string, name: string, value: ParamInput): tf.Tensor {
    if (typeof value === 'number') return this.own(tf.scalar(value, 'float32'));
    if (!(value instanceof tf.Tensor)) {
      throw new SculptError(
        where,
        `${name} must be a tf.Tensor or a number`,
        `got ${typeof value}`,
      );
    }
    if (value.isDisposed)
      throw new SculptError(
        where,
        `${name} must be a live tensor`,
        'got a disposed one',
        'do not dispose parameters you hand to a distribution',
      );
    // Owned from here on, so a rejected tensor is freed with the rest.
    this.own(value);
    if (value.dtype !== 'float32') {
      throw new SculptError(
        where,
        `${name} must be float32`,
        `got ${value.dtype}`,
        `pass tf.cast(${name}, 'float32')`,
      );
    }
    return value;
  }

  /** Takes ownership of a tensor. */
  own<T extends tf.Tensor>(t: T): T {
    this.tensors.push(t);
    return t;
  }

  /** Throws if the distribution was disposed. */
  check(method: string): void {
    if (this.disposed) {
      throw new SculptError(
        `${this.className}.${method}`,
        'a live distribution',
        'got one that was disposed',
        'call its methods before dispose(), or build a new one',
      );
    }
  }

  /** A derived tensor, computed once (kept out of any enclosing tidy) and owned here. */
  memo(key: string, compute: () => tf.Tensor): tf.Tensor {
    this.check(key);
    let t = this.cache.get(key);
    if (t === undefined) {
      t = tf.keep(tf.tidy(compute));
      this.cache.set(key, t);
    }
    return t;
  }

  get isDisposed(): boolean {
    return this.disposed;
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const t of this.tensors) t.dispose();
    for (const t of this.cache.values()) t.dispose();
    this.tensors.length = 0;
    this.cache.clear();
  }
}

/** The numpy broadcast of two shapes, or a SculptError naming both. */
export function broadcastShape(
  where: string,
  a: readonly number[],
  b: readonly number[],
  fix?: string,
): number[] {
  const rank = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < rank; i++) {
    const da = a[a.length - rank + i] ?? 1;
    const db = b[b.length - rank + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) {
      throw new SculptError(
        where,
        'shapes must broadcast together',
        `got ${formatShape(a)} and ${formatShape(b)}`,
        fix,
      );
    }
    out.push(da === 1 ? db : da);
  }
  return out;
}

/** Throws unless `shape` ends with `suffix` (e.g. a value `[S, B, D]` for a distribution of shape `[B, D]`). */
export function checkSuffix(
  where: string,
  what: string,
  shape: readonly number[],
  suffix: readonly number[],
): void {
  const k = shape.length - suffix.length;
  if (k < 0 || suffix.some((d, i) => shape[k + i] !== d)) {
    throw new SculptError(
      where,
      `${what} shape must end with ${formatShape(suffix)}`,
      `got ${formatShape(shape)}`,
      'pass a value shaped [...sampleShape, ...distribution.shape]',
    );
  }
}

/** Throws unless two shapes are equal. */
export function checkSameShape(
  where: string,
  a: readonly number[],
  b: readonly number[],
  fix?: string,
): void {
  if (a.length !== b.length || a.some((d, i) => d !== b[i])) {
    throw new SculptError(
      where,
      'shapes must match',
      `got ${formatShape(a)} and ${formatShape(b)}`,
      fix,
    );
  }
}

/** Sums the last `k` axes (identity for k = 0). */
export function sumLast(x: tf.Tensor, k: number): tf.Tensor {
  if (k === 0) return x;
  const axes: number[] = [];
  for (let i = x.rank - k; i < x.rank; i++) axes.push(i);
  return tf.sum(x, axes);
}

/** Identity in the forward pass, zero gradient in the backward pass (tfjs has no stop_gradient op). */
export function stopGradient(x: tf.Tensor): tf.Tensor {
  const f = tf.customGrad((a: tf.Tensor | tf.GradSaveFunc) => ({
    value: tf.clone(a as tf.Tensor),
    gradFunc: (dy: tf.Tensor) => tf.zerosLike(dy),
  }));
  return f(x);
}

/** Throws a SculptError unless every element of `x` is > 0 (one GPU→CPU read). */
export function checkPositive(where: string, name: string, x: tf.Tensor): void {
  const bad = tf.tidy(() => tf.any(tf.logicalNot(tf.greater(x, 0))));
  const anyBad = bad.dataSync()[0] !== 0;
  bad.dispose();
  if (anyBad) {
    throw new SculptError(
      where,
      `every ${name} must be > 0`,
      'got a value ≤ 0 or NaN',
      `pass a positive ${name} (e.g. tf.exp or tf.softplus of a raw output), or use logVar`,
    );
  }
}

/** Checks a sample shape: non-negative integers. */
export function checkSampleShape(where: string, sampleShape: readonly number[]): number[] {
  if (!Array.isArray(sampleShape) || sampleShape.some((d) => !Number.isInteger(d) || d < 0)) {
    throw new SculptError(
      where,
      'sampleShape must be an array of non-negative integers',
      `got ${JSON.stringify(sampleShape)}`,
      'pass e.g. [16]',
    );
  }
  return [...sampleShape];
}

/** ½ ln(2π). */
export const HALF_LOG_2PI = 0.5 * Math.log(2 * Math.PI);
