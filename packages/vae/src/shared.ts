// Input checks shared by VaeModel and VqVaeModel.
import { formatShape, SculptError } from '@sculpt/core';
import * as tf from '@tensorflow/tfjs-core';

/** @throws SculptError unless `x` is `[B, H, W, C]` of `imageShape` with finite pixels. */
export function checkImageBatch(
  where: string,
  x: tf.Tensor,
  imageShape: readonly [number, number, number],
): void {
  const [h, w, c] = imageShape;
  if (x.rank !== 4 || x.shape[1] !== h || x.shape[2] !== w || x.shape[3] !== c || x.shape[0] < 1)
    throw new SculptError(
      where,
      `expected images of shape [B, ${h}, ${w}, ${c}]`,
      `got ${formatShape(x.shape)}`,
      'resize the images or build the model with a matching imageShape',
    );
  const bad = tf.tidy(() => tf.logicalNot(tf.all(tf.isFinite(x))).dataSync()[0]);
  if (bad)
    throw new SculptError(
      where,
      'expected finite pixels',
      'got NaN or ±Infinity',
      'clean the data (pixels in [0, 1])',
    );
}
