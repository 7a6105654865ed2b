// Shared by the MNIST scripts: data batches and evaluation with @sculpt/metrics.

import { Rng } from '@sculpt/core';
import { type ImageSet, imageSetTensors, loadMnist } from '@sculpt/datasets';
import {
  classAccuracy,
  classifierFeatures,
  classifyImages,
  type FeatureMatrix,
  frechetDistance,
  kernelInceptionDistance,
  loadMnistClassifier,
  type MnistClassifier,
  precisionRecall,
} from '@sculpt/metrics';
import * as tf from '@tensorflow/tfjs-core';
import type { DiffusionBatch, DiffusionModel, SampleOptions } from '../src/index.js';

export function argValue(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}

export const hasFlag = (name: string): boolean => process.argv.includes(`--${name}`);

/** Hands wasm's matMuls and convolutions to @sculpt/native when its addon is built; true if it did. */
export async function useNativeKernels(): Promise<boolean> {
  const native = await import('@sculpt/native').catch(() => undefined);
  if (native?.nativeStatus().available !== true) return false;
  native.registerNativeKernels();
  return true;
}

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
  precision: number;
  recall: number;
  seconds: number;
}

/** The scores of one image set against the held-out features (no timing). */
export type Scores = Omit<EvalResult, 'seconds'>;

/** Classifier features of the 1,000 held-out digits: what every score compares against. */
export async function heldOutFeatures(
  classifier: MnistClassifier,
  heldOut: ImageSet,
): Promise<FeatureMatrix> {
  const real = imageSetTensors(heldOut, { range: '-1,1' });
  try {
    return await classifierFeatures(classifier, real.images, { range: '-1,1' });
  } finally {
    tf.dispose([real.images, real.labels]);
  }
}

/** Accuracy (against `labels`), FD, KID and precision/recall of `images` in [−1, 1]. */
export async function scoreImages(
  classifier: MnistClassifier,
  images: tf.Tensor4D,
  labels: Int32Array,
  realF: FeatureMatrix,
): Promise<Scores> {
  const { predictions } = await classifyImages(classifier, images, { range: '-1,1' });
  const acc = classAccuracy(predictions, labels);
  const fakeF = await classifierFeatures(classifier, images, { range: '-1,1' });
  const { fd } = frechetDistance(fakeF, realF);
  const kid = kernelInceptionDistance(fakeF, realF, { rng: new Rng(0) });
  const { precision, recall } = precisionRecall(realF, fakeF);
  return {
    numSamples: labels.length,
    classAccuracy: acc.accuracy,
    perClass: acc.perClass,
    fd,
    kid: kid.kid,
    kidStd: kid.std,
    precision,
    recall,
  };
}

/**
 * The floor of the scores: `perClass` real training digits of every class
 * (the first ones of each, none of them held out) scored like samples.
 */
export async function realVsReal(
  classifier: MnistClassifier,
  train: ImageSet,
  realF: FeatureMatrix,
  perClass: number,
): Promise<Scores> {
  const taken = new Array<number>(10).fill(0);
  const indices: number[] = [];
  for (let i = 0; i < train.count && indices.length < 10 * perClass; i++) {
    const digit = train.labels[i];
    if (taken[digit] < perClass) {
      taken[digit]++;
      indices.push(i);
    }
  }
  const real = imageSetTensors(train, { range: '-1,1', indices });
  try {
    return await scoreImages(
      classifier,
      real.images,
      Int32Array.from(indices, (i) => train.labels[i]),
      realF,
    );
  } finally {
    tf.dispose([real.images, real.labels]);
  }
}

/** Samples `perClass` images of every digit (in digit order, batched). */
export async function sampleDigits(
  model: DiffusionModel,
  perClass: number,
  options: { batchSize?: number } & Omit<SampleOptions, 'labels' | 'numSamples'>,
): Promise<{ samples: tf.Tensor4D; labels: Int32Array }> {
  const { batchSize = 100, ...sampleOptions } = options;
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
  return { samples, labels };
}

/** Samples `perClass` images of every digit and scores them against held-out digits. */
export async function evaluate(
  model: DiffusionModel,
  heldOut: ImageSet,
  classifier: MnistClassifier,
  options: { perClass: number; batchSize?: number; realF?: FeatureMatrix } & Omit<
    SampleOptions,
    'labels' | 'numSamples'
  >,
): Promise<EvalResult> {
  const start = performance.now();
  const { perClass, realF, ...sampleOptions } = options;
  const { samples, labels } = await sampleDigits(model, perClass, sampleOptions);
  try {
    const reference = realF ?? (await heldOutFeatures(classifier, heldOut));
    const scores = await scoreImages(classifier, samples, labels, reference);
    return { ...scores, seconds: (performance.now() - start) / 1000 };
  } finally {
    samples.dispose();
  }
}

export { loadMnist, loadMnistClassifier };
