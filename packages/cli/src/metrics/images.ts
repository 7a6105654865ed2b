// Sample quality of image families, measured with the MNIST classifier of
// @sculpt/metrics against a held-out set: FD, KID, precision/recall and (for
// class-conditional models of the ten digits) class accuracy, beside the same
// numbers for as many real training images.
import { Rng } from '@sculpt/core';
import { type ImageSet, imageSetTensors, subsetImages } from '@sculpt/datasets';
import {
  classAccuracy,
  classifierFeatures,
  classifyImages,
  type FeatureMatrix,
  frechetDistance,
  kernelInceptionDistance,
  loadMnistClassifier,
  precisionRecall,
} from '@sculpt/metrics';
import * as tf from '@tensorflow/tfjs-core';
import type { EvalReport } from '../family.js';

/** The metrics {@link scoreImageSamples} reports (class accuracy only for conditional digit models). */
export const IMAGE_METRICS = Object.freeze(['fd', 'kid', 'precision', 'recall', 'classAccuracy']);

/** The scores of one set of images against the held-out set. */
interface Scores {
  fd: number;
  kid: number;
  kidStd: number;
  precision: number;
  recall: number;
  classAccuracy?: number;
}

const round = (v: number, digits = 4): number => Number(v.toPrecision(digits));

async function score(
  classifier: Awaited<ReturnType<typeof loadMnistClassifier>>,
  reference: FeatureMatrix,
  images: tf.Tensor4D,
  labels: readonly number[] | undefined,
  seed: number,
): Promise<Scores> {
  const features = await classifierFeatures(classifier, images);
  const { fd } = frechetDistance(reference, features);
  const kid = kernelInceptionDistance(reference, features, { rng: new Rng(seed), numSubsets: 10 });
  const pr = precisionRecall(reference, features);
  const out: Scores = {
    fd: round(fd),
    kid: round(kid.kid),
    kidStd: round(kid.std, 2),
    precision: round(pr.precision, 3),
    recall: round(pr.recall, 3),
  };
  if (labels)
    out.classAccuracy = round(
      classAccuracy((await classifyImages(classifier, images)).predictions, labels).accuracy,
      3,
    );
  return out;
}

/** The first `n` images of `set`, classes interleaved (0, 1, …, 9, 0, 1, …) so any prefix is balanced. */
export function balancedSubset(set: ImageSet, n: number): ImageSet {
  const byClass = new Map<number, number[]>();
  for (let i = 0; i < set.count; i++) {
    const list = byClass.get(set.labels[i]) ?? [];
    list.push(i);
    byClass.set(set.labels[i], list);
  }
  const lists = [...byClass.entries()].sort((a, b) => a[0] - b[0]).map(([, l]) => l);
  const order: number[] = [];
  for (let k = 0; order.length < Math.min(n, set.count); k++)
    for (const l of lists) if (k < l.length && order.length < n) order.push(l[k]);
  return subsetImages(set, order);
}

/** What {@link scoreImageSamples} measures. */
export interface ImageScoreInput {
  /** `[N, H, W, C]` in [0, 1] (not disposed). */
  images: tf.Tensor4D;
  /** The class each sample was conditioned on (conditional models). */
  labels: readonly number[] | undefined;
  /** Classes of the model (class accuracy needs the 10 MNIST digits). */
  numClasses: number;
  /** The training images (the real-image reference) and the held-out images (what is compared with). */
  train: ImageSet;
  heldOut: ImageSet;
  seed: number;
}

/**
 * Scores samples against the held-out images: FD, KID, precision/recall on
 * the shipped classifier's features, class accuracy for conditional models,
 * and the same numbers for as many real training images (the reference a
 * perfect model would score at this sample size).
 *
 * @returns plain JSON, or a `note` when the images are not 28×28 grayscale.
 */
export async function scoreImageSamples(input: ImageScoreInput): Promise<EvalReport> {
  const { images, numClasses, seed, train, heldOut } = input;
  const [n, h, w, c] = images.shape;
  if (h !== 28 || w !== 28 || c !== 1) {
    return {
      note: 'FD, KID and precision/recall use the MNIST classifier of @sculpt/metrics: they need 28×28 grayscale images',
    };
  }
  const classifier = await loadMnistClassifier();
  try {
    const held = imageSetTensors(heldOut);
    const reference = await classifierFeatures(classifier, held.images);
    tf.dispose([held.images, held.labels]);
    const conditional = input.labels !== undefined && numClasses === 10;
    const generated = await score(
      classifier,
      reference,
      images,
      conditional ? input.labels : undefined,
      seed,
    );
    const realSet = balancedSubset(train, n);
    const real = imageSetTensors(realSet);
    const baseline = await score(
      classifier,
      reference,
      real.images,
      conditional ? Array.from(realSet.labels) : undefined,
      seed,
    );
    tf.dispose([real.images, real.labels]);
    return {
      ...generated,
      reference: {
        what: `${n} real training images vs the same ${heldOut.count} held-out images`,
        ...baseline,
      },
    };
  } finally {
    classifier.dispose();
  }
}
