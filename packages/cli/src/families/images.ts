// What the image families' adapters share: the data check and the seeded batches.
import type { Rng } from '@sculpt/core';
import { type ImageSet, subsetImages } from '@sculpt/datasets';
import * as tf from '@tensorflow/tfjs-core';
import { UsageError } from '../errors.js';
import type { TrainingData } from '../family.js';

/** The data as images, or a UsageError naming the image forms of `--data`. */
export function checkImages(
  family: string,
  data: TrainingData,
): Extract<TrainingData, { kind: 'images' }> {
  if (data.kind !== 'images') {
    throw new UsageError(
      '--data',
      `expected images for ${family}`,
      `got text ('${data.spec}')`,
      'use --data mnist, --data shapes or --data images:DIR',
    );
  }
  return data;
}

/**
 * A batch of `batchSize` images drawn with replacement by the step's own Rng (so
 * resumed runs see the same batches), pixels mapped to `range`.
 *
 * @returns the images (the caller owns them) and their labels.
 */
export function drawImages(
  set: ImageSet,
  batchSize: number,
  rng: Rng,
  range: '0,1' | '-1,1',
): { images: tf.Tensor4D; labels: Int32Array } {
  const picked = subsetImages(set, rng.integers(batchSize, 0, set.count));
  const pixels =
    range === '-1,1' ? Float32Array.from(picked.images, (p) => 2 * p - 1) : picked.images;
  const images = tf.tensor4d(pixels, [picked.count, set.height, set.width, set.channels]);
  return { images, labels: picked.labels };
}

/**
 * The images a run trains on.
 * @throws UsageError when the model was loaded without data (for sampling only).
 */
export function trainingImages(set: ImageSet | undefined): ImageSet {
  if (!set)
    throw new UsageError(
      'sculpt train',
      'expected training data',
      'got none (the model was loaded for sampling)',
    );
  return set;
}
