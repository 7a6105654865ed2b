/**
 * Test helpers for code built on @sculpt/latent: `import { … } from '@sculpt/latent/testing'`
 * (tiny presets, fixtures). Core's leak check is re-exported for convenience.
 * @packageDocumentation
 */
import type { Autoencoder } from '@sculpt/core';
import * as tf from '@tensorflow/tfjs-core';

export { expectNoLeak } from '@sculpt/core/testing';

/**
 * The docs' linear stand-in autoencoder, for any image size: a latent of
 * `latentShape` is written onto the first `prod(latentShape)` pixels (times
 * `scaleFactor`) and read back from them. Exact on its range; no weights to train.
 * @example
 * ```ts
 * const ae = linearAutoencoder({ imageShape: [8, 8, 1], latentShape: [2, 2, 2] });
 * ```
 */
export function linearAutoencoder(options: {
  imageShape: readonly [number, number, number];
  latentShape: readonly number[];
  scaleFactor?: number;
}): Autoencoder & { scaleFactor: number } {
  const { imageShape, latentShape, scaleFactor = 1 } = options;
  const pixels = imageShape[0] * imageShape[1] * imageShape[2];
  const k = latentShape.reduce((a, b) => a * b, 1);
  return {
    latentShape,
    scaleFactor,
    encode: (x) =>
      tf.tidy(() => {
        const flat = tf.reshape(x, [x.shape[0], pixels]);
        return tf.reshape(tf.slice(flat, [0, 0], [-1, k]), [x.shape[0], ...latentShape]);
      }),
    decode: (z) =>
      tf.tidy(() => {
        const b = z.shape[0];
        const flat = tf.reshape(z, [b, k]);
        const padded = tf.pad(flat, [
          [0, 0],
          [0, pixels - k],
        ]);
        return tf.reshape(padded, [b, ...imageShape]);
      }),
  };
}
