// CycleGanModel: generators A→B and B→A, discriminators of A and B, and
// their config. Training lives in ./train.ts; weights go through core's checkpoints.
import {
  assignModelWeights,
  type Checkpoint,
  checkpointFromBytes,
  checkpointToBytes,
  expectTrainingWeights,
  formatShape,
  type JsonValue,
  type LoadCheckpointOptions,
  loadCheckpoint,
  packTrainingCheckpoint,
  Rng,
  SculptError,
  saveCheckpoint,
  unpackTrainingCheckpoint,
  weightSpecs,
} from '@sculpt/core';
import * as tf from '@tensorflow/tfjs-core';
import type { Params } from '../nets.js';
import {
  type CycleGanConfig,
  type CycleGanConfigInput,
  type CycleGanPresetName,
  cycleGanConfig,
  savedCycleGanConfig,
} from './config.js';
import {
  cycleGeneratorForward,
  cycleGeneratorParams,
  patchDiscriminatorForward,
  patchDiscriminatorParams,
} from './nets.js';

/** Checkpoint JSON tag of a CycleGAN. */
export const CYCLE_CHECKPOINT_KIND = 'sculpt-cyclegan';

/** Which way to translate: domain A to B, or B to A. */
export type TranslateDirection = 'AtoB' | 'BtoA';

/** The two directions, in order. */
export const TRANSLATE_DIRECTIONS: readonly TranslateDirection[] = Object.freeze(['AtoB', 'BtoA']);

/** Options of {@link CycleGanModel.create}. */
export interface CreateCycleGanOptions {
  /** Seed of the initial weights. Default 0. */
  seed?: number;
}

/** Throws unless `direction` is `'AtoB'` or `'BtoA'`. */
export function checkDirection(where: string, direction: unknown): TranslateDirection {
  if (direction === 'AtoB' || direction === 'BtoA') return direction;
  throw new SculptError(
    where,
    "expected direction 'AtoB' or 'BtoA'",
    `got ${JSON.stringify(direction)}`,
    "pass 'AtoB' (domain A → B) or 'BtoA'",
  );
}

/**
 * A CycleGAN (Zhu et al. 2017): generators G_AB, G_BA (ResNet-style,
 * instance norm, resize-conv upsampling) and PatchGAN discriminators D_A,
 * D_B. Owns its weights (`dispose()` frees them).
 *
 * @example
 * ```ts
 * const cycle = CycleGanModel.create('tiny-cycle', { seed: 1 });
 * const b = cycle.translate(imagesA, 'AtoB'); // [N, 8, 8, 1] in (−1, 1)
 * b.dispose();
 * cycle.dispose();
 * ```
 */
export class CycleGanModel {
  /** The frozen config this model was built from. */
  readonly config: CycleGanConfig;
  /** G_AB's weights (owned by the model). */
  readonly generatorAB: Readonly<Params>;
  /** G_BA's weights (owned by the model). */
  readonly generatorBA: Readonly<Params>;
  /** D_A's weights: real A vs G_BA's fakes (owned by the model). */
  readonly discriminatorA: Readonly<Params>;
  /** D_B's weights: real B vs G_AB's fakes (owned by the model). */
  readonly discriminatorB: Readonly<Params>;

  private constructor(config: CycleGanConfig, rng: Rng) {
    this.config = config;
    const [gab, gba, da, db] = rng.split(4) as Rng[];
    this.generatorAB = cycleGeneratorParams(config, gab);
    this.generatorBA = cycleGeneratorParams(config, gba);
    this.discriminatorA = patchDiscriminatorParams(config, da);
    this.discriminatorB = patchDiscriminatorParams(config, db);
  }

