// GanGenerator: G alone (its weights, the tracked mean w, the config), what a
// web page ships to draw images. GanModel.exportGenerator() writes it; no D,
// no optimizer state, no EMA copy: one safetensors blob of G's weights.
import {
  assignModelWeights,
  type Checkpoint,
  checkpointFromBytes,
  checkpointToBytes,
  expectTrainingWeights,
  type FetchCheckpointOptions,
  type JsonValue,
  type LoadCheckpointOptions,
  modelFromUrl,
  packTrainingCheckpoint,
  Rng,
  unpackTrainingCheckpoint,
  weightSpecs,
} from '@sculpt/core';
import * as tf from '@tensorflow/tfjs-core';
import { type GanConfig, type GanConfigInput, ganConfig } from './config.js';
import { generatorParams, type Params } from './nets.js';
import {
  type GanGenerateOptions,
  type GanSampleOptions,
  type GeneratorParts,
  generateImages,
  sampleImages,
} from './sampling.js';
import { styleGeneratorParams } from './style.js';

/** Checkpoint JSON tag of a generator-only export. */
export const GENERATOR_KIND = 'sculpt-gan-generator';

/** G's weights by their checkpoint names: `g/…` and (style G) `w/avg` — the same names as in a full GAN checkpoint. */
export function generatorWeights(parts: GeneratorParts): Record<string, tf.Variable> {
  const out: Record<string, tf.Variable> = {};
  for (const [k, v] of Object.entries(parts.generator)) out[`g/${k}`] = v as tf.Variable;
  for (const [k, v] of Object.entries(parts.meanStyle)) out[`w/${k}`] = v as tf.Variable;
  return out;
}

/** @internal G's seeded weights and (style G) a zero tracked mean w (not trained). */
export function newGeneratorParams(
  config: GanConfig,
  rng: Rng,
): { generator: Params; meanStyle: Params } {
  const style = config.generator === 'style';
  return {
    generator: style ? styleGeneratorParams(config, rng) : generatorParams(config, rng),
    meanStyle: style ? { avg: tf.tidy(() => tf.variable(tf.zeros([config.styleDim]), false)) } : {},
  };
}

/** @internal The generator-only blob of `parts` (a core checkpoint, kind {@link GENERATOR_KIND}). */
export async function generatorToBytes(parts: GeneratorParts): Promise<ArrayBuffer> {
  const checkpoint = packTrainingCheckpoint({
    kind: GENERATOR_KIND,
    version: 1,
    config: parts.config as unknown as JsonValue,
    weights: generatorWeights(parts),
  });
  const bytes = await checkpointToBytes(checkpoint);
  return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
}

/**
 * A trained GAN's generator on its own, loaded from the bytes of
 * `GanModel.exportGenerator()` (a safetensors file with the config in its
 * metadata). It draws the same images as the model it came from for the same
 * seed, labels, truncation and mixing. Owns its weights (`dispose()` frees them).
 *
 * @example
 * ```ts
 * const bytes = await trainer.withEma(() => gan.exportGenerator()); // Node, after training
 * // …in the page:
 * const g = await GanGenerator.fromUrl('/models/cdcgan.safetensors');
 * const images = g.sample({ labels: [3, 3, 7, 7], seed: 1 }); // [4, 28, 28, 1] in (−1, 1)
 * images.dispose();
 * g.dispose();
 * ```
 */
export class GanGenerator implements GeneratorParts {
  /** The frozen config of the GAN this generator came from. */
  readonly config: GanConfig;
  /** G's weights by name (owned). */
  readonly generator: Readonly<Params>;
  /** The style generator's tracked mean w (`avg`; empty for a DCGAN; owned). */
  readonly meanStyle: Readonly<Params>;

  private constructor(config: GanConfig) {
    this.config = config;
    // The seeded weights are placeholders that loading overwrites.
    ({ generator: this.generator, meanStyle: this.meanStyle } = newGeneratorParams(
      config,
      new Rng(0),
    ));
  }

  /** The frozen, JSON-serialisable config. @example `generator.getConfig().numClasses` */
  getConfig(): GanConfig {
    return this.config;
  }

