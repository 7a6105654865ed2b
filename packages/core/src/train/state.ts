import * as tf from '@tensorflow/tfjs-core';
import { formatShape, SculptError } from '../errors.js';

/** A plain JSON value (what `JSON.stringify` round-trips exactly). */
export type JsonValue =
  | string
  | number
  | boolean
  | null
  | JsonValue[]
  | { [key: string]: JsonValue };

/**
 * The saveable state of a training component (optimizer, EMA, trainer):
 * tensors for the checkpoint's weights file, plain JSON for the rest.
 *
 * Ownership: a `getState()` returns fresh copies that the caller owns (save
 * them, then dispose them); a `setState(state)` copies the values in and never
 * takes or disposes the caller's tensors.
 */
export interface TrainState {
  /** Named tensors, e.g. `{ 'w/m': …, 'w/v': … }`. */
  tensors: Record<string, tf.Tensor>;
  /** Everything else: counters, configs, RNG state. */
  json: { [key: string]: JsonValue };
}

/** Prefixes the keys of `tensors` with `prefix/` (no copy). */
export function prefixTensors(
  prefix: string,
  tensors: Record<string, tf.Tensor>,
): Record<string, tf.Tensor> {
  const out: Record<string, tf.Tensor> = {};
  for (const [k, v] of Object.entries(tensors)) out[`${prefix}/${k}`] = v;
  return out;
}

/** The tensors under `prefix/`, with the prefix removed (no copy). */
export function unprefixTensors(
  prefix: string,
  tensors: Record<string, tf.Tensor>,
): Record<string, tf.Tensor> {
  const out: Record<string, tf.Tensor> = {};
  const p = `${prefix}/`;
  for (const [k, v] of Object.entries(tensors)) if (k.startsWith(p)) out[k.slice(p.length)] = v;
  return out;
}

/** Assigns a copy of `value` to `target` after checking shape and dtype. */
export function assignChecked(
  where: string,
  name: string,
  target: tf.Variable,
  value: tf.Tensor,
): void {
  const same =
    value.dtype === target.dtype &&
    value.shape.length === target.shape.length &&
    value.shape.every((d, i) => d === target.shape[i]);
  if (!same) {
    throw new SculptError(
      where,
      `expected tensor '${name}' of shape ${formatShape(target.shape)} (${target.dtype})`,
      `got ${formatShape(value.shape)} (${value.dtype})`,
      'restore a state saved from the same model and options',
    );
  }
  // tf.clone gives the variable its own copy, so the caller may dispose `value`.
  tf.tidy(() => target.assign(tf.clone(value)));
}

/** Reads `json[key]` as an object, or throws naming the missing key. */
export function jsonObject(
  where: string,
  json: JsonValue | undefined,
  key: string,
): { [key: string]: JsonValue } {
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    throw new SculptError(
      where,
      `expected an object under '${key}' in the state's json`,
      `got ${JSON.stringify(json)}`,
      'pass the value returned by getState()',
    );
  }
  return json;
}

/** Reads `json[key]` as a non-negative integer, or throws. */
export function jsonCount(where: string, json: { [key: string]: JsonValue }, key: string): number {
  const v = json[key];
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) {
    throw new SculptError(
      where,
      `expected a non-negative integer '${key}' in the state's json`,
      `got ${JSON.stringify(v)}`,
      'pass the value returned by getState()',
    );
  }
  return v;
}
