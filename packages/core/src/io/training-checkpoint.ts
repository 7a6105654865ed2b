// The one layout of a sculpt model or training checkpoint, shared by every
// family's `save`/`resume` and by the `sculpt` command:
//
//   tensors  model/<weight>     the model's weights
//            trainer/<name>     the core Trainer's state (optimizer moments, EMA, …)
//   json     { kind, version, config, trainer?, ...extra }
//            kind       which model wrote it, e.g. 'sculpt.diffusion'
//            config     the model's config (rebuilds the architecture)
//            trainer    the Trainer's JSON state: step, Rng, optimizer counters
//            extra      the family's own JSON: training options, schedule spec, …
//
// A model-only checkpoint (`Model.save`) has no `trainer`; a training
// checkpoint has both, so either loads the model.
import * as tf from '@tensorflow/tfjs-core';
import { CheckpointError, SculptError } from '../errors.js';
import type { JsonValue, TrainState } from '../train/state.js';
import {
  type Checkpoint,
  type CheckpointTarget,
  type LoadCheckpointOptions,
  loadCheckpoint,
  saveCheckpoint,
  type TensorSpec,
} from './checkpoint.js';

const MODEL = 'model/';
const TRAINER = 'trainer/';
const RESERVED = new Set(['kind', 'version', 'config', 'trainer']);

/** The parts of a checkpoint in sculpt's layout (see {@link packTrainingCheckpoint}). */
export interface TrainingCheckpointParts {
  /** Which model wrote it, e.g. `'sculpt.diffusion'`; checked on load. */
  kind: string;
  /** The layout version of that model's JSON. */
  version: number;
  /** The model's config (plain JSON). */
  config: JsonValue;
  /** The model's weights by name (read, not taken). */
  weights: Record<string, tf.Tensor>;
  /** The core Trainer's state (`trainer.getState()`), for a training checkpoint. */
  trainer?: TrainState;
  /** Anything else the family stores at the top level of the JSON (training options, …). */
  extra?: { [key: string]: JsonValue };
}

/**
 * Puts a model's weights, config and (optionally) its trainer's state into a
 * core {@link Checkpoint} in sculpt's one layout: weights under `model/`,
 * trainer tensors under `trainer/`, JSON `{ kind, version, config, trainer,
 * ...extra }`.
 *
 * @returns a checkpoint whose tensors are the given ones (no copies: the
 *   caller keeps ownership and disposes what it owns after saving).
 * @throws CheckpointError when `extra` uses a reserved key.
 * @example
 * ```ts
 * const state = trainer.getState();
 * await saveCheckpoint(dir, packTrainingCheckpoint({ kind: 'my.model', version: 1, config, weights, trainer: state }));
 * tf.dispose(Object.values(state.tensors));
 * ```
 */
export function packTrainingCheckpoint(parts: TrainingCheckpointParts): Checkpoint {
  const tensors: Record<string, tf.Tensor> = Object.create(null);
  for (const [k, v] of Object.entries(parts.weights)) tensors[MODEL + k] = v;
  for (const [k, v] of Object.entries(parts.trainer?.tensors ?? {})) tensors[TRAINER + k] = v;
  const extra = parts.extra ?? {};
  for (const key of Object.keys(extra)) {
    if (RESERVED.has(key)) {
      throw new CheckpointError(
        'packTrainingCheckpoint',
        `expected extra JSON keys other than ${[...RESERVED].join(', ')}`,
        `got '${key}'`,
        'rename the key',
      );
    }
  }
  const json: { [key: string]: JsonValue } = {
    kind: parts.kind,
    version: parts.version,
    config: parts.config,
    ...(parts.trainer ? { trainer: parts.trainer.json } : {}),
    ...extra,
  };
  return { tensors: { ...tensors }, json };
}

const isObject = (v: unknown): v is { [key: string]: JsonValue } =>
  v !== null && typeof v === 'object' && !Array.isArray(v);

/** What {@link unpackTrainingCheckpoint} returns. */
export interface UnpackedTrainingCheckpoint {
  version: number;
  config: JsonValue;
  /** The tensors under `model/`, prefix removed (the checkpoint's own tensors: no copies). */
  weights: Record<string, tf.Tensor>;
  /** The trainer's state when the checkpoint has one (tensors are the checkpoint's own). */
  trainer: TrainState | undefined;
  /** The top-level JSON keys other than kind, version, config and trainer. */
  extra: { [key: string]: JsonValue };
}

