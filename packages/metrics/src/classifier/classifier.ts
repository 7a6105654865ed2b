import { decodeSafetensors, formatShape, SculptError } from '@sculpt/core';
import * as tf from '@tensorflow/tfjs-core';
import { type FeatureMatrix, featureMatrix } from '../linalg.js';
import {
  CLASSIFIER_FEATURE_DIM,
  CLASSIFIER_PARAM_SHAPES,
  type ClassifierParams,
  classifierForward,
} from './model.js';

/**
 * The MNIST classifier that @sculpt/metrics ships (see the README for its
 * held-out accuracy and how it was trained). Its penultimate 128-d features are
 * the space FD, KID and precision/recall are measured in.
 */
export interface MnistClassifier {
  /** The weights by name; owned by the classifier (free them with {@link MnistClassifier.dispose}). */
  readonly params: ClassifierParams;
  /** The weight file's metadata (`heldOutAccuracy`, `seed`, `epochs`, …). */
  readonly metadata: Readonly<Record<string, string>>;
  /** Frees the weights. */
  dispose(): void;
}

/**
 * Where {@link loadMnistClassifier} reads its weights: `'node'` (the file
 * shipped in this package), `{ url }` (a browser app serving
 * `node_modules/@sculpt/metrics/assets/mnist-classifier.safetensors` as a
 * static asset), `{ path }` (Node, another file) or `{ bytes }`.
 */
export type ClassifierSource = 'node' | { url: string } | { path: string } | { bytes: Uint8Array };

/** File name of the shipped weights inside the package. */
export const CLASSIFIER_WEIGHTS_FILE = 'assets/mnist-classifier.safetensors';

/**
 * Loads the shipped MNIST classifier.
 *
 * @param options - `source` (default `'node'`).
 * @returns a {@link MnistClassifier}; the caller owns it and calls `dispose()`.
 * @example
 * const classifier = await loadMnistClassifier();
 * const feats = await classifierFeatures(classifier, images);
 * classifier.dispose();
 */
export async function loadMnistClassifier(
  options: { source?: ClassifierSource } = {},
): Promise<MnistClassifier> {
  const bytes = await readSource(options.source ?? 'node');
  const { tensors, metadata } = decodeSafetensors(bytes, {
    source: 'mnist-classifier.safetensors',
  });
  const params: ClassifierParams = {};
  let problem: string | undefined;
  for (const [name, shape] of Object.entries(CLASSIFIER_PARAM_SHAPES)) {
    const w = tensors[name];
    if (w?.dtype !== 'float32' || w.shape.join(',') !== shape.join(',')) {
      problem ??= `weight "${name}" must be float32 ${formatShape(shape)}, got ${w ? `${w.dtype} ${formatShape(w.shape)}` : 'none'}`;
    } else params[name] = w;
  }
  // Free anything the file holds that the model does not use (and everything on error).
  for (const [name, t] of Object.entries(tensors)) if (problem || params[name] !== t) t.dispose();
  if (problem)
    throw new SculptError(
      'loadMnistClassifier',
      problem,
      undefined,
      'retrain with scripts/train-classifier.ts',
    );
  return { params, metadata, dispose: () => tf.dispose(Object.values(params)) };
}

async function readSource(source: ClassifierSource): Promise<Uint8Array> {
  if (source === 'node' || 'path' in source) {
    const proc = (globalThis as { process?: { versions?: { node?: string } } }).process;
    if (typeof proc?.versions?.node !== 'string') {
      throw new SculptError(
        'loadMnistClassifier',
        "source 'node' reads a file and needs Node.js",
        'got a browser',
        `serve ${CLASSIFIER_WEIGHTS_FILE} and pass { source: { url } }`,
      );
    }
    const fs = await import(/* webpackIgnore: true */ /* @vite-ignore */ 'node:fs/promises');
    let file: string;
    if (source === 'node') {
      const { createRequire } = await import(
        /* webpackIgnore: true */ /* @vite-ignore */ 'node:module'
      );
      const path = await import(/* webpackIgnore: true */ /* @vite-ignore */ 'node:path');
      file = path.join(
        path.dirname(createRequire(import.meta.url).resolve('@sculpt/metrics/package.json')),
        CLASSIFIER_WEIGHTS_FILE,
      );
    } else file = source.path;
    const buf = await fs.readFile(file);
    return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  }
  if ('bytes' in source) return source.bytes;
  const response = await fetch(source.url);
  if (!response.ok)
    throw new SculptError(
      'loadMnistClassifier',
      `expected HTTP 200 for ${source.url}`,
      `got ${response.status}`,
    );
  return new Uint8Array(await response.arrayBuffer());
}

