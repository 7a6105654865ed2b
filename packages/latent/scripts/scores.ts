// What both MNIST scripts measure on their samples with @sculpt/metrics'
// classifier: the digit it reads against the digit asked for, and FD/KID
// against the 1,000 held-out digits; plus what they share to get there: the
// captions, batched sampling, the flag reader and @sculpt/native's kernels.
import { Rng } from '@sculpt/core';
import { captionImageSet, type ImageSet, imageSetTensors } from '@sculpt/datasets';
import {
  classAccuracy,
  classifierFeatures,
  classifyImages,
  frechetDistance,
  kernelInceptionDistance,
  loadMnistClassifier,
} from '@sculpt/metrics';
import * as tf from '@tensorflow/tfjs-core';

/** `--name value` from the command line, or `fallback`. */
export function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
}

/** Training captions (bins measured on `train`, Rng 0) and the held-out digits' captions binned by them (Rng 1). */
export function mnistCaptions(train: ImageSet, heldOut: ImageSet) {
  const { captions, bins } = captionImageSet({ set: train, rng: new Rng(0) });
  const held = captionImageSet({ set: heldOut, bins, rng: new Rng(1) }).captions;
  return { captions, bins, held };
}

/** Draws `count` images 100 at a time (`draw(start, size)`) and concatenates them; the caller owns the result. */
export async function inBatches(
  count: number,
  draw: (start: number, size: number) => Promise<tf.Tensor4D>,
): Promise<tf.Tensor4D> {
  const parts: tf.Tensor4D[] = [];
  for (let s = 0; s < count; s += 100) parts.push(await draw(s, Math.min(100, count - s)));
  const all = tf.concat(parts, 0) as tf.Tensor4D;
  tf.dispose(parts);
  return all;
}

/** Hands wasm's matMuls and convolutions to @sculpt/native when its addon is built; true if it did. */
export async function useNativeKernels(): Promise<boolean> {
  const native = await import('@sculpt/native').catch(() => undefined);
  if (native?.nativeStatus().available !== true) return false;
  native.registerNativeKernels();
  return true;
}

/** Class accuracy against `wanted`, the class histogram, and FD/KID of `samples` (pixels in `range`) against `heldOut`. */
export async function scoreDigits(options: {
  samples: tf.Tensor4D;
  wanted: ArrayLike<number>;
  heldOut: ImageSet;
  range: '0,1' | '-1,1';
}) {
  const { samples, wanted, heldOut, range } = options;
  const classifier = await loadMnistClassifier();
  const { predictions } = await classifyImages(classifier, samples, { range });
  const histogram = new Array(10).fill(0);
  for (const p of predictions) histogram[p]++;
  const fake = await classifierFeatures(classifier, samples, { range });
  const real = imageSetTensors(heldOut, { range });
  const realF = await classifierFeatures(classifier, real.images, { range });
  tf.dispose([real.images, real.labels]);
  classifier.dispose();
  const kid = kernelInceptionDistance(realF, fake, { rng: new Rng(0) });
  return {
    accuracy: classAccuracy(predictions, wanted),
    histogram,
    fd: frechetDistance(realF, fake).fd,
    kid: kid.kid,
    kidStd: kid.std,
  };
}
