// Translating a whole image set in batches, in the [0, 1] pixel range data sets use.
import * as tf from '@tensorflow/tfjs-core';
import type { CycleGanModel, TranslateDirection } from './model.js';

/** Options of {@link translateImages}. */
export interface TranslateImagesOptions {
  /** Images per forward pass. Default 100. */
  batchSize?: number;
}

/**
 * Translates `count` images stored row-major in `images` (`[count, H, W, C]`,
 * pixels in [0, 1]) batch by batch, so a large set never sits on the device at once.
 *
 * @returns a new `Float32Array` of the same length, pixels in [0, 1].
 * @throws SculptError (from `translate`) for images that do not fit the model or a bad direction.
 * @example
 * ```ts
 * const thick = await translateImages(cycle, heldOut.images, heldOut.count, 'AtoB');
 * ```
 */
export async function translateImages(
  model: CycleGanModel,
  images: Float32Array,
  count: number,
  direction: TranslateDirection,
  options: TranslateImagesOptions = {},
): Promise<Float32Array> {
  const [h, w, c] = model.imageShape;
  const per = h * w * c;
  const batchSize = options.batchSize ?? 100;
  const out = new Float32Array(count * per);
  for (let start = 0; start < count; start += batchSize) {
    const n = Math.min(batchSize, count - start);
    const x = tf.tidy(() => {
      const px = tf.tensor4d(images.subarray(start * per, (start + n) * per), [n, h, w, c]);
      return tf.sub(tf.mul(px, 2), 1) as tf.Tensor4D; // [0, 1] → [−1, 1]
    });
    const y = model.translate(x, direction);
    const back = tf.tidy(() => tf.clipByValue(tf.div(tf.add(y, 1), 2), 0, 1));
    out.set(await back.data(), start * per);
    tf.dispose([x, y, back]);
  }
  return out;
}
