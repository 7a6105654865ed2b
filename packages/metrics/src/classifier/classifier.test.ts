import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import { encodeSafetensors, Rng } from '@sculpt/core';
import { expectNoLeak } from '@sculpt/core/testing';
import { imageSetTensors, loadMnist, type Mnist } from '@sculpt/datasets';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { frechetDistance } from '../frechet.js';
import { kernelInceptionDistance } from '../kid.js';
import type { FeatureMatrix } from '../linalg.js';
import { precisionRecall } from '../precision-recall.js';
import {
  classAccuracy,
  classifierFeatures,
  classifyImages,
  loadMnistClassifier,
  type MnistClassifier,
} from './classifier.js';

let mnist: Mnist;
let classifier: MnistClassifier;
let heldOut: { images: tf.Tensor4D; labels: tf.Tensor1D };
let real: FeatureMatrix;

beforeAll(async () => {
  await tf.setBackend('wasm');
  mnist = await loadMnist();
  classifier = await loadMnistClassifier();
  heldOut = imageSetTensors(mnist.heldOut);
  real = await classifierFeatures(classifier, heldOut.images);
});
afterAll(() => {
  tf.dispose([heldOut.images, heldOut.labels]);
  classifier.dispose();
});

/** The given rows of a feature matrix. */
const rows = (f: FeatureMatrix, indices: number[]): FeatureMatrix => {
  const data = new Float32Array(indices.length * f.cols);
  for (const [i, r] of indices.entries())
    data.set(f.data.subarray(r * f.cols, (r + 1) * f.cols), i * f.cols);
  return { data, rows: indices.length, cols: f.cols };
};

describe('the shipped MNIST classifier', () => {
  it('reproduces its recorded held-out accuracy (≥ 98.5%)', async () => {
    const recorded = Number(classifier.metadata.heldOutAccuracy);
    expect(recorded).toBeGreaterThanOrEqual(0.985);
    const { predictions } = await classifyImages(classifier, heldOut.images);
    const { accuracy, perClass } = classAccuracy(predictions, mnist.heldOut.labels);
    // Trained and recorded on wasm; another backend may flip at most a borderline digit or two.
    expect(Math.abs(accuracy - recorded)).toBeLessThanOrEqual(0.002);
    expect(Math.min(...perClass)).toBeGreaterThan(0.94);
    // [-1, 1] input gives the same predictions.
    const scaled = tf.tidy(() => tf.sub(tf.mul(heldOut.images, 2), 1) as tf.Tensor4D);
    const again = await classifyImages(classifier, scaled, { range: '-1,1' });
    scaled.dispose();
    expect(classAccuracy(again.predictions, mnist.heldOut.labels).accuracy).toBeCloseTo(
      accuracy,
      2,
    );
  });

  it('FD between two halves of real data is small; to noise it is large', async () => {
    // Halves stratified by class: even and odd positions within each class block.
    const even = [...Array(1000).keys()].filter((i) => i % 2 === 0);
    const odd = [...Array(1000).keys()].filter((i) => i % 2 === 1);
    const realVsReal = frechetDistance(rows(real, even), rows(real, odd)).fd;
    const noise = new Rng(0).uniform([500, 28, 28, 1]) as tf.Tensor4D;
    const noiseFeatures = await classifierFeatures(classifier, noise);
    noise.dispose();
    const realVsNoise = frechetDistance(rows(real, even), noiseFeatures).fd;
    expect(realVsNoise).toBeGreaterThan(20 * realVsReal);
    const kidReal = kernelInceptionDistance(rows(real, even), rows(real, odd), {
      numSubsets: 1,
    }).kid;
    const kidNoise = kernelInceptionDistance(rows(real, even), noiseFeatures, {
      numSubsets: 1,
    }).kid;
    expect(kidNoise).toBeGreaterThan(20 * Math.abs(kidReal));
    // Noise features collapse into a small cluster: no real digit is covered (recall 0). Precision is
    // a weaker signal here (measured 0.65): the cluster sits inside the wide k-NN balls of real outliers,
    // the outlier sensitivity Kynkäänniemi et al. note.
    const pr = precisionRecall(rows(real, even), noiseFeatures);
    const prReal = precisionRecall(rows(real, even), rows(real, odd));
    expect(pr.recall).toBeLessThan(0.02);
    expect(prReal.precision).toBeGreaterThan(0.8);
    expect(prReal.recall).toBeGreaterThan(0.8);
    expect(pr.precision).toBeLessThan(prReal.precision);
  });

  it('features do not leak tensors and have the documented width', async () => {
    const few = tf.slice(heldOut.images, [0, 0, 0, 0], [3, -1, -1, -1]) as tf.Tensor4D;
    const f = await classifierFeatures(classifier, few);
    expect([f.rows, f.cols]).toEqual([3, 128]);
    await expectNoLeak(() => classifierFeatures(classifier, few, { batchSize: 2 }));
    few.dispose();
    const rgb = tf.zeros([1, 28, 28, 3]) as tf.Tensor4D;
    await expect(classifierFeatures(classifier, rgb)).rejects.toThrow(/\[N, 28, 28, 1\]/);
    rgb.dispose();
  });

  it('rejects a weight file that does not fit the model, without leaking', async () => {
    const small = tf.zeros([3, 3, 1, 8]);
    const wrong = await encodeSafetensors({ 'conv1.weight': small });
    small.dispose();
    const before = tf.memory().numTensors;
    await expect(loadMnistClassifier({ source: { bytes: wrong } })).rejects.toThrow(
      /weight "conv1.weight" must be float32 \[3, 3, 1, 16\], got float32 \[3, 3, 1, 8\]/,
    );
    expect(tf.memory().numTensors).toBe(before);
  });
});
