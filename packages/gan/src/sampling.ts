// Drawing images from a generator's weights: the one code path of
// GanModel.generate/sample and GanGenerator.generate/sample, so a generator
// exported from a model draws exactly the model's images for a seed.
import { formatShape, Rng, SculptError } from '@sculpt/core';
import * as tf from '@tensorflow/tfjs-core';
import type { GanConfig } from './config.js';
import { checkControls, type StyleMixing } from './controls.js';
import { generatorForward, oneHot, type Params } from './nets.js';
import { styleGeneratorForward } from './style.js';

/** Options of {@link GanModel.sample} and {@link GanGenerator.sample}. */
export interface GanSampleOptions {
  /** How many images. Default: `labels.length`, else 16. */
  numSamples?: number;
  /** One class per image (conditional models). Default: classes in turn 0, 1, …, K−1, 0, … */
  labels?: ArrayLike<number>;
  /** Seed of the noise z (and the style generator's per-layer noise). Default 0. */
  seed?: number;
  /** Truncation ψ ∈ [0, 1] of a style generator: w ← w̄ + ψ(w − w̄). Default 1 (off). */
  truncation?: number;
  /** Style mixing of a style generator: a second z from `seed`, used from conv layer `crossover` on. */
  mixing?: { seed: number; crossover: number };
}

/** Options of {@link GanModel.generate} (the controls apply to style generators only). */
export interface GanGenerateOptions {
  /** Truncation ψ ∈ [0, 1]. Default 1 (off). */
  truncation?: number;
  /** Style mixing: second latents and the crossover layer. */
  mixing?: StyleMixing;
  /** Source of the style generator's per-layer noise. Default: no noise. */
  noise?: Rng;
}

/** @internal What drawing images needs: the config, G's weights and (style G) the tracked mean w. */
export interface GeneratorParts {
  readonly config: GanConfig;
  readonly generator: Readonly<Params>;
  readonly meanStyle: Readonly<Params>;
}

/** @internal Checks class ids: integers in [0, numClasses), one per image; none for an unconditional model. */
export function checkLabels(
  where: string,
  numClasses: number,
  labels: ArrayLike<number> | undefined,
  count: number,
): Int32Array | undefined {
  const k = numClasses;
  if (labels === undefined) {
    if (k === 0) return undefined;
    throw new SculptError(
      where,
      `expected ${count} labels for a class-conditional model (numClasses = ${k})`,
      'got none',
      'pass one label per image',
    );
  }
  if (k === 0) {
    throw new SculptError(
      where,
      'expected no labels for an unconditional model (numClasses = 0)',
      `got ${labels.length}`,
      'leave labels out, or create the model with numClasses',
    );
  }
  if (labels.length !== count)
    throw new SculptError(
      where,
      `expected ${count} labels (one per image)`,
      `got ${labels.length}`,
    );
  for (let i = 0; i < labels.length; i++) {
    const l = labels[i];
    if (!(Number.isInteger(l) && l >= 0 && l < k)) {
      throw new SculptError(
        where,
        `expected labels to be integers in [0, ${k - 1}]`,
        `got labels[${i}] = ${l}`,
        'use class ids of the training data',
      );
    }
  }
  return Int32Array.from(labels);
}

/** @internal G on checked inputs, inside the caller's tidy; `styles` is w `[B, D]` of a style generator. */
export function generatorImages(
  parts: GeneratorParts,
  z: tf.Tensor2D,
  labels: Int32Array | undefined,
  options: GanGenerateOptions,
): { images: tf.Tensor4D; styles?: tf.Tensor2D } {
  const { config, generator } = parts;
  const y = labels ? oneHot(labels, config.numClasses) : undefined;
  if (config.generator !== 'style') return { images: generatorForward(config, generator, z, y) };
  return styleGeneratorForward(config, generator, z, y, {
    meanStyle: parts.meanStyle.avg as tf.Tensor1D,
    truncation: options.truncation ?? 1,
    mixing: options.mixing,
    noise: options.noise,
  });
}

/** @internal G(z, y) with every input checked; the caller owns the result. */
export function generateImages(
  where: string,
  parts: GeneratorParts,
  z: tf.Tensor2D,
  labels: ArrayLike<number> | undefined,
  options: GanGenerateOptions,
): tf.Tensor4D {
  const { latentDim, numClasses } = parts.config;
  if (!(z instanceof tf.Tensor && z.rank === 2 && z.shape[1] === latentDim)) {
    throw new SculptError(
      where,
      `expected z of shape [B, ${latentDim}]`,
      `got ${z instanceof tf.Tensor ? formatShape(z.shape) : typeof z}`,
      'draw z with rng.normal([B, latentDim])',
    );
  }
  const y = checkLabels(where, numClasses, labels, z.shape[0]);
  checkControls(where, parts.config, z.shape[0], options.truncation, options.mixing);
  return tf.tidy(() => generatorImages(parts, z, y, options).images);
}

/** @internal Images from seeded noise (z, mixing latents, per-layer noise); the caller owns the result. */
export function sampleImages(
  where: string,
  parts: GeneratorParts,
  options: GanSampleOptions,
): tf.Tensor4D {
  const { config } = parts;
  const n = options.numSamples ?? options.labels?.length ?? 16;
  // The bound keeps one call's images in memory (4096 MNIST images: 13 MB); more come in batches.
  if (!(Number.isInteger(n) && n > 0 && n <= 4096)) {
    throw new SculptError(
      where,
      'expected numSamples to be an integer in [1, 4096]',
      `got ${n}`,
      'draw more in batches of at most 4096',
    );
  }
  const k = config.numClasses;
  const labels =
    k > 0 ? (options.labels ?? Array.from({ length: n }, (_, i) => i % k)) : options.labels;
  checkControls(where, config, n, options.truncation, options.mixing);
  const rng = new Rng(options.seed ?? 0);
  const z = rng.normal([n, config.latentDim]) as tf.Tensor2D;
  const mix = options.mixing;
  const latents = mix && (new Rng(mix.seed).normal([n, config.latentDim]) as tf.Tensor2D);
  try {
    if (config.generator !== 'style') return generateImages(where, parts, z, labels, {});
    return generateImages(where, parts, z, labels, {
      truncation: options.truncation,
      mixing: latents && mix ? { latents, crossover: mix.crossover } : undefined,
      noise: rng.split() as Rng,
    });
  } finally {
    tf.dispose([z, ...(latents ? [latents] : [])]);
  }
}