/**
 * Reads a checkpoint written with {@link packTrainingCheckpoint}, checking
 * its kind. A `sculpt train` run's checkpoint (`{ run, model }`) reads as the
 * model document inside it, so `Model.load('runs/x/checkpoint')` works.
 *
 * @param where - the calling function, for errors.
 * @param checkpoint - a loaded checkpoint (its tensors stay the caller's).
 * @param kind - the expected `kind`.
 * @returns the parts; tensors are views of `checkpoint.tensors` (no copies).
 * @throws CheckpointError for another kind or a malformed document.
 * @example
 * ```ts
 * const { config, weights, trainer } = unpackTrainingCheckpoint('MyModel.load', await loadCheckpoint(dir), 'my.model');
 * ```
 */
export function unpackTrainingCheckpoint(
  where: string,
  checkpoint: Checkpoint,
  kind: string,
): UnpackedTrainingCheckpoint {
  let json = checkpoint.json;
  // `sculpt train` writes { run, model: <this family's document> }: read its model.
  if (isObject(json) && isObject(json.run) && isObject(json.model) && json.kind === undefined)
    json = json.model;
  if (json === null || typeof json !== 'object' || Array.isArray(json) || json.kind !== kind) {
    const got =
      json !== null && typeof json === 'object' && !Array.isArray(json)
        ? `kind ${typeof json.kind === 'string' ? `'${json.kind.slice(0, 80)}'` : 'missing'}`
        : `a document of type ${json === null ? 'null' : Array.isArray(json) ? 'array' : typeof json}`;
    throw new CheckpointError(
      where,
      `expected a '${kind}' checkpoint`,
      `got ${got}`,
      'load a checkpoint written by this model family',
    );
  }
  if (json.config === undefined || json.config === null || typeof json.config !== 'object') {
    throw new CheckpointError(
      where,
      'expected the model config under "config"',
      'got none',
      'the checkpoint is damaged or was not written by sculpt',
    );
  }
  const weights: Record<string, tf.Tensor> = {};
  const trainerTensors: Record<string, tf.Tensor> = {};
  for (const [k, v] of Object.entries(checkpoint.tensors)) {
    if (k.startsWith(MODEL)) weights[k.slice(MODEL.length)] = v;
    else if (k.startsWith(TRAINER)) trainerTensors[k.slice(TRAINER.length)] = v;
  }
  const trainerJson = json.trainer;
  let trainer: TrainState | undefined;
  if (trainerJson !== undefined) {
    if (trainerJson === null || typeof trainerJson !== 'object' || Array.isArray(trainerJson)) {
      throw new CheckpointError(
        where,
        'expected the trainer state under "trainer" to be an object',
        `got ${trainerJson === null ? 'null' : Array.isArray(trainerJson) ? 'an array' : typeof trainerJson}`,
        'the checkpoint is damaged or was not written by sculpt',
      );
    }
    trainer = { tensors: trainerTensors, json: trainerJson };
  }
  const extra: { [key: string]: JsonValue } = {};
  for (const [k, v] of Object.entries(json)) if (!RESERVED.has(k)) extra[k] = v;
  return {
    version: typeof json.version === 'number' ? json.version : 1,
    config: json.config,
    weights,
    trainer,
    extra,
  };
}

/**
 * The `expect` option of `loadCheckpoint`/`checkpointFromBytes` for a model's
 * weights in sculpt's layout: every `model/<name>` with its shape and dtype.
 *
 * @param weights - the model's variables (or anything with shape and dtype).
 * @returns name → spec, prefixed `model/`.
 * @example
 * ```ts
 * const ckpt = checkpointFromBytes(bytes, { expect: expectModelWeights(model.params), allowExtra: true });
 * ```
 */
export function expectModelWeights(
  weights: Readonly<Record<string, TensorSpec>>,
): Record<string, TensorSpec> {
  const out: Record<string, TensorSpec> = {};
  for (const [k, v] of Object.entries(weights)) out[MODEL + k] = { shape: v.shape, dtype: v.dtype };
  return out;
}

/**
 * Frees the `trainer/` tensors of a checkpoint from {@link packTrainingCheckpoint}
 * (the fresh copies `Trainer.getState()` made), leaving the `model/` ones, which
 * are the model's own variables.
 *
 * @example
 * ```ts
 * const ckpt = trainer.checkpoint();
 * try { await saveCheckpoint(dir, ckpt); } finally { disposeTrainerTensors(ckpt); }
 * ```
 */
