// Checkpoints: tensors (weights, optimizer moments, EMA, …) as safetensors, and
// everything else (config, optimizer hyper-parameters, Rng state, step, …) as
// plain JSON. Three targets share one encoding:
//
//   checkpointToBytes   one blob: a safetensors file whose __metadata__ holds the
//                       checkpoint document under "sculpt.checkpoint"
//   a directory (Node)  weights.safetensors (that same blob) + checkpoint.json
//                       (the document, readable by people), swapped in atomically
//   a CheckpointStore   anything that stores one blob: indexedDbStore(name) in browsers
//
// The document carries a format version and the CRC-32 and size of the data
// section, so truncated, swapped or bit-flipped weights are refused, never half-loaded.
import type * as tf from '@tensorflow/tfjs-core';
import { CheckpointError, preview, SculptError } from '../errors.js';
import type { JsonValue } from '../train/state.js';
import { crc32 } from './crc32.js';
import {
  type AllowExtra,
  type ExpectedTensors,
  refuseTensorProblems,
  type TensorSpec,
  tensorProblems,
} from './expect.js';

export type { AllowExtra, ExpectedTensors, TensorSpec } from './expect.js';

import { DOCUMENT_FILE, joinPath, readDirectory, saveDirectory, WEIGHTS_FILE } from './node-dir.js';
import {
  assembleSafetensors,
  encodeSafetensorsParts,
  type ParsedSafetensors,
  parseSafetensors,
  type SafetensorsEntry,
  tensorsFromParsed,
  tfjsDtypeOf,
} from './safetensors.js';

/**
 * A training state: tensors plus plain JSON.
 *
 * @example
 * ```ts
 * const checkpoint: Checkpoint = {
 *   tensors: { ...namedWeights(model), 'adam.m.dense.kernel': m },
 *   json: { config, step: 1200, rng: rng.getState(), optimizer: { lr: 1e-3 } },
 * };
 * ```
 */
export interface Checkpoint {
  /** name → tensor. Saving reads them and leaves them to the caller; loading returns new tensors the caller owns. */
  tensors: Record<string, tf.Tensor>;
  /** Config, step, Rng state, … : plain JSON (no NaN/Infinity, no undefined, no class instances). */
  json: JsonValue;
}

/** Options of {@link loadCheckpoint} and {@link checkpointFromBytes}. */
export interface LoadCheckpointOptions {
  /**
   * The tensors the caller needs, by name, or a function of the checkpoint's
   * JSON that returns them (so a model can derive them from its stored config).
   * Every one must be present with this shape (and dtype, when given), else a
   * `CheckpointError` lists every difference and no tensor is made. Default: no check.
   */
  expect?: ExpectedTensors;
  /** With `expect`, allow tensors that `expect` does not name (they are loaded too): `true`, or a predicate on the name. Default: `false`. */
  allowExtra?: AllowExtra;
}

/** Anything that stores one checkpoint blob, e.g. {@link indexedDbStore}. Implement it for OPFS, S3, … */
export interface CheckpointStore {
  /** Names the place in error messages, e.g. `'IndexedDB sculpt-checkpoints/mnist'`. */
  readonly description: string;
  /** Replaces the stored blob, all or nothing. */
  write(bytes: Uint8Array): Promise<void>;
  /** The stored blob, or `undefined` when nothing was saved. */
  read(): Promise<Uint8Array | undefined>;
}

/** A directory path (Node) or a {@link CheckpointStore}. */
export type CheckpointTarget = string | CheckpointStore;

/** The version this code writes; it reads this and older ones. */
export const CHECKPOINT_FORMAT_VERSION = 1;

/** @internal checkpoint.json, and the blob's `__metadata__["sculpt.checkpoint"]`. */
export interface CheckpointDocument {
  format: 'sculpt-checkpoint';
  formatVersion: number;
  weights: {
    file: string;
    dataBytes: number;
    crc32: number;
    tensors: number;
    /** CRC-32 of the tensor table (names, dtypes, shapes, offsets). Absent in files before it. */
    layoutCrc32?: number;
    /** CRC-32 of `json` as JSON text. Absent in files before it. */
    jsonCrc32?: number;
  };
  json: JsonValue;
}

/** CRC-32 of the tensor table in offset order, so a renamed, reshaped or swapped tensor is caught. */
function layoutCrc(entries: readonly SafetensorsEntry[]): number {
  const table = [...entries]
    .sort((a, b) => a.begin - b.begin || a.end - b.end || (a.name < b.name ? -1 : 1))
    .map((e) => [e.name, e.dtype, e.shape, e.begin, e.end]);
  return crc32(new TextEncoder().encode(JSON.stringify(table)));
}

