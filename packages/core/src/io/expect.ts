// What a checkpoint's tensors must be: the one comparison behind `expect` (before
// any tensor is made) and behind a model's `fromCheckpoint` (before any weight is
// assigned), so a missing, extra, reshaped or retyped tensor is refused by name.
import type * as tf from '@tensorflow/tfjs-core';
import { CheckpointError, formatShape } from '../errors.js';
import type { JsonValue } from '../train/state.js';

/** What a loaded tensor must look like: a `tf.Tensor` fits, so a model's own weights can be passed. */
export interface TensorSpec {
  readonly shape: readonly number[];
  /** Checked when given. */
  readonly dtype?: tf.DataType;
}

/** Names → specs, or a function of the checkpoint's JSON that returns them (`undefined`: no check). */
export type ExpectedTensors =
  | Readonly<Record<string, TensorSpec>>
  | ((json: JsonValue) => Readonly<Record<string, TensorSpec>> | undefined);

/** Tensors not named by `expect` that may be present: all (`true`), none (`false`), or those a predicate accepts. */
export type AllowExtra = boolean | ((name: string) => boolean);

/**
 * Every difference between the tensors found and the ones expected.
 *
 * @param found - name → shape and dtype of what the file (or checkpoint) holds.
 * @returns one line per problem (empty when they match), each naming the tensor.
 */
export function tensorProblems(
  found: ReadonlyMap<string, TensorSpec>,
  expect: Readonly<Record<string, TensorSpec>>,
  allowExtra: AllowExtra,
): string[] {
  const problems: string[] = [];
  for (const [name, spec] of Object.entries(expect)) {
    const entry = found.get(name);
    if (entry === undefined) {
      problems.push(`"${name}" is missing`);
      continue;
    }
    if (formatShape(entry.shape) !== formatShape(spec.shape))
      problems.push(
        `"${name}" has shape ${formatShape(entry.shape)}, expected ${formatShape(spec.shape)}`,
      );
    if (spec.dtype !== undefined && spec.dtype !== entry.dtype)
      problems.push(`"${name}" is ${entry.dtype}, expected ${spec.dtype}`);
  }
  if (allowExtra === true) return problems;
  for (const name of found.keys()) {
    if (Object.hasOwn(expect, name)) continue;
    if (typeof allowExtra === 'function' && allowExtra(name)) continue;
    problems.push(`"${name}" is not expected`);
  }
  return problems;
}

/**
 * Throws a `CheckpointError` listing the first problems (see {@link tensorProblems}).
 *
 * @param what - the tensors' place, e.g. `'the tensors in weights.safetensors'`.
 */
export function refuseTensorProblems(where: string, what: string, problems: string[]): void {
  if (problems.length === 0) return;
  const shown =
    problems.slice(0, 8).join('; ') +
    (problems.length > 8 ? `; and ${problems.length - 8} more` : '');
  throw new CheckpointError(
    where,
    `${what} to match the model's weights (names, shapes, dtypes)`,
    `got: ${shown}`,
    'load the checkpoint into the model it was saved from (same config and family)',
  );
}

/** name → `{ shape, dtype }` of tensors (or specs). */
export function specsOf(tensors: Readonly<Record<string, TensorSpec>>): Map<string, TensorSpec> {
  const out = new Map<string, TensorSpec>();
  for (const [k, v] of Object.entries(tensors)) out.set(k, { shape: v.shape, dtype: v.dtype });
  return out;
}
