// What `sculpt eval` reports and draws for the VAE and VQ-VAE presets beside
// their likelihood or codebook figures: the class accuracy of held-out
// reconstructions and the class histogram of samples (the MNIST classifier of
// @sculpt/metrics), and PNG grids of reconstructions (held-out digits over
// their reconstructions) and interpolations (one row per pair of digits).
import type { JsonValue } from '@sculpt/core';
import type { ImageSet } from '@sculpt/datasets';
import {
  classAccuracy,
  classifyImages,
  loadMnistClassifier,
  type MnistClassifier,
} from '@sculpt/metrics';
import * as tf from '@tensorflow/tfjs-core';
import type { EvalReport, EvaluateRequest } from '../family.js';

/** Points per interpolation row (the two ends included). */
export const INTERPOLATION_STEPS = 10;

const round = (v: number, digits = 3): number => Number(v.toPrecision(digits));

/** Whether the classifier can read `images` (28×28 grayscale). */
function isDigits(images: tf.Tensor4D): boolean {
  const [, h, w, c] = images.shape;
  return h === 28 && w === 28 && c === 1;
}

/** The share (%) of each class 0–9 among `predictions`. */
function classPercent(predictions: ArrayLike<number>): number[] {
  const counts = new Array(10).fill(0);
  for (let i = 0; i < predictions.length; i++) counts[predictions[i]]++;
  return counts.map((n) => round((100 * n) / predictions.length));
}

/** What {@link digitScores} scores (tensors are not disposed). */
export interface DigitScoreInput {
  /** Reconstructions `[N, H, W, C]` of the held-out images whose classes are `labels`. */
  reconstructions: tf.Tensor4D;
  labels: readonly number[];
  /** Samples `[M, H, W, C]` whose class histogram to report (VAE prior samples). */
  samples?: tf.Tensor4D;
}

/**
 * Class accuracy of reconstructions and (given samples) the samples' class
 * histogram, by the MNIST classifier of @sculpt/metrics.
 * @returns `reconClassAccuracy`, `sampleClassPercent` (0–9) and `minSampleClassPercent`;
 * nothing for images other than 28×28 grayscale digits labelled 0–9.
 */
export async function digitScores(input: DigitScoreInput): Promise<EvalReport> {
  const { reconstructions, labels, samples } = input;
  if (!isDigits(reconstructions) || !labels.every((l) => l >= 0 && l < 10)) return {};
  const classifier = await loadMnistClassifier();
  try {
    const report: EvalReport = {
      reconClassAccuracy: round(await accuracyOf(classifier, reconstructions, labels)),
    };
    if (samples && isDigits(samples)) {
      const percent = classPercent((await classifyImages(classifier, samples)).predictions);
      report.sampleClassPercent = percent;
      report.minSampleClassPercent = Math.min(...percent);
    }
    return report;
  } finally {
    classifier.dispose();
  }
}

async function accuracyOf(
  classifier: MnistClassifier,
  images: tf.Tensor4D,
  labels: readonly number[],
): Promise<number> {
  const { predictions } = await classifyImages(classifier, images);
  return classAccuracy(predictions, labels).accuracy;
}

/**
 * Indices of `count` held-out images for the figures: the first image of each
 * class 0, 1, …, then the next of each, and so on (any order when unlabelled).
 */
export function figureIndices(set: ImageSet, count = 10): number[] {
  const picked: number[] = [];
  const taken = new Set<number>();
  const classes = [...new Set(set.labels)].sort((a, b) => a - b);
  while (picked.length < Math.min(count, set.count)) {
    const before = picked.length;
    for (const c of classes) {
      const i = set.labels.findIndex((l, j) => l === c && !taken.has(j));
      if (i >= 0 && picked.length < count) {
        picked.push(i);
        taken.add(i);
      }
    }
    if (picked.length === before) break;
  }
  return picked;
}

/** What {@link writeFigures} draws (tensors are not disposed). */
export interface FigureInput {
  /** Held-out images `[N, H, W, C]` and their reconstructions, one column each. */
  real: tf.Tensor4D;
  reconstructions: tf.Tensor4D;
  /** Rows of {@link INTERPOLATION_STEPS} decodes each, `[rows·steps, H, W, C]`. */
  interpolations: tf.Tensor4D;
}

/**
 * Writes `reconstructions.png` (held-out row over reconstruction row) and
 * `interpolations.png` through the request's writer.
 * @returns `{ figures: { reconstructions, interpolations } }` (file paths), or nothing without a writer.
 */
export async function writeFigures(
  write: EvaluateRequest['writeImages'],
  input: FigureInput,
): Promise<EvalReport> {
  if (!write) return {};
  const pairs = tf.concat([input.real, input.reconstructions]);
  try {
    const figures: { [name: string]: JsonValue } = {
      reconstructions: await write('reconstructions', pairs, input.real.shape[0]),
      interpolations: await write('interpolations', input.interpolations, INTERPOLATION_STEPS),
    };
    return { figures };
  } finally {
    pairs.dispose();
  }
}

/**
 * Rows of latents from latent `i` to latent `i + 1` for i = 0, 2, 4, …
 * (`latents` `[N, D]`, N ≥ 2), by `interpolate` of @sculpt/vae.
 * @returns `[rows·steps, D]`; the caller owns it.
 */
export function interpolationRows(
  latents: tf.Tensor2D,
  interpolate: (a: tf.Tensor, b: tf.Tensor, steps: number) => tf.Tensor2D,
): tf.Tensor2D {
  return tf.tidy(() => {
    const rows: tf.Tensor2D[] = [];
    for (let i = 0; i + 1 < latents.shape[0]; i += 2) {
      const [a, b] = tf.split(tf.slice(latents, [i, 0], [2, -1]), 2);
      rows.push(interpolate(a, b, INTERPOLATION_STEPS));
    }
    return tf.concat(rows) as tf.Tensor2D;
  });
}