/** CRC-32 of the embedded JSON's text. */
function jsonCrc(json: JsonValue): number {
  return crc32(new TextEncoder().encode(JSON.stringify(json)));
}

const METADATA_KEY = 'sculpt.checkpoint';

// ---------------------------------------------------------------- save

/** Walks `value` and throws at the first thing JSON would drop or change. */
function checkJson(where: string, value: unknown, path: string, depth = 0): void {
  const bad = (got: string) => {
    throw new SculptError(
      where,
      `checkpoint.json must be plain JSON`,
      `got ${got} at ${path}`,
      'store only null, booleans, finite numbers, strings, arrays and plain objects (convert NaN to null, Maps to objects)',
    );
  };
  if (depth > 100) bad('nesting deeper than 100 (a cycle?)');
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) bad(String(value));
    return;
  }
  if (Array.isArray(value)) {
    for (const [i, v] of value.entries()) checkJson(where, v, `${path}[${i}]`, depth + 1);
    return;
  }
  if (typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    for (const [k, v] of Object.entries(value)) checkJson(where, v, `${path}.${k}`, depth + 1);
    return;
  }
  bad(typeof value === 'object' ? (value.constructor?.name ?? 'an object') : typeof value);
}

/** @internal the blob and the document it embeds. */
export async function encodeCheckpoint(
  where: string,
  checkpoint: Checkpoint,
): Promise<{ bytes: Uint8Array; document: CheckpointDocument }> {
  if (
    checkpoint === null ||
    typeof checkpoint !== 'object' ||
    typeof checkpoint.tensors !== 'object' ||
    checkpoint.tensors === null
  ) {
    throw new SculptError(
      where,
      'checkpoint must be { tensors, json }',
      `got ${preview(checkpoint, 60)}`,
    );
  }
  checkJson(where, checkpoint.json, 'json');
  const { entries, data } = await encodeSafetensorsParts(where, checkpoint.tensors);
  const document: CheckpointDocument = {
    format: 'sculpt-checkpoint',
    formatVersion: CHECKPOINT_FORMAT_VERSION,
    weights: {
      file: WEIGHTS_FILE,
      dataBytes: data.length,
      crc32: crc32(data),
      tensors: entries.length,
      layoutCrc32: layoutCrc(entries),
      jsonCrc32: jsonCrc(checkpoint.json),
    },
    json: checkpoint.json,
  };
  const bytes = assembleSafetensors(entries, data, { [METADATA_KEY]: JSON.stringify(document) });
  return { bytes, document };
}

/**
 * Encodes a checkpoint as one blob: a standard safetensors file (any
 * safetensors reader can load the weights) whose `__metadata__` carries the
 * JSON part, a format version and a CRC-32 of the tensor data.
 *
 * @param checkpoint - `{ tensors, json }`; the tensors are read, not disposed.
 * @returns the blob, a new `Uint8Array` the caller owns.
 * @throws SculptError if `json` is not plain JSON; CheckpointError for a tensor safetensors cannot hold.
 * @example
 * ```ts
 * const bytes = await checkpointToBytes({ tensors: { w }, json: { step: 10 } });
 * const back = checkpointFromBytes(bytes, { expect: { w } });
 * ```
 */
export async function checkpointToBytes(checkpoint: Checkpoint): Promise<Uint8Array> {
  return (await encodeCheckpoint('checkpointToBytes', checkpoint)).bytes;
}

// ---------------------------------------------------------------- load

