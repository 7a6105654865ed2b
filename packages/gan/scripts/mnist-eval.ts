// Scores a trained GanModel on MNIST with @sculpt/metrics' classifier against
// the 1,000 held-out digits: FD, KID, precision/recall, the class histogram
// of the samples, class accuracy (conditional models), and the same numbers
// for 1,000 real training digits (what a perfect model scores at this n).
import { Rng } from '@sculpt/core';
import { type ImageSet, imageSetTensors } from '@sculpt/datasets';
import {
  classAccuracy,
  classifierFeatures,
  classifyImages,
  type FeatureMatrix,
  frechetDistance,
  kernelInceptionDistance,
  type MnistClassifier,
  precisionRecall,
} from '@sculpt/metrics';
import * as tf from '@tensorflow/tfjs-core';
import type { GanModel, GanSampleOptions } from '../src/index.js';

export interface Scores {
  fd: number;
  kid: number;
  precision: number;
  recall: number;
  /** Fraction of samples the classifier reads as each digit. */
  histogram: number[];
  classAccuracy?: number;
}

const round = (v: number, digits = 4): number => Number(v.toPrecision(digits));

/** Scores images `[N, 28, 28, 1]` in [−1, 1] (not disposed) against held-out features. */
export async function score(
  classifier: MnistClassifier,
  reference: FeatureMatrix,
  images: tf.Tensor4D,
  labels?: ArrayLike<number>,
): Promise<Scores> {
  const range = '-1,1' as const;
  const features = await classifierFeatures(classifier, images, { range });
  const { predictions } = await classifyImages(classifier, images, { range });
  const counts = new Array(10).fill(0);
  for (const p of predictions) counts[p]++;
  const pr = precisionRecall(reference, features);
  const out: Scores = {
    fd: round(frechetDistance(reference, features).fd),
    kid: round(kernelInceptionDistance(reference, features, { rng: new Rng(0) }).kid),
    precision: round(pr.precision, 3),
    recall: round(pr.recall, 3),
    histogram: counts.map((c) => round(c / predictions.length, 3)),
  };
  if (labels) out.classAccuracy = round(classAccuracy(predictions, labels).accuracy, 3);
  return out;
}

/** `n` training indices, digits in turn 0, 1, …, 9, 0, … (the set is stored sorted by class). */
function balanced(set: ImageSet, n: number): number[] {
  const byClass: number[][] = Array.from({ length: 10 }, () => []);
  for (let i = 0; i < set.count; i++) byClass[set.labels[i]].push(i);
  return Array.from({ length: n }, (_, i) => byClass[i % 10][Math.floor(i / 10)]);
}

/** Held-out features and the real-vs-real reference row (1,000 training digits). */
export async function references(
  classifier: MnistClassifier,
  train: ImageSet,
  heldOut: ImageSet,
  n: number,
): Promise<{ reference: FeatureMatrix; real: Scores }> {
  const held = imageSetTensors(heldOut, { range: '-1,1' });
  const reference = await classifierFeatures(classifier, held.images, { range: '-1,1' });
  const idx = balanced(train, n);
  const realSet = imageSetTensors(train, { range: '-1,1', indices: idx });
  const labels = Array.from(idx, (i) => train.labels[i]);
  const real = await score(classifier, reference, realSet.images, labels);
  tf.dispose([held.images, held.labels, realSet.images, realSet.labels]);
  return { reference, real };
}

/** `n` samples in batches of 100 (labels 0…9 in turn for conditional models). */
export function sampleMany(
  model: GanModel,
  n: number,
  options: Omit<GanSampleOptions, 'numSamples' | 'labels' | 'seed'> = {},
): { images: tf.Tensor4D; labels?: number[] } {
  const k = model.numClasses;
  const labels = k > 0 ? Array.from({ length: n }, (_, i) => i % k) : undefined;
  const parts: tf.Tensor4D[] = [];
  for (let s = 0; s < n; s += 100) {
    const m = Math.min(100, n - s);
    parts.push(
      model.sample({
        ...options,
        numSamples: m,
        labels: labels?.slice(s, s + m),
        seed: 1000 + s,
      }),
    );
  }
  const images = tf.concat(parts) as tf.Tensor4D;
  tf.dispose(parts);
  return { images, labels };
}
