// Several core Trainers' states kept in one TrainState under name prefixes
// (`d/…`, `g/…`), as the GAN and CycleGAN trainers checkpoint them.
import { type JsonValue, type RngState, SculptError, type TrainState } from '@sculpt/core';
import type * as tf from '@tensorflow/tfjs-core';

/**
 * Joins named states into one: tensor `k` of part `name` becomes `name/k`, its JSON `json[name]`.
 * @returns tensors and JSON (the tensors are the parts' own; nothing is copied).
 */
export function nestStates(parts: Record<string, TrainState>): TrainState {
  const tensors: Record<string, tf.Tensor> = {};
  const json: Record<string, JsonValue> = {};
  for (const [name, part] of Object.entries(parts)) {
    for (const [k, v] of Object.entries(part.tensors)) tensors[`${name}/${k}`] = v;
    json[name] = part.json;
  }
  return { tensors, json };
}

/**
 * The part `prefix` of a state made by {@link nestStates}.
 * @throws SculptError (naming `where`) when the state has no such part.
 */
export function stateAt(where: string, state: TrainState, prefix: string): TrainState {
  const tensors: Record<string, tf.Tensor> = {};
  for (const [k, v] of Object.entries(state.tensors))
    if (k.startsWith(`${prefix}/`)) tensors[k.slice(prefix.length + 1)] = v;
  const json = state.json[prefix];
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    throw new SculptError(
      where,
      `expected the '${prefix}' trainer state`,
      `got ${JSON.stringify(json)}`,
      'pass the value returned by getState()',
    );
  }
  return { tensors, json };
}

/** An Rng state as JSON. */
export function rngJson(r: RngState): JsonValue {
  return { key: [r.key[0], r.key[1]], counter: r.counter };
}