/** @internal parse and check checkpoint.json (or the embedded copy). */
export function parseDocument(
  where: string,
  text: string | undefined,
  source: string,
): CheckpointDocument {
  const corrupt = (got: string): never => {
    throw new CheckpointError(
      where,
      `a sculpt checkpoint document in ${source}`,
      got,
      'the checkpoint is corrupt or not a sculpt checkpoint; save it again',
    );
  };
  if (text === undefined) corrupt('got no "sculpt.checkpoint" metadata');
  let doc: Partial<CheckpointDocument>;
  try {
    doc = JSON.parse(text as string) as Partial<CheckpointDocument>;
  } catch (error) {
    return corrupt(`got unparsable JSON (${(error as Error).message})`);
  }
  if (doc === null || typeof doc !== 'object' || doc.format !== 'sculpt-checkpoint')
    corrupt(`got format ${preview(doc?.format)}`);
  const version = doc.formatVersion;
  if (typeof version !== 'number' || !Number.isInteger(version) || version < 1)
    corrupt(`got formatVersion ${preview(version)}`);
  if ((version as number) > CHECKPOINT_FORMAT_VERSION) {
    throw new CheckpointError(
      where,
      `formatVersion ≤ ${CHECKPOINT_FORMAT_VERSION} in ${source}`,
      `got ${version}: written by a newer @sculpt/core`,
      'upgrade @sculpt/core to load it',
    );
  }
  const w = doc.weights;
  if (
    !w ||
    typeof w.file !== 'string' ||
    /[\\/]/.test(w.file) ||
    !Number.isSafeInteger(w.dataBytes) ||
    !Number.isSafeInteger(w.crc32) ||
    !Number.isSafeInteger(w.tensors) ||
    (w.layoutCrc32 !== undefined && !Number.isSafeInteger(w.layoutCrc32)) ||
    (w.jsonCrc32 !== undefined && !Number.isSafeInteger(w.jsonCrc32))
  ) {
    corrupt(`got weights ${preview(w)}`);
  }
  if (!('json' in doc)) corrupt('got no "json" field');
  return doc as CheckpointDocument;
}

/** Compares the file's tensors with `expect` before any tensor is made; lists every difference. */
function checkExpected(
  where: string,
  parsed: ParsedSafetensors,
  json: JsonValue,
  options: LoadCheckpointOptions,
  source: string,
): void {
  const { allowExtra = false } = options;
  const expect = typeof options.expect === 'function' ? options.expect(json) : options.expect;
  if (expect === undefined) return;
  const found = new Map<string, TensorSpec>();
  for (const e of parsed.entries)
    found.set(e.name, { shape: e.shape, dtype: tfjsDtypeOf(e.dtype) });
  refuseTensorProblems(
    where,
    `the tensors in ${source}`,
    tensorProblems(found, expect, allowExtra),
  );
}

/** @internal validate a blob against its document (the embedded one, or checkpoint.json's). */
export function decodeCheckpoint(
  where: string,
  bytes: Uint8Array,
  options: LoadCheckpointOptions,
  source: string,
  outer?: CheckpointDocument,
): Checkpoint {
  const parsed = parseSafetensors(where, bytes, source);
  const document = outer ?? parseDocument(where, parsed.metadata[METADATA_KEY], source);
  const { dataBytes, crc32: expectedCrc } = document.weights;
  if (parsed.data.length !== dataBytes) {
    throw new CheckpointError(
      where,
      `${dataBytes} bytes of tensor data in ${source}`,
      `got ${parsed.data.length}: the weights file does not belong to this checkpoint`,
      'save the checkpoint again',
    );
  }
  if (crc32(parsed.data) !== expectedCrc) {
    throw new CheckpointError(
      where,
      `tensor data with CRC-32 ${expectedCrc} in ${source}`,
      `got ${crc32(parsed.data)}: the file is corrupt or from another checkpoint`,
      'save the checkpoint again or restore it from a backup',
    );
  }
  const { tensors: count, layoutCrc32, jsonCrc32 } = document.weights;
  const header = (what: string, got: string): never => {
    throw new CheckpointError(
      where,
      `${what} in ${source} to match the checkpoint's record of it`,
      got,
      'the file was altered or mixed with another checkpoint; save it again or restore it from a backup',
    );
  };
  if (parsed.entries.length !== count)
    header('the number of tensors', `got ${parsed.entries.length}, recorded ${count}`);
  if (layoutCrc32 !== undefined && layoutCrc(parsed.entries) !== layoutCrc32)
    header('the tensor table (names, dtypes, shapes, offsets)', 'got a different table');
  if (jsonCrc32 !== undefined && jsonCrc(document.json) !== jsonCrc32)
    header('the JSON part', 'got different JSON');
  checkExpected(where, parsed, document.json, options, source);
  return { tensors: tensorsFromParsed(parsed), json: document.json };
}

/**
 * Decodes a blob from {@link checkpointToBytes}. Everything is validated
 * (structure, format version, CRC-32, `expect`) before any tensor is made.
 *
 * @param bytes - the blob.
 * @param options - `expect` (names → shapes/dtypes, or a function of the JSON returning them) and `allowExtra` (default `false`).
 * @returns `{ tensors, json }`; the tensors are new and owned by the caller.
 * @throws CheckpointError naming what is wrong for truncated, corrupt or mismatched bytes.
 * @example
 * ```ts
 * const { tensors, json } = checkpointFromBytes(bytes, { expect: { w: { shape: [3, 4] } } });
 * ```
 */
