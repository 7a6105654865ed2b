// Shared by the MNIST scripts: data batches and evaluation with @sculpt/metrics.

import { Rng } from '@sculpt/core';
import { type ImageSet, imageSetTensors, loadMnist } from '@sculpt/datasets';
import {
  classAccuracy,
  classifierFeatures,
  classifyImages,
  frechetDistance,
  kernelInceptionDistance,
  loadMnistClassifier,
  type MnistClassifier,
} from '@sculpt/metrics';
import * as tf from '@tensorflow/tfjs-core';
import type { DiffusionBatch, DiffusionModel, SampleOptions } from '../src/index.js';

export function argValue(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}

export const hasFlag = (name: string): boolean => process.argv.includes(`--${name}`);

/** (step, rng) → a batch of `size` random training digits in [−1, 1] with labels. */
export function mnistBatches(
  train: ImageSet,
  size: number,
): (step: number, rng: Rng) => DiffusionBatch {
  const pixels = train.height * train.width;
  return (_step, rng) => {
    const idx = rng.integers(size, 0, train.count);
    const images = new Float32Array(size * pixels);
    const labels = new Int32Array(size);
    for (let i = 0; i < size; i++) {
      const src = train.images.subarray(idx[i] * pixels, (idx[i] + 1) * pixels);
      for (let j = 0; j < pixels; j++) images[i * pixels + j] = 2 * src[j] - 1;
      labels[i] = train.labels[idx[i]];
    }
    return { images: tf.tensor4d(images, [size, train.height, train.width, 1]), labels };
  };
}

export interface EvalResult {
  numSamples: number;
  classAccuracy: number;
  perClass: number[];
  fd: number;
  kid: number;
  kidStd: number;
  seconds: number;
}

/** Samples `perClass` images of every digit and scores them against held-out digits. */
export async function evaluate(
  model: DiffusionModel,
  heldOut: ImageSet,
  classifier: MnistClassifier,
  options: { perClass: number; batchSize?: number } & Omit<SampleOptions, 'labels' | 'numSamples'>,
): Promise<EvalResult> {
  const start = performance.now();
  const { perClass, batchSize = 100, ...sampleOptions } = options;
  const labels = Int32Array.from({ length: 10 * perClass }, (_, i) => i % 10);
  const parts: tf.Tensor4D[] = [];
  for (let s = 0; s < labels.length; s += batchSize) {
    const batchLabels = labels.subarray(s, Math.min(labels.length, s + batchSize));
    parts.push(
      await model.sample({
        ...sampleOptions,
        labels: batchLabels,
        seed: (sampleOptions.seed ?? 0) + s,
      }),
    );
  }
  const samples = tf.concat(parts, 0) as tf.Tensor4D;
  tf.dispose(parts);
  const real = imageSetTensors(heldOut, { range: '-1,1' });
  try {
    const { predictions } = await classifyImages(classifier, samples, { range: '-1,1' });
    const acc = classAccuracy(predictions, labels);
    const fakeF = await classifierFeatures(classifier, samples, { range: '-1,1' });
    const realF = await classifierFeatures(classifier, real.images, { range: '-1,1' });
    const { fd } = frechetDistance(fakeF, realF);
    const kid = kernelInceptionDistance(fakeF, realF, { rng: new Rng(0) });
    return {
      numSamples: labels.length,
      classAccuracy: acc.accuracy,
      perClass: acc.perClass,
      fd,
      kid: kid.kid,
      kidStd: kid.std,
      seconds: (performance.now() - start) / 1000,
    };
  } finally {
    samples.dispose();
    tf.dispose([real.images, real.labels]);
  }
}

export { loadMnist, loadMnistClassifier };
