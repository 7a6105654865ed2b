// `sculpt eval <checkpoint>`: sample quality as JSON, measured with the
// MNIST classifier shipped in @sculpt/metrics against the held-out split.
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { type BackendPreference } from '@sculpt/backend';
import { type JsonValue, Rng } from '@sculpt/core';
import { type ImageSet, imageSetTensors, loadMnist, subsetImages } from '@sculpt/datasets';
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
import { loadData, parseDataSpec } from '../data.js';
import type { SampleRequest } from '../family.js';
import type { CliIo } from '../io.js';
import {
  checkSampler,
  type LoadedRun,
  loadRun,
  type SamplingFlags,
  sampleRequest,
} from './sample.js';

/** Options of {@link evalCommand}. */
export interface EvalOptions extends SamplingFlags {
  n: number;
  out?: string;
  backend: BackendPreference;
}

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
function balancedSubset(set: ImageSet, n: number): ImageSet {
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

/** What {@link scoreSamples} measures: samples drawn by `request` from a model trained on `run.data`. */
export interface ScoreInput {
  run: LoadedRun['run'];
  /** `[N, H, W, C]` in [0, 1] (not disposed). */
  images: tf.Tensor4D;
  /** The class each sample was conditioned on (conditional models). */
  labels: readonly number[] | undefined;
  /** Classes of the model (class accuracy needs the 10 MNIST digits). */
  numClasses: number;
  seed: number;
}

/**
 * Scores samples against the held-out digits: FD, KID, precision/recall on
 * the shipped classifier's features, class accuracy for conditional models,
 * and the same numbers for as many real training digits (the reference a
 * perfect model would score at this sample size).
 *
 * @returns plain JSON, or a `note` when the images are not 28×28 grayscale.
 */
export async function scoreSamples(input: ScoreInput): Promise<{ [key: string]: JsonValue }> {
  const { run, images, numClasses, seed } = input;
  const [, h, w, c] = images.shape;
  if (h !== 28 || w !== 28 || c !== 1) {
    return {
      note: 'FD, KID and precision/recall use the MNIST classifier of @sculpt/metrics: they need 28×28 grayscale images',
    };
  }
  const spec = parseDataSpec(run.data);
  const data =
    spec.source === 'mnist'
      ? await loadMnist()
      : await loadData(spec).then((d) =>
          d.kind === 'images' ? { train: d.train, heldOut: d.heldOut } : undefined,
        );
  if (!data) return { note: 'no image data to compare with' };
  const classifier = await loadMnistClassifier();
  try {
    const held = imageSetTensors(data.heldOut);
    const reference = await classifierFeatures(classifier, held.images);
    tf.dispose([held.images, held.labels]);
    const n = images.shape[0];
    const conditional = input.labels !== undefined && numClasses === 10;
    const generated = await score(
      classifier,
      reference,
      images,
      conditional ? input.labels : undefined,
      seed,
    );
    const realSet = balancedSubset(data.train, n);
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
        what: `${n} real training images vs the same ${data.heldOut.count} held-out images`,
        ...baseline,
      },
    };
  } finally {
    classifier.dispose();
  }
}

/** The sampling settings of a measurement, for the JSON. */
export function describeRequest(
  loaded: LoadedRun,
  request: SampleRequest,
): { [key: string]: JsonValue } {
  return {
    family: loaded.run.family,
    preset: loaded.run.preset,
    data: loaded.run.data,
    step: loaded.model.stepCount,
    samples: request.numSamples,
    sampler: request.sampler ?? null,
    samplerSteps: request.steps ?? null,
    guidanceScale: request.labels ? (request.guidanceScale ?? null) : null,
    seed: request.seed,
  };
}

/**
 * Samples `options.n` images from a loaded model (classes balanced) and scores them with {@link scoreSamples}.
 *
 * @returns plain JSON.
 */
export async function evaluateRun(
  loaded: LoadedRun,
  options: EvalOptions,
): Promise<{ [key: string]: JsonValue }> {
  const started = performance.now();
  const { columns: _c, ...request } = sampleRequest(loaded, { ...options, labels: undefined });
  const images = await loaded.model.sample(request);
  try {
    const scores = await scoreSamples({
      run: loaded.run,
      images,
      labels: request.labels,
      numClasses: loaded.model.numClasses,
      seed: request.seed,
    });
    return {
      ...describeRequest(loaded, request),
      ...scores,
      seconds: round((performance.now() - started) / 1000, 3),
    };
  } finally {
    images.dispose();
  }
}

/**
 * Runs `sculpt eval`: prints the metrics as JSON and writes them to
 * `<run>/metrics.json` (or `--out`).
 *
 * @returns the metrics and the file written.
 */
export async function evalCommand(
  path: string,
  options: EvalOptions,
  io: CliIo,
): Promise<{ metrics: { [key: string]: JsonValue }; file: string }> {
  checkSampler(options.sampler);
  const loaded = await loadRun(path, options.backend, 'sculpt eval');
  try {
    const metrics = await evaluateRun(loaded, options);
    const file = resolve(options.out ?? `${loaded.runDir}/metrics.json`);
    await mkdir(dirname(file), { recursive: true });
    await writeFile(file, `${JSON.stringify(metrics, null, 2)}\n`);
    io.stdout.write(`${JSON.stringify(metrics, null, 2)}\n`);
    io.stderr.write(`metrics written to ${file}\n`);
    return { metrics, file };
  } finally {
    loaded.model.dispose();
  }
}