export function checkpointFromBytes(
  bytes: Uint8Array,
  options: LoadCheckpointOptions = {},
): Checkpoint {
  return decodeCheckpoint('checkpointFromBytes', bytes, options, 'the checkpoint bytes');
}

// ---------------------------------------------------------------- targets

/**
 * Saves a checkpoint, all or nothing.
 *
 * - **a directory path** (Node): writes `weights.safetensors` and
 *   `checkpoint.json` into a temporary directory beside it, fsyncs them, then
 *   swaps it in by rename. A failed or interrupted save leaves the previous
 *   checkpoint loadable (`loadCheckpoint` finds it even if the process died
 *   between the two renames of the swap). The path must be absent, empty, or
 *   hold only those two files: anything else is refused, never deleted. One
 *   writer per path.
 * - **a {@link CheckpointStore}** such as `indexedDbStore('mnist')`: stores the
 *   one-blob form of {@link checkpointToBytes}.
 *
 * @param target - directory path or store.
 * @param checkpoint - `{ tensors, json }`; tensors are read, not disposed.
 * @returns when the checkpoint is durable.
 * @throws SculptError for non-JSON `json`; CheckpointError when the target cannot be written (the old checkpoint is untouched).
 * @example
 * ```ts
 * await saveCheckpoint('runs/mnist/checkpoint', { tensors: weights, json: { step, rng: rng.getState() } });
 * ```
 */
export async function saveCheckpoint(
  target: CheckpointTarget,
  checkpoint: Checkpoint,
): Promise<void> {
  const where = 'saveCheckpoint';
  const { bytes, document } = await encodeCheckpoint(where, checkpoint);
  if (typeof target === 'string') {
    await saveDirectory(where, await import('node:fs/promises'), target, bytes, document);
    return;
  }
  checkStore(where, target);
  try {
    await target.write(bytes);
  } catch (error) {
    if (error instanceof CheckpointError) throw error;
    throw new CheckpointError(
      where,
      `to write ${target.description}`,
      `got ${(error as Error).message}`,
      'check the storage quota and permissions; the previous checkpoint is untouched',
    );
  }
}

/**
 * Loads a checkpoint saved by {@link saveCheckpoint}. Everything is validated
 * before any tensor is made: truncated, corrupt (CRC-32) or mismatched files
 * throw a `CheckpointError` naming the file and the fix; nothing is half-loaded.
 *
 * @param target - directory path (Node) or store.
 * @param options - `expect`: names → `{ shape, dtype? }` (a model's tensors fit), `allowExtra` (default `false`).
 * @returns `{ tensors, json }`; the tensors are new and owned by the caller.
 * @example
 * ```ts
 * const { tensors, json } = await loadCheckpoint('runs/mnist/checkpoint', { expect: namedWeights(model) });
 * const rng = Rng.fromState((json as { rng: RngState }).rng);
 * ```
 */
export async function loadCheckpoint(
  target: CheckpointTarget,
  options: LoadCheckpointOptions = {},
): Promise<Checkpoint> {
  const where = 'loadCheckpoint';
  if (typeof target === 'string') {
    const { weights, documentText, dir } = await readDirectory(
      where,
      await import('node:fs/promises'),
      target,
    );
    const document = parseDocument(where, documentText, joinPath(dir, DOCUMENT_FILE));
    return decodeCheckpoint(where, weights, options, joinPath(dir, WEIGHTS_FILE), document);
  }
  checkStore(where, target);
  let bytes: Uint8Array | undefined;
  try {
    bytes = await target.read();
  } catch (error) {
    if (error instanceof CheckpointError) throw error;
    throw new CheckpointError(
      where,
      `to read ${target.description}`,
      `got ${(error as Error).message}`,
      'check that the storage is available (private browsing can disable IndexedDB)',
    );
  }
  if (bytes === undefined) {
    throw new CheckpointError(
      where,
      `a checkpoint in ${target.description}`,
      'got none',
      'save one first with saveCheckpoint',
    );
  }
  return decodeCheckpoint(where, bytes, options, target.description);
}

function checkStore(where: string, target: CheckpointStore): void {
  if (
    target === null ||
    typeof target !== 'object' ||
    typeof target.write !== 'function' ||
    typeof target.read !== 'function'
  ) {
    throw new SculptError(
      where,
      'target must be a directory path or a CheckpointStore { description, write, read }',
      `got ${String(target)}`,
    );
  }
}
