// Input checks and checkpoint weight loading shared by VaeModel and VqVaeModel.
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

/**
 * Copies checkpoint `weights` into the model's `variables` by name.
 * @throws SculptError naming the first missing or mis-shaped weight (nothing is disposed).
 */
export function assignWeights(
  where: string,
  variables: Record<string, tf.Variable>,
  weights: Record<string, tf.Tensor>,
): void {
  for (const [name, v] of Object.entries(variables)) {
    const t = weights[name];
    if (!t || t.shape.join(',') !== v.shape.join(','))
      throw new SculptError(
        where,
        `expected weight '${name}' of shape ${formatShape(v.shape)}`,
        `got ${t ? formatShape(t.shape) : 'none'}`,
        'the checkpoint was written by a different config',
      );
    v.assign(t);
  }
}
