// A model's weights against a checkpoint in sculpt's layout (model/<name>,
// trainer/<name>): the `expect` a family's `load`/`fromBytes`/`resume` pass, and
// the checked assignment its `fromCheckpoint` does, so a missing, extra, reshaped
// or retyped weight is a CheckpointError naming it on every path (files, bytes,
// URLs, the `sculpt` command), never a weight loaded into the wrong layer.
import type * as tf from '@tensorflow/tfjs-core';
import type { JsonValue } from '../train/state.js';
import type { LoadCheckpointOptions } from './checkpoint.js';
import { refuseTensorProblems, specsOf, type TensorSpec, tensorProblems } from './expect.js';

const MODEL = 'model/';
const TRAINER = 'trainer/';

const isObject = (v: unknown): v is { [key: string]: JsonValue } =>
  v !== null && typeof v === 'object' && !Array.isArray(v);

/** The model's document: the JSON itself, or its `model` part in a `sculpt train` checkpoint. */
function modelDocument(json: JsonValue): { [key: string]: JsonValue } | undefined {
  if (isObject(json) && isObject(json.run) && isObject(json.model) && json.kind === undefined)
    return json.model;
  return isObject(json) ? json : undefined;
}

/**
 * The load options for a family's checkpoints: `expect` derives every
 * `model/<name>` (shape and dtype) from the stored config, and only `trainer/`
 * tensors may be there besides. A checkpoint of another kind is left for
 * `unpackTrainingCheckpoint` to refuse with its own message.
 *
 * @param kind - the family's checkpoint kind, e.g. `'sculpt.diffusion'`.
 * @param weightsOf - the model's weight specs for a stored config (e.g. build it, read its variables, dispose it).
 * @returns options for `loadCheckpoint`, `checkpointFromBytes` and `readCheckpoint`.
 * @example
 * ```ts
 * const LOAD = expectTrainingWeights('sculpt.vae', (config) => weightSpecs(VaeModel.fromConfig(config), (m) => m.params));
 * const model = MyModel.fromCheckpoint('MyModel.load', await loadCheckpoint(dir, LOAD));
 * ```
 */
export function expectTrainingWeights(
  kind: string,
  weightsOf: (config: JsonValue) => Readonly<Record<string, TensorSpec>>,
): LoadCheckpointOptions {
  return {
    expect: (json) => {
      const doc = modelDocument(json);
      if (!doc || doc.kind !== kind || !isObject(doc.config)) return undefined;
      const out: Record<string, TensorSpec> = {};
      for (const [k, v] of Object.entries(weightsOf(doc.config)))
        out[MODEL + k] = { shape: v.shape, dtype: v.dtype };
      return out;
    },
    allowExtra: (name) => name.startsWith(TRAINER),
  };
}

/**
 * The weight specs of a freshly built model, which is then disposed: the
 * `weightsOf` of {@link expectTrainingWeights}.
 *
 * @param model - a model built from the stored config (this function disposes it).
 * @param weights - its weights by name.
 * @returns name → `{ shape, dtype }` (plain values; no tensor is kept).
 * @example `weightSpecs(new DiffusionModel(config), (m) => m.params)`
 */
export function weightSpecs<M extends { dispose(): void }>(
  model: M,
  weights: (model: M) => Readonly<Record<string, TensorSpec>>,
): Record<string, TensorSpec> {
  try {
    return Object.fromEntries(specsOf(weights(model)));
  } finally {
    model.dispose();
  }
}

/**
 * Assigns a checkpoint's weights to a model's variables after checking them
 * all: every variable needs a weight of its shape and dtype, and no weight may
 * be left over. Nothing is assigned when anything differs.
 *
 * @param where - the calling function, for errors.
 * @param variables - the model's variables by name (written).
 * @param weights - the checkpoint's weights by the same names (read, not taken).
 * @throws CheckpointError listing each missing, extra, reshaped or retyped weight by name.
 * @example
 * ```ts
 * const { config, weights } = unpackTrainingCheckpoint(where, checkpoint, KIND);
 * assignModelWeights(where, model.params, weights);
 * ```
 */
export function assignModelWeights(
  where: string,
  variables: Readonly<Record<string, tf.Variable>>,
  weights: Readonly<Record<string, tf.Tensor>>,
): void {
  const problems = tensorProblems(specsOf(weights), variables, false);
  refuseTensorProblems(where, 'the checkpoint weights', problems);
  for (const [name, v] of Object.entries(variables)) v.assign(weights[name] as tf.Tensor);
}
