// Input checks shared by the model and its sampling functions.
import * as tf from '@tensorflow/tfjs-core';

/** True when `x` holds a NaN or ±Infinity (one small read-back). */
export function hasNonFinite(x: tf.Tensor): boolean {
  const flag = tf.tidy(() => tf.any(tf.logicalNot(tf.isFinite(x))));
  const bad = flag.dataSync()[0] !== 0;
  flag.dispose();
  return bad;
}
