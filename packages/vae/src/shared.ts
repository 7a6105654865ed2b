// Input checks shared by VaeModel and VqVaeModel.
import { formatShape, NonFiniteLossError, SculptError } from '@sculpt/core';
import * as tf from '@tensorflow/tfjs-core';

/** Options of `VaeModel.encodeParams` and `VqVaeModel.encodeContinuous`. */
export interface EncodeOptions {
  /**
   * Test the pixels for NaN/±Infinity, a synchronous read from the device.
   * `false` checks the shape only: for pixels known to be finite (decoded from
   * 8-bit files), or on WebGPU, where a sync read stalls the page. Default `true`.
   */
  checkPixels?: boolean;
}

/** @throws SculptError unless `x` is `[B, H, W, C]` of `imageShape` (no read from the device). */
export function checkImageShape(
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
}

/** The error for a batch holding NaN or ±Infinity pixels. */
export function nonFinitePixelsError(where: string, note = ''): SculptError {
  return new SculptError(
    where,
    'expected finite pixels',
    `got NaN or ±Infinity${note}`,
    'clean the data (pixels in [0, 1])',
  );
}

/**
 * @throws SculptError unless `x` is `[B, H, W, C]` of `imageShape` with finite
 * pixels. The finiteness test is a synchronous read (`dataSync`): for one-off
 * calls, never inside a training step (see {@link finitePixelsTerm}).
 */
export function checkImageBatch(
  where: string,
  x: tf.Tensor,
  imageShape: readonly [number, number, number],
): void {
  checkImageShape(where, x, imageShape);
  const bad = tf.tidy(() => tf.logicalNot(tf.all(tf.isFinite(x))).dataSync()[0]);
  if (bad) throw nonFinitePixelsError(where);
}

/** The same test as {@link checkImageBatch} with one awaited read (for async callers). */
export async function checkImageBatchAsync(
  where: string,
  x: tf.Tensor,
  imageShape: readonly [number, number, number],
): Promise<void> {
  checkImageShape(where, x, imageShape);
  const flag = tf.tidy(() => tf.logicalNot(tf.all(tf.isFinite(x))));
  const bad = (await flag.data())[0];
  flag.dispose();
  if (bad) throw nonFinitePixelsError(where);
}

/** The name of the training term that carries the pixel check into core's single read per step. */
export const PIXEL_TERM = 'nonFinitePixels';

/**
 * The pixel check of a training step without a read of its own: `clean` is `x`
 * with non-finite pixels set to 0 (so the loss stays finite) and `flag` a
 * scalar that is 0, or NaN when any pixel of `x` is NaN or ±Infinity. Returned
 * as the loss term {@link PIXEL_TERM}, the flag is read with the loss in core's
 * one `await data()`, whose NaN guard then refuses the update.
 * @returns tensors the caller owns (inside the Trainer's tidy).
 */
export function finitePixelsTerm(x: tf.Tensor): { clean: tf.Tensor; flag: tf.Scalar } {
  return tf.tidy(() => {
    const finite = tf.isFinite(x);
    const clean = tf.where(finite, x, tf.zerosLike(x));
    const allFinite = tf.all(finite);
    const flag = tf.where(allFinite, tf.scalar(0), tf.scalar(Number.NaN)) as tf.Scalar;
    return { clean, flag };
  });
}

/**
 * Turns core's NaN-guard error for the {@link PIXEL_TERM} term into the
 * pixel error of `where`; any other error passes through unchanged.
 */
export function explainPixelTerm(where: string, error: unknown): unknown {
  const fromPixels =
    error instanceof NonFiniteLossError && error.message.includes(`term '${PIXEL_TERM}'`);
  return fromPixels ? nonFinitePixelsError(where, ' in the batch (no update applied)') : error;
}