  /**
   * A new model with seeded random weights.
   * @param config - a preset name, a {@link CycleGanConfigInput} or a {@link CycleGanConfig}. Default `'cyclegan-digits'`.
   * @returns a new model; the caller owns it.
   * @example `const cycle = CycleGanModel.create('cyclegan-digits', { seed: 0 })`
   */
  static create(
    config: CycleGanPresetName | CycleGanConfigInput | CycleGanConfig = 'cyclegan-digits',
    options: CreateCycleGanOptions = {},
  ): CycleGanModel {
    const input = typeof config === 'string' ? { preset: config } : (config as CycleGanConfigInput);
    return new CycleGanModel(cycleGanConfig(input), new Rng(options.seed ?? 0));
  }

  /**
   * `CycleGanModel.fromConfig(model.getConfig())` builds the same architecture
   * (weights freshly initialised from `options.seed`).
   * @example `const twin = CycleGanModel.fromConfig(cycle.getConfig())`
   */
  static fromConfig(config: CycleGanConfig, options: CreateCycleGanOptions = {}): CycleGanModel {
    return CycleGanModel.create(savedCycleGanConfig(config), options);
  }

  /** The frozen, JSON-serialisable config. @example `JSON.stringify(cycle.getConfig())` */
  getConfig(): CycleGanConfig {
    return this.config;
  }

  /** `[H, W, C]` of the images of both domains. */
  get imageShape(): [number, number, number] {
    const { imageSize, channels } = this.config;
    return [imageSize, imageSize, channels];
  }

  /** Both generators' weights: `gab/…`, `gba/…` (the model owns them). */
  get generators(): Readonly<Record<string, tf.Variable>> {
    return prefixed([
      ['gab', this.generatorAB],
      ['gba', this.generatorBA],
    ]);
  }

  /** Both discriminators' weights: `da/…`, `db/…` (the model owns them). */
  get discriminators(): Readonly<Record<string, tf.Variable>> {
    return prefixed([
      ['da', this.discriminatorA],
      ['db', this.discriminatorB],
    ]);
  }

  /** Every weight by name (`gab/`, `gba/`, `da/`, `db/`). The model owns them. */
  get weights(): Readonly<Record<string, tf.Variable>> {
    return { ...this.generators, ...this.discriminators };
  }

  /**
   * Translates a batch: `[N, H, W, C]` in [−1, 1] of the source domain →
   * `[N, H, W, C]` in (−1, 1) of the other.
   * @returns a new tensor; the caller owns it (the input is not disposed).
   * @throws SculptError for a wrong shape or an unknown direction.
   * @example `const thick = cycle.translate(plain, 'AtoB')`
   */
  translate(images: tf.Tensor4D, direction: TranslateDirection): tf.Tensor4D {
    const where = 'CycleGanModel.translate';
    const d = checkDirection(where, direction);
    this.checkImages(where, images);
    return tf.tidy(() => this.generate(d, images));
  }

  /** G_AB or G_BA on already-checked inputs, inside the caller's tidy (used by the trainer). */
  generate(direction: TranslateDirection, images: tf.Tensor4D): tf.Tensor4D {
    const p = direction === 'AtoB' ? this.generatorAB : this.generatorBA;
    return cycleGeneratorForward(this.config, p, images);
  }

  /** D_A or D_B's patch scores `[N, h, w, 1]`, inside the caller's tidy (used by the trainer). */
  critic(domain: 'A' | 'B', images: tf.Tensor4D): tf.Tensor4D {
    const p = domain === 'A' ? this.discriminatorA : this.discriminatorB;
    return patchDiscriminatorForward(this.config, p, images);
  }

  /** Throws unless `images` is `[N, H, W, C]` matching the config. */
  checkImages(where: string, images: tf.Tensor): void {
    const [h, w, c] = this.imageShape;
    const ok =
      images instanceof tf.Tensor &&
      images.rank === 4 &&
      images.shape[0] > 0 &&
      images.shape[1] === h &&
      images.shape[2] === w &&
      images.shape[3] === c;
    if (!ok) {
      const got = images instanceof tf.Tensor ? formatShape(images.shape) : typeof images;
      throw new SculptError(
        where,
        `expected images of shape [N, ${h}, ${w}, ${c}] in [-1, 1]`,
        `got ${got}`,
        'reshape/scale the batch (datasets: range "-1,1")',
      );
    }
  }

