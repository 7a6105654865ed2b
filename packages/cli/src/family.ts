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

/** What a sample request asks of an image model. */
export interface SampleRequest {
  /** How many samples. */
  numSamples: number;
  /** A sampler name from `@sculpt/samplers` (families without samplers ignore it). */
  sampler?: string;
  /** Sampler steps. */
  steps?: number;
  /** Classifier-free guidance scale (conditional models). */
  guidanceScale?: number;
  /** Truncation ψ ∈ [0, 1] (style GANs; other families ignore it). */
  truncation?: number;
  /** One class label per sample (conditional models); undefined = unconditional or the family's choice. */
  labels?: readonly number[];
  /** Text prompts, cycled over the samples (families with `takesPrompts`); undefined = the family's choice. */
  prompts?: readonly string[];
  /** Seed of the initial noise. */
  seed: number;
  /** Called after every sampler step (for progress). */
  onStep?: (step: number, total: number) => void;
  /** Stops sampling (core's `AbortError`), e.g. on Ctrl-C during a preview. */
  signal?: AbortSignal;
}

/** What a generate request asks of a text model. */
export interface GenerateRequest {
  /** The text to continue ('' = from the model's start token, where it has one). */
  prompt: string;
  /** Tokens to generate at most. */
  maxNewTokens: number;
  /** Softmax temperature (0 = greedy). */
  temperature?: number;
  /** Keep the k most likely tokens. */
  topK?: number;
  /** Nucleus sampling: keep the smallest set with this probability mass. */
  topP?: number;
  /** Keep tokens with p ≥ minP · p_max. */
  minP?: number;
  /** CTRL repetition penalty θ (1 = off). */
  repetitionPenalty?: number;
  /** Stop when one of these strings appears (it is not returned). */
  stop?: readonly string[];
  /** Seed of the token draws. */
  seed: number;
  /** Stops generation between tokens (core's `AbortError`). */
  signal?: AbortSignal;
}

/** What `sculpt eval` asks of a model: scores on the held-out part of `data`. */
export interface EvaluateRequest {
  /** The data the model was trained on (its held-out split is scored). */
  data: TrainingData;
  /** Image families: how many samples to draw and score. Text families: ignored. */
  numSamples: number;
  /** Image families: the sampling settings. */
  sampling: Omit<SampleRequest, 'numSamples' | 'labels' | 'seed'>;
  /** Seeds sampling and any subset choice. */
  seed: number;
  signal?: AbortSignal;
  /**
   * Writes `images` `[N, H, W, C]` in [0, 1] (not disposed) as a PNG grid of
   * `columns` per row named `<name>.png` beside the metrics, and returns its
   * path. Families with figures (VAE reconstructions, interpolations) call it.
   */
  writeImages?: (name: string, images: tf.Tensor4D, columns: number) => Promise<string>;
}

/** A family's scores: plain JSON, keyed by the names in {@link FamilyAdapter.metrics} (plus any context). */
export type EvalReport = { [key: string]: JsonValue };

/** What every model being trained or sampled has: its weights and its training state. */
interface FamilyModelBase {
  /** The family's config as plain JSON (written into checkpoints). */
  readonly config: JsonValue;
  /** Examples per training step. */
  readonly batchSize: number;
  /** Number of trainable weights. */
  readonly parameterCount: number;
  /** Training steps completed so far (restored on resume). */
  readonly stepCount: number;
  /**
   * Runs `steps` more training steps, calling `onStep` after each (the model
   * is consistent there: {@link FamilyModelBase.checkpoint} may be called). An
   * aborted `signal` stops it between steps with core's `AbortError`.
   */
  train(options: {
    steps: number;
    signal?: AbortSignal;
    onStep: (result: StepResult) => void | Promise<void>;
  }): Promise<void>;
  /**
   * Everything needed to resume exactly (weights, optimizer, EMA, Rng, step),
   * in core's one checkpoint layout (`packTrainingCheckpoint`). The caller
   * disposes the tensors it gets.
   */
  checkpoint(): Checkpoint;
  /** Scores the model with the family's metrics ({@link FamilyAdapter.metrics}). */
  evaluate(request: EvaluateRequest): Promise<EvalReport>;
  /** Frees the weights and training state. */
  dispose(): void;
}

/** A model that generates images. */
export interface ImageFamilyModel extends FamilyModelBase {
  readonly kind: 'images';
  /** Number of classes it is conditioned on (0 = unconditional). */
  readonly numClasses: number;
  /** Shape of one sample, `[H, W, C]`. */
  readonly sampleShape: readonly [number, number, number];
  /** Draws samples: `[N, H, W, C]` float32 in [0, 1]; the caller owns it. */
  sample(request: SampleRequest): Promise<tf.Tensor4D>;
  /**
   * Image-to-image models only (CycleGAN): translates `[N, H, W, C]` in [0, 1]
   * from domain A to B or back; returns `[N, H, W, C]` in [0, 1] (the caller owns it).
   */
  translate?(images: tf.Tensor4D, direction: 'AtoB' | 'BtoA'): Promise<tf.Tensor4D>;
  /**
   * Models with a sampling-only export (GAN generators): the one file a web
   * page loads to draw images (safetensors with the config in its metadata).
   */
  exportSampler?(): Promise<{ bytes: Uint8Array; loader: string }>;
}

/** A model that generates text. */
export interface TextFamilyModel extends FamilyModelBase {
  readonly kind: 'text';
  /** The longest context it attends to, in tokens. */
  readonly contextLength: number;
  /** Streams the continuation of `request.prompt`, piece by piece (whole UTF-8 characters). */
  generate(request: GenerateRequest): AsyncIterable<string>;
}

/** A model being trained or sampled, of either kind. */
export type FamilyModel = ImageFamilyModel | TextFamilyModel;

/** The smallest run that exercises a family end to end (the family contract test uses it). */
export interface SmokeRun {
  /** A preset from {@link FamilyAdapter.presets} whose steps take milliseconds. */
  preset: string;
  /** A built-in `--data` value that needs no files (e.g. `shapes`, `moby-dick`). */
  data: string;
  /** Examples per step. */
  batchSize: number;
  /**
   * False when the family cannot learn from the reliability harness's 24
   * unlabelled 8×8 shapes (latent needs captioned digits): the harness then
   * trains it on {@link SmokeRun.data}. Default true.
   */
  tinyImages?: boolean;
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
 * if (model.kind === 'images') (await model.sample({ numSamples: 4, seed: 0 })).dispose(); // [4, H, W, C] in [0, 1]
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
  /** What its models generate: `sculpt sample` writes image grids, `sculpt generate` streams text. */
  readonly generates: DataKind;
  /** Whether `sample` takes `--sampler` (diffusion samplers from `@sculpt/samplers`). */
  readonly usesSamplers: boolean;
  /** Whether `sample` takes `--prompt` (text-to-image families). Default false. */
  readonly takesPrompts?: boolean;
  /** Defaults of `sculpt sample` for this family. */
  readonly sampleDefaults: { sampler?: string; steps?: number; guidanceScale?: number };
  /** The names of the numbers `evaluate` reports, e.g. `['fd', 'kid', 'classAccuracy']` or `['natsPerChar']`. */
  readonly metrics: readonly string[];
  /** The tiny run of the family contract test. */
  readonly smoke: SmokeRun;
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
