// Scores a trained GanModel on MNIST with @sculpt/metrics' classifier against
// the 1,000 held-out digits: FD, KID, precision/recall, the class histogram
// of the samples, class accuracy (conditional models), and the same numbers
// for 1,000 real training digits (what a perfect model scores at this n).
import { writeFile } from 'node:fs/promises';
import { imageGrid, Rng, writePng } from '@sculpt/core';
import { type ImageSet, imageSetTensors } from '@sculpt/datasets';
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

/** What {@link evaluateGan} measures: the EMA generator's samples, FD by ψ (style G), real vs held-out. */
export interface GanEvaluation {
  samples: number;
  generated: Scores;
  fdByTruncation?: Record<string, number>;
  realVsHeldOut: Scores;
}

/** Scores `n` samples of `model` (and, for a style G, FD at ψ 0.5, 0.7, 1.0) against the held-out digits. */
export async function evaluateGan(
  model: GanModel,
  train: ImageSet,
  heldOut: ImageSet,
  n = 1000,
): Promise<GanEvaluation> {
  const classifier = await loadMnistClassifier();
  const { reference, real } = await references(classifier, train, heldOut, n);
  const { images, labels } = sampleMany(model, n);
  const generated = await score(classifier, reference, images, labels);
  images.dispose();
  const out: GanEvaluation = { samples: n, generated, realVsHeldOut: real };
  if (model.config.generator === 'style') {
    out.fdByTruncation = {};
    for (const psi of [0.5, 0.7, 1.0]) {
      const s = sampleMany(model, n, { truncation: psi });
      out.fdByTruncation[psi.toFixed(1)] = (await score(classifier, reference, s.images)).fd;
      s.images.dispose();
    }
  }
  classifier.dispose();
  return out;
}

async function writeGrid(path: string, images: tf.Tensor4D, columns: number): Promise<void> {
  const grid = imageGrid(images, { columns, padding: 2, padValue: -1 });
  await writePng(path, grid, { range: [-1, 1] });
  images.dispose();
}

/**
 * Writes `<name>-metrics.json` and `<name>-grid.png` (80 samples; a row per
 * digit for conditional models) to `dir`; for a style G also
 * `<name>-truncation.png` (8 seeds, rows ψ = 0, 0.5, 0.7, 1.0) and
 * `<name>-mixing.png` (rows: seeds A, seeds B, A's coarse styles with B's
 * from layer 3 on, A's with B's from layer 5 on).
 */
export async function writeGanAssets(
  model: GanModel,
  dir: string,
  name: string,
  report: object,
): Promise<void> {
  await writeFile(`${dir}${name}-metrics.json`, `${JSON.stringify(report, null, 2)}\n`);
  const k = model.numClasses;
  const labels = k > 0 ? Array.from({ length: 80 }, (_, i) => Math.floor(i / 8) % k) : undefined;
  await writeGrid(`${dir}${name}-grid.png`, model.sample({ numSamples: 80, labels, seed: 7 }), 8);
  if (model.config.generator !== 'style') return;
  const rows = [0, 0.5, 0.7, 1].map((truncation) =>
    model.sample({ numSamples: 8, seed: 11, truncation }),
  );
  await writeGrid(`${dir}${name}-truncation.png`, concatRows(rows), 8);
  const mixRows = [
    model.sample({ numSamples: 8, seed: 21 }),
    model.sample({ numSamples: 8, seed: 22 }),
    model.sample({ numSamples: 8, seed: 21, mixing: { seed: 22, crossover: 3 } }),
    model.sample({ numSamples: 8, seed: 21, mixing: { seed: 22, crossover: 5 } }),
  ];
  await writeGrid(`${dir}${name}-mixing.png`, concatRows(mixRows), 8);
}

function concatRows(rows: tf.Tensor4D[]): tf.Tensor4D {
  const all = tf.concat(rows) as tf.Tensor4D;
  tf.dispose(rows);
  return all;
}
