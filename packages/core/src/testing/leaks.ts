import * as tf from '@tensorflow/tfjs-core';
import { SculptError } from '../errors.js';

/** Options for {@link expectNoLeak}. */
export interface ExpectNoLeakOptions {
  /** Shown in the error message. Default: `'expectNoLeak'`. */
  label?: string;
  /** Dispose tensors found in the value `fn` returns before counting (the caller owns them). Default: `true`. */
  disposeResult?: boolean;
}

/** Disposes every tensor found (shallowly, in arrays, plain objects and Maps) in `value`. */
export function disposeAll(value: unknown): void {
  if (value instanceof tf.Tensor) {
    value.dispose();
  } else if (Array.isArray(value)) {
    for (const v of value) disposeAll(v);
  } else if (value instanceof Map) {
    for (const v of value.values()) disposeAll(v);
  } else if (
    value !== null &&
    typeof value === 'object' &&
    Object.getPrototypeOf(value) === Object.prototype
  ) {
    for (const v of Object.values(value)) disposeAll(v);
  }
}

/**
 * Runs `fn` (sync or async), disposes the tensors it returns, and throws if
 * `tf.memory().numTensors` is not back where it started: every train step,
 * sample and generate call in sculpt is tested with it.
 *
 * @returns the number of tensors alive before the call (the count it checked against).
 * @example
 * ```ts
 * await expectNoLeak(() => rng.normal([2, 3]));
 * ```
 */
export async function expectNoLeak(
  fn: () => unknown,
  options: ExpectNoLeakOptions = {},
): Promise<number> {
  const { label = 'expectNoLeak', disposeResult = true } = options;
  const before = tf.memory().numTensors;
  const result = await fn();
  if (disposeResult) disposeAll(result);
  const after = tf.memory().numTensors;
  if (after !== before) {
    throw new SculptError(
      label,
      `expected no tensor to outlive the call (numTensors ${before} before)`,
      `got ${after} after (${after - before > 0 ? '+' : ''}${after - before})`,
      'dispose intermediates with tf.tidy or .dispose(), and return only what the caller owns',
    );
  }
  return before;
}