  /**
   * The weights and config as a core checkpoint (tensors prefixed `model/`).
   * @returns tensors that are the model's own variables (do not dispose) + JSON.
   */
  toCheckpoint(): Checkpoint {
    return packTrainingCheckpoint({
      kind: CYCLE_CHECKPOINT_KIND,
      version: 1,
      config: this.config as unknown as JsonValue,
      weights: this.weights,
    });
  }

  /**
   * @internal How `load`, `fromBytes` and the trainer's `resume` read a
   * checkpoint: every `model/` tensor checked (name, shape, dtype) against the
   * architecture of the stored config before any tensor is made.
   */
  static loadOptions(): LoadCheckpointOptions {
    return expectTrainingWeights(CYCLE_CHECKPOINT_KIND, (config) =>
      weightSpecs(
        CycleGanModel.create(savedCycleGanConfig(config as Partial<CycleGanConfig>)),
        (m) => m.weights,
      ),
    );
  }

  /**
   * A model from a checkpoint written by `save`, `toBytes` or a trainer.
   * @returns a new model; the caller owns it. The checkpoint's tensors are not disposed.
   * @throws CheckpointError for another kind; SculptError for weights that do not fit the config.
   */
  static fromCheckpoint(where: string, checkpoint: Checkpoint): CycleGanModel {
    const { config, weights } = unpackTrainingCheckpoint(where, checkpoint, CYCLE_CHECKPOINT_KIND);
    const model = CycleGanModel.create(savedCycleGanConfig(config as Partial<CycleGanConfig>));
    try {
      assignModelWeights(where, model.weights, weights);
    } catch (error) {
      model.dispose();
      throw error;
    }
    return model;
  }

  /**
   * Saves weights + config into a directory (Node; core's atomic checkpoint).
   * @example `await cycle.save('checkpoints/cycle')`
   */
  async save(dir: string): Promise<void> {
    await saveCheckpoint(dir, this.toCheckpoint());
  }

  /**
   * Loads a model saved by `save` (or a trainer checkpoint).
   * @returns a new model; the caller owns it.
   * @example `const cycle = await CycleGanModel.load('checkpoints/cycle')`
   */
  static async load(dir: string): Promise<CycleGanModel> {
    const checkpoint = await loadCheckpoint(dir, CycleGanModel.loadOptions());
    try {
      return CycleGanModel.fromCheckpoint('CycleGanModel.load', checkpoint);
    } finally {
      tf.dispose(Object.values(checkpoint.tensors));
    }
  }

  /**
   * Weights + config as one buffer (browsers: fetch it).
   * @returns a new `ArrayBuffer` holding a core checkpoint blob.
   * @example `const bytes = await cycle.toBytes()`
   */
  async toBytes(): Promise<ArrayBuffer> {
    const bytes = await checkpointToBytes(this.toCheckpoint());
    return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  }

  /**
   * The inverse of `toBytes`.
   * @returns a new model; the caller owns it.
   * @example `const cycle = CycleGanModel.fromBytes(await (await fetch(url)).arrayBuffer())`
   */
  static fromBytes(bytes: ArrayBuffer | Uint8Array): CycleGanModel {
    const checkpoint = checkpointFromBytes(
      bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes),
      CycleGanModel.loadOptions(),
    );
    try {
      return CycleGanModel.fromCheckpoint('CycleGanModel.fromBytes', checkpoint);
    } finally {
      tf.dispose(Object.values(checkpoint.tensors));
    }
  }

  /** Frees every weight. */
  dispose(): void {
    tf.dispose(Object.values(this.weights));
  }
}

function prefixed(parts: [string, Readonly<Params>][]): Record<string, tf.Variable> {
  const out: Record<string, tf.Variable> = {};
  for (const [prefix, p] of parts)
    for (const [k, v] of Object.entries(p)) out[`${prefix}/${k}`] = v;
  return out;
}