  /** Number of classes (0 = unconditional). */
  get numClasses(): number {
    return this.config.numClasses;
  }

  /** `[H, W, C]` of the images. */
  get imageShape(): [number, number, number] {
    const { imageSize, channels } = this.config;
    return [imageSize, imageSize, channels];
  }

  /** Every weight by name (`g/…`, `w/avg`); owned by the generator. */
  get weights(): Readonly<Record<string, tf.Variable>> {
    return generatorWeights(this);
  }

  /**
   * G(z, y): noise `[B, latentDim]` (+ one label per row) → images `[B, H, W, C]` in (−1, 1).
   * @returns a new tensor; the caller owns it.
   * @throws SculptError for a wrong z shape, bad labels or controls out of range.
   * @example `const x = generator.generate(z, [3, 7], { truncation: 0.7 })`
   */
  generate(
    z: tf.Tensor2D,
    labels?: ArrayLike<number>,
    options: GanGenerateOptions = {},
  ): tf.Tensor4D {
    return generateImages('GanGenerator.generate', this, z, labels, options);
  }

  /**
   * Draws images with seeded noise, exactly as `GanModel.sample` does.
   * @returns `[N, H, W, C]` in (−1, 1); the caller owns it.
   * @throws SculptError for a bad count, labels out of range, ψ outside [0, 1] or a bad crossover.
   * @example `const x = generator.sample({ numSamples: 16, seed: 3, truncation: 0.7 })`
   */
  sample(options: GanSampleOptions = {}): tf.Tensor4D {
    return sampleImages('GanGenerator.sample', this, options);
  }

  /** @internal Loading's checks: every `model/` tensor against the stored config's architecture. */
  static loadOptions(): LoadCheckpointOptions {
    return expectTrainingWeights(GENERATOR_KIND, (config) =>
      weightSpecs(
        new GanGenerator(ganConfig(config as unknown as GanConfigInput)),
        (m) => m.weights,
      ),
    );
  }

  /**
   * A generator from a decoded export (the checkpoint's tensors are read, not taken).
   * @returns a new generator; the caller owns it.
   * @throws CheckpointError for another kind (a full GAN checkpoint: load it with GanModel); SculptError for weights that do not fit the config.
   */
  static fromCheckpoint(where: string, checkpoint: Checkpoint): GanGenerator {
    const { config, weights } = unpackTrainingCheckpoint(where, checkpoint, GENERATOR_KIND);
    const generator = new GanGenerator(ganConfig(config as unknown as GanConfigInput));
    try {
      assignModelWeights(where, generator.weights, weights);
    } catch (error) {
      generator.dispose();
      throw error;
    }
    return generator;
  }

  /**
   * The inverse of `GanModel.exportGenerator()`.
   * @returns a new generator; the caller owns it.
   * @throws CheckpointError for truncated, corrupt or foreign bytes.
   * @example `const g = GanGenerator.fromBytes(await readFile('cdcgan.safetensors'))`
   */
  static fromBytes(bytes: ArrayBuffer | Uint8Array): GanGenerator {
    const checkpoint = checkpointFromBytes(
      bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes),
      GanGenerator.loadOptions(),
    );
    try {
      return GanGenerator.fromCheckpoint('GanGenerator.fromBytes', checkpoint);
    } finally {
      tf.dispose(Object.values(checkpoint.tensors));
    }
  }

  /**
   * Fetches an export with progress, an AbortSignal and a cache (core's `fetchCheckpoint`).
   * @returns a new generator; the caller owns it.
   * @throws CheckpointError on a 404, a truncated download or corrupt bytes; AbortError when aborted.
   * @example `const g = await GanGenerator.fromUrl('/models/cdcgan.safetensors')`
   */
  static fromUrl(url: string, options: FetchCheckpointOptions = {}): Promise<GanGenerator> {
    return modelFromUrl(url, options, (c) =>
      GanGenerator.fromCheckpoint('GanGenerator.fromUrl', c),
    );
  }

  /** Frees every weight. */
  dispose(): void {
    tf.dispose(Object.values(this.weights));
  }
}