export function disposeTrainerTensors(checkpoint: Checkpoint): void {
  for (const [k, v] of Object.entries(checkpoint.tensors)) if (k.startsWith(TRAINER)) v.dispose();
}

/**
 * A checkpoint from {@link packTrainingCheckpoint} whose every tensor the caller
 * owns: the `model/` variables are cloned, the `trainer/` copies are taken over.
 *
 * @returns a new checkpoint; dispose all of its tensors when done.
 */
export function ownTrainingCheckpoint(checkpoint: Checkpoint): Checkpoint {
  const tensors: Record<string, tf.Tensor> = Object.create(null);
  for (const [k, v] of Object.entries(checkpoint.tensors))
    tensors[k] = k.startsWith(MODEL) ? tf.clone(v) : v;
  return { tensors, json: checkpoint.json };
}

/**
 * Saves a training checkpoint from a family trainer's `checkpoint()` with
 * core's atomic save, then frees the `trainer/` copies it holds, whether or
 * not the save succeeded (the `model/` tensors stay the model's).
 *
 * @example
 * ```ts
 * async save(target) { await saveTrainingCheckpoint(target, this.checkpoint()); }
 * ```
 */
export async function saveTrainingCheckpoint(
  target: CheckpointTarget,
  checkpoint: Checkpoint,
): Promise<void> {
  try {
    await saveCheckpoint(target, checkpoint);
  } finally {
    disposeTrainerTensors(checkpoint);
  }
}

/**
 * Loads the checkpoint at `target`, hands it to `read` and frees its tensors
 * afterwards: `read` copies what it keeps (as `Model.fromCheckpoint` does).
 *
 * @param options - passed to `loadCheckpoint` (e.g. a family's {@link expectTrainingWeights}).
 * @returns what `read` returns.
 * @example `const model = await readCheckpoint(dir, (c) => MyModel.fromCheckpoint('MyModel.load', c));`
 */
export async function readCheckpoint<T>(
  target: CheckpointTarget,
  read: (checkpoint: Checkpoint) => T,
  options: LoadCheckpointOptions = {},
): Promise<T> {
  const checkpoint = await loadCheckpoint(target, options);
  try {
    return read(checkpoint);
  } finally {
    tf.dispose(Object.values(checkpoint.tensors));
  }
}

/** How {@link restoreTrainer} rebuilds one family's model and trainer. */
export interface TrainerRestorer<M extends { dispose(): void }, T extends { dispose(): void }> {
  /** The checkpoint kind, e.g. `'sculpt-gpt'`. */
  kind: string;
  /** The model class's name, for the error on a model-only checkpoint (e.g. `'GptModel'`). */
  modelName: string;
  /** The model from the checkpoint (its tensors read, not taken). */
  model: (where: string, checkpoint: Checkpoint) => M;
  /** A fresh trainer for `model` from the stored extra JSON (training options, schedule spec). */
  trainer: (model: M, extra: { [key: string]: JsonValue }) => T;
  /** Restores the trainer's step, Rng, optimizer and EMA state. */
  setState: (trainer: T, state: TrainState) => void;
}

/**
 * A family's model and trainer from a training checkpoint, as every
 * `Trainer.fromCheckpoint` needs them: checks the kind and that trainer state
 * is there, builds the model, then the trainer, then restores its state. If
 * any step throws, what was built is freed before the error propagates.
 *
 * @returns a new model and trainer; the caller owns both. The checkpoint's tensors are read, not taken.
 * @throws CheckpointError for another kind; SculptError for a model-only checkpoint.
 */
export function restoreTrainer<M extends { dispose(): void }, T extends { dispose(): void }>(
  where: string,
  checkpoint: Checkpoint,
  restorer: TrainerRestorer<M, T>,
): { model: M; trainer: T } {
  const { trainer: state, extra } = unpackTrainingCheckpoint(where, checkpoint, restorer.kind);
  if (!state)
    throw new SculptError(
      where,
      'expected a trainer checkpoint (weights + trainer state)',
      'got a model-only checkpoint',
      `use ${restorer.modelName}.load for weights only`,
    );
  const model = restorer.model(where, checkpoint);
  let trainer: T | undefined;
  try {
    trainer = restorer.trainer(model, extra);
    restorer.setState(trainer, state);
    return { model, trainer };
  } catch (error) {
    trainer?.dispose();
    model.dispose();
    throw error;
  }
}
