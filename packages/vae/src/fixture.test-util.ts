// Test data shared by the package's tests.
import * as tf from '@tensorflow/tfjs-core';

/** Eight binary 8×8 images `[8, 8, 8, 1]`: four horizontal and four vertical bars. */
export function barsFixture(): tf.Tensor4D {
  const px = new Float32Array(8 * 64);
  for (let k = 0; k < 4; k++)
    for (let i = 0; i < 8; i++) {
      px[k * 64 + 2 * k * 8 + i] = 1;
      px[(4 + k) * 64 + i * 8 + 2 * k] = 1;
    }
  return tf.tensor4d(px, [8, 8, 8, 1]);
}
