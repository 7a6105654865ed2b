// The family adapter: the one interface a model family implements to be
// trained, sampled, saved and evaluated by the `sculpt` command. Diffusion is
// the first; a VAE, GAN or GPT plugs in by adding one file under families/
// and one line in families/index.ts.
import type { Checkpoint, JsonValue, StepResult } from '@sculpt/core';
import type { ImageSet } from '@sculpt/datasets';
import type * as tf from '@tensorflow/tfjs-core';

/** What a data set holds: images (with optional class labels) or text. */
export type DataKind = 'images' | 'text';

/** A loaded data set: what `--data` named, split for training and evaluation. */
export type TrainingData =
  | {
      kind: 'images';
      /** The `--data` value that loaded it (stored in checkpoints to reload it). */
      spec: string;
      /** Training images, pixels in [0, 1]. */
      train: ImageSet;
      /** Held-out images for metrics (the training set when the source has no split). */
      heldOut: ImageSet;
      /** Class names by label (`['0', …, '9']` for MNIST; sub-folder names for `images:DIR`). */
      classNames: readonly string[];
    }
  | {
      kind: 'text';
      spec: string;
      /** Training text. */
      train: string;
      /** Held-out text. */
      heldOut: string;
    };

/** A preset: a named model size with a one-line description. */
export interface PresetInfo {
  readonly name: string;
  readonly description: string;
}

/** Options of {@link FamilyAdapter.create}. */
export interface CreateModelOptions {
  /** A name from {@link FamilyAdapter.presets}. */
  preset: string;
  /** The training data (its shape and classes size the model). */
  data: TrainingData;
  /** Examples per step; undefined = the preset's default. */
  batchSize: number | undefined;
  /** Seeds initialisation, batches and noise. */
  seed: number;
  /** The planned number of steps (for learning-rate schedules); undefined when training for a time budget. */
  totalSteps: number | undefined;
}

/** What a sample request asks of a model. */
export interface SampleRequest {
  /** How many samples. */
  numSamples: number;
  /** A sampler name from `@sculpt/samplers` (families without samplers ignore it). */
  sampler?: string;
  /** Sampler steps. */
  steps?: number;
  /** Classifier-free guidance scale (conditional models). */
  guidanceScale?: number;
  /** One class label per sample (conditional models); undefined = unconditional or the family's choice. */
  labels?: readonly number[];
  /** Seed of the initial noise. */
  seed: number;
  /** Called after every sampler step (for progress). */
  onStep?: (step: number, total: number) => void;
  /** Stops sampling (core's `AbortError`), e.g. on Ctrl-C during a preview. */
  signal?: AbortSignal;
}

/** A model being trained or sampled: owns its weights and its training state. */
export interface FamilyModel {
  /** What it generates. */
  readonly kind: 'images';
  /** The family's config as plain JSON (written into checkpoints). */
  readonly config: JsonValue;
  /** Examples per training step. */
  readonly batchSize: number;
  /** Number of classes it is conditioned on (0 = unconditional). */
  readonly numClasses: number;
  /** Shape of one sample, `[H, W, C]`. */
  readonly sampleShape: readonly [number, number, number];
  /** Number of trainable weights. */
  readonly parameterCount: number;
  /** Training steps completed so far (restored on resume). */
  readonly stepCount: number;
  /**
   * Runs `steps` more training steps, calling `onStep` after each (the model
   * is consistent there: {@link FamilyModel.checkpoint} may be called). An
   * aborted `signal` stops it between steps with core's `AbortError`.
   */
  train(options: {
    steps: number;
    signal?: AbortSignal;
    onStep: (result: StepResult) => void | Promise<void>;
  }): Promise<void>;
  /** Everything needed to resume exactly (weights, optimizer, EMA, Rng, step). The caller owns the tensors. */
  checkpoint(): Checkpoint;
  /** Draws samples: `[N, H, W, C]` float32 in [0, 1]; the caller owns it. */
  sample(request: SampleRequest): Promise<tf.Tensor4D>;
  /** Frees the weights and training state. */
  dispose(): void;
}

/**
 * A model family as the CLI sees it: implement it (one file in
 * `src/families/`) and add it to `FAMILIES` to get `sculpt train/sample/eval`.
 *
 * @example
 * ```ts
 * const family: FamilyAdapter = getFamily('diffusion');
 * const model = await family.create({ preset: 'tiny', data, batchSize: 8, seed: 0, totalSteps: 10 });
 * await model.train({ steps: 10, onStep: (r) => console.log(r.step, r.loss) });
 * const images = await model.sample({ numSamples: 4, seed: 0 }); // [4, H, W, C] in [0, 1]
 * images.dispose();
 * model.dispose();
 * ```
 */
export interface FamilyAdapter {
  /** The name on the command line, e.g. `'diffusion'`. */
  readonly name: string;
  /** One line for `sculpt --help`. */
  readonly description: string;
  /** The presets, smallest first. */
  readonly presets: readonly PresetInfo[];
  /** The preset used when `--preset` is not given. */
  readonly defaultPreset: string;
  /** The data kinds it trains on. */
  readonly dataKinds: readonly DataKind[];
  /** The `--data` used when none is given. */
  readonly defaultData: string;
  /** Whether `sample` takes `--sampler` (diffusion samplers from `@sculpt/samplers`). */
  readonly usesSamplers: boolean;
  /** Defaults of `sculpt sample` for this family. */
  readonly sampleDefaults: { sampler?: string; steps?: number; guidanceScale?: number };
  /** A fresh model with a seeded initialisation. */
  create(options: CreateModelOptions): Promise<FamilyModel>;
  /**
   * Rebuilds a model from {@link FamilyModel.checkpoint}'s output (the tensors
   * are read, not taken). `data` is given when training will continue.
   * @throws CheckpointError when the checkpoint does not fit the family.
   */
  restore(
    checkpoint: Checkpoint,
    options: { data?: TrainingData; totalSteps: number | undefined },
  ): Promise<FamilyModel>;
}