/** Options of {@link classifierFeatures} and {@link classifyImages}. */
export interface ClassifierInputOptions {
  /** Pixel range of the images passed in: `'0,1'` (default) or `'-1,1'` (rescaled before the classifier). */
  range?: '0,1' | '-1,1';
  /** Images per forward pass. Default 500. */
  batchSize?: number;
}

/** Runs the classifier over `images` in batches and collects one output per image. */
async function runBatches(
  classifier: MnistClassifier,
  images: tf.Tensor4D,
  options: ClassifierInputOptions,
  pick: 'features' | 'logits',
): Promise<FeatureMatrix> {
  if (
    images.rank !== 4 ||
    images.shape[1] !== 28 ||
    images.shape[2] !== 28 ||
    images.shape[3] !== 1
  ) {
    throw new SculptError(
      'classifierFeatures',
      'images must be [N, 28, 28, 1]',
      `got ${formatShape(images.shape)}`,
    );
  }
  const n = images.shape[0];
  const batchSize = options.batchSize ?? 500;
  const cols = pick === 'features' ? CLASSIFIER_FEATURE_DIM : 10;
  const out = new Float32Array(n * cols);
  for (let start = 0; start < n; start += batchSize) {
    const size = Math.min(batchSize, n - start);
    const result = tf.tidy(() => {
      let x = tf.slice(images, [start, 0, 0, 0], [size, -1, -1, -1]);
      if (options.range === '-1,1') x = tf.div(tf.add(x, 1), 2);
      return classifierForward(classifier.params, x)[pick];
    });
    out.set(await result.data(), start * cols);
    result.dispose();
  }
  return featureMatrix(out, n, cols);
}

/**
 * The classifier's penultimate features (128-d, after ReLU) for each image.
 *
 * @param classifier - from {@link loadMnistClassifier}.
 * @param images - `[N, 28, 28, 1]` (not disposed).
 * @param options - `range` (default `'0,1'`), `batchSize` (default 500).
 * @returns a {@link FeatureMatrix} `[N, 128]` on the CPU.
 * @example
 * const real = await classifierFeatures(classifier, heldOutImages);
 * const fake = await classifierFeatures(classifier, samples, { range: '-1,1' });
 * const { fd } = frechetDistance(real, fake);
 */
export function classifierFeatures(
  classifier: MnistClassifier,
  images: tf.Tensor4D,
  options: ClassifierInputOptions = {},
): Promise<FeatureMatrix> {
  return runBatches(classifier, images, options, 'features');
}

/**
 * Predicted classes (argmax of the logits) for each image.
 *
 * @param classifier - from {@link loadMnistClassifier}.
 * @param images - `[N, 28, 28, 1]` (not disposed).
 * @param options - `range`, `batchSize`.
 * @returns `{ predictions: Int32Array [N], logits: FeatureMatrix [N, 10] }`.
 * @example
 * const { predictions } = await classifyImages(classifier, images);
 */
export async function classifyImages(
  classifier: MnistClassifier,
  images: tf.Tensor4D,
  options: ClassifierInputOptions = {},
): Promise<{ predictions: Int32Array; logits: FeatureMatrix }> {
  const logits = await runBatches(classifier, images, options, 'logits');
  const predictions = new Int32Array(logits.rows);
  for (let i = 0; i < logits.rows; i++) {
    let best = 0;
    for (let c = 1; c < 10; c++) if (logits.data[i * 10 + c] > logits.data[i * 10 + best]) best = c;
    predictions[i] = best;
  }
  return { predictions, logits };
}

/**
 * Class accuracy: how often predicted classes match the intended ones — for
 * a conditional generator, the share of samples the classifier recognises as
 * the class they were conditioned on.
 *
 * @param predictions - predicted class per sample.
 * @param labels - intended class per sample (same length).
 * @param numClasses - default 10.
 * @returns `{ accuracy, perClass }` (`perClass[c]` is NaN for a class with no samples).
 * @example
 * const { predictions } = await classifyImages(classifier, samples, { range: '-1,1' });
 * const { accuracy } = classAccuracy(predictions, intendedLabels);
 */
export function classAccuracy(
  predictions: ArrayLike<number>,
  labels: ArrayLike<number>,
  numClasses = 10,
): { accuracy: number; perClass: number[] } {
  if (predictions.length !== labels.length || labels.length === 0) {
    throw new SculptError(
      'classAccuracy',
      'predictions and labels must be non-empty and of equal length',
      `got ${predictions.length} and ${labels.length}`,
    );
  }
  const hits = new Array(numClasses).fill(0);
  const totals = new Array(numClasses).fill(0);
  let correct = 0;
  for (let i = 0; i < labels.length; i++) {
    totals[labels[i]]++;
    if (predictions[i] === labels[i]) {
      hits[labels[i]]++;
      correct++;
    }
  }
  return {
    accuracy: correct / labels.length,
    perClass: hits.map((h, c) => (totals[c] ? h / totals[c] : Number.NaN)),
  };
}
