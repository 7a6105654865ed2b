// safetensors (https://github.com/huggingface/safetensors), byte for byte:
//
//   [0, 8)        N, the header length: unsigned 64-bit little-endian
//   [8, 8 + N)    UTF-8 JSON: { "__metadata__"?: {str: str},
//                               name: { "dtype": "F32", "shape": [..], "data_offsets": [begin, end] } }
//                 padded with spaces (0x20) so the data starts 8-byte aligned
//   [8 + N, ...)  the data: each tensor's elements, row-major, little-endian;
//                 offsets are relative to the start of the data, and the
//                 tensors tile it exactly (no overlap, no hole, nothing after).
//
// float32/int32/bool round-trip bit-exactly (NaN payloads, -0, subnormals).
// F16/BF16 widen exactly to float32, I8/U8/I16/U16 to int32; 64-bit and FP8
// tensors have no lossless tfjs dtype and are refused.
import * as tf from '@tensorflow/tfjs-core';
import { CheckpointError, formatShape, preview } from '../errors.js';

/** The tfjs dtypes a safetensors file can hold and give back unchanged. */
export type SafetensorsSourceDtype = 'float32' | 'int32' | 'bool';

/** Bytes per element of every dtype in the safetensors spec; `undefined` → not a safetensors dtype. */
const DTYPE_BYTES: Readonly<Record<string, number>> = {
  F64: 8,
  F32: 4,
  F16: 2,
  BF16: 2,
  I64: 8,
  I32: 4,
  I16: 2,
  I8: 1,
  U64: 8,
  U32: 4,
  U16: 2,
  U8: 1,
  BOOL: 1,
  F8_E5M2: 1,
  F8_E4M3: 1,
};

/** What each readable safetensors dtype becomes in tfjs. */
const TO_TFJS: Readonly<Record<string, tf.DataType>> = {
  F32: 'float32',
  F16: 'float32',
  BF16: 'float32',
  I32: 'int32',
  I16: 'int32',
  I8: 'int32',
  U16: 'int32',
  U8: 'int32',
  BOOL: 'bool',
};

const FROM_TFJS: Readonly<Record<string, string>> = { float32: 'F32', int32: 'I32', bool: 'BOOL' };

/** One tensor as laid out in the file (offsets relative to the data section). */
export interface SafetensorsEntry {
  name: string;
  dtype: string;
  shape: number[];
  begin: number;
  end: number;
}

/** A validated file, tensors not yet made. */
export interface ParsedSafetensors {
  entries: SafetensorsEntry[];
  metadata: Record<string, string>;
  /** The bytes of the data section (a view into the input). */
  data: Uint8Array;
}

function isLittleEndian(): boolean {
  return new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
}

function sizeOf(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** `'decodeSafetensors'` plus, when known, the file: errors must name it. */
function fail(
  where: string,
  source: string | undefined,
  expected: string,
  got?: string,
  fix?: string,
): never {
  const inFile = source ? ` in ${source}` : '';
  throw new CheckpointError(where, `${expected}${inFile}`, got, fix);
}

// ---------------------------------------------------------------- encode

/** A tensor's elements as little-endian bytes, already in the file's layout. */
interface PackedTensor {
  name: string;
  dtype: string;
  shape: number[];
  bytes: Uint8Array;
}

function littleEndianBytes(values: Float32Array | Int32Array | Uint8Array): Uint8Array {
  const view = new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
  if (values.BYTES_PER_ELEMENT === 1 || isLittleEndian()) return view.slice();
  const out = new Uint8Array(values.byteLength);
  const dv = new DataView(out.buffer);
  for (let i = 0; i < values.length; i++) {
    if (values instanceof Float32Array) dv.setFloat32(4 * i, values[i], true);
    else dv.setInt32(4 * i, values[i], true);
  }
  return out;
}

/** Reads every tensor (async: no GPU stall) and checks names and dtypes. */
async function packTensors(
  where: string,
  tensors: Record<string, tf.Tensor>,
): Promise<PackedTensor[]> {
  const packed: PackedTensor[] = [];
  for (const [name, tensor] of Object.entries(tensors)) {
    if (name === '__metadata__' || name.length === 0) {
      fail(
        where,
        undefined,
        'tensor names must be non-empty and not "__metadata__"',
        `got "${name}"`,
        'rename the tensor',
      );
    }
    if (!(tensor instanceof tf.Tensor)) {
      fail(where, undefined, `"${name}" must be a tf.Tensor`, `got ${typeof tensor}`);
    }
    const dtype = FROM_TFJS[tensor.dtype];
    if (dtype === undefined) {
      fail(
        where,
        undefined,
        `"${name}" must be float32, int32 or bool`,
        `got ${tensor.dtype}`,
        'cast it with tf.cast',
      );
    }
    const values = (await tensor.data()) as Float32Array | Int32Array | Uint8Array;
    packed.push({ name, dtype, shape: [...tensor.shape], bytes: littleEndianBytes(values) });
  }
  return packed;
}

/**
 * Lays packed tensors out (widest dtype first, then by name, as the reference
 * implementation does, so every tensor is aligned to its element size) and
 * returns the header entries and the data section.
 */
function layout(packed: PackedTensor[]): { entries: SafetensorsEntry[]; data: Uint8Array } {
  const order = [...packed].sort(
    (a, b) =>
      DTYPE_BYTES[b.dtype] - DTYPE_BYTES[a.dtype] ||
      (a.name < b.name ? -1 : a.name > b.name ? 1 : 0),
  );
  const total = order.reduce((n, p) => n + p.bytes.length, 0);
  const data = new Uint8Array(total);
  const entries: SafetensorsEntry[] = [];
  let offset = 0;
  for (const p of order) {
    data.set(p.bytes, offset);
    entries.push({
      name: p.name,
      dtype: p.dtype,
      shape: p.shape,
      begin: offset,
      end: offset + p.bytes.length,
    });
    offset += p.bytes.length;
  }
  return { entries, data };
}

/** Header + data → the file's bytes (header padded with spaces to 8-byte alignment). */
function assemble(
  entries: SafetensorsEntry[],
  data: Uint8Array,
  metadata?: Record<string, string>,
): Uint8Array {
  const header: Record<string, unknown> = {};
  if (metadata !== undefined && Object.keys(metadata).length > 0) header.__metadata__ = metadata;
  for (const e of entries)
    header[e.name] = { dtype: e.dtype, shape: e.shape, data_offsets: [e.begin, e.end] };
  const json = new TextEncoder().encode(JSON.stringify(header));
  const padded = Math.ceil(json.length / 8) * 8;
  const out = new Uint8Array(8 + padded + data.length);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, padded, true); // header lengths above 4 GiB are not written
  dv.setUint32(4, 0, true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.length, 8 + padded);
  out.set(data, 8 + padded);
  return out;
}

function checkMetadata(where: string, metadata: unknown, source?: string): Record<string, string> {
  if (metadata === undefined) return {};
  if (metadata === null || typeof metadata !== 'object' || Array.isArray(metadata)) {
    fail(where, source, '__metadata__ must be an object of strings', `got ${preview(metadata)}`);
  }
  for (const [k, v] of Object.entries(metadata)) {
    if (typeof v !== 'string') {
      fail(
        where,
        source,
        '__metadata__ values must be strings',
        `got ${k}: ${preview(v)}`,
        'JSON.stringify non-string values',
      );
    }
  }
  return { ...(metadata as Record<string, string>) };
}

/**
 * Encodes tensors (and optional string metadata) as a safetensors file: the
 * format Hugging Face, PyTorch, JAX and candle all read. float32, int32 and
 * bool tensors round-trip bit-exactly, NaN payloads, −0 and subnormals included.
 *
 * @param tensors - name → tensor (float32, int32 or bool). Not disposed: the caller keeps them.
 * @param metadata - optional `__metadata__` (string values only), e.g. `{ format: 'pt' }`.
 * @returns the file's bytes, a new `Uint8Array` the caller owns.
 * @throws CheckpointError for a complex64/string tensor, a name `"__metadata__"`, non-string metadata.
 * @example
 * ```ts
 * const bytes = await encodeSafetensors({ 'dense.kernel': w, 'dense.bias': b }, { format: 'pt' });
 * ```
 */
export async function encodeSafetensors(
  tensors: Record<string, tf.Tensor>,
  metadata?: Record<string, string>,
): Promise<Uint8Array> {
  const where = 'encodeSafetensors';
  const meta = checkMetadata(where, metadata);
  const { entries, data } = layout(await packTensors(where, tensors));
  return assemble(entries, data, metadata === undefined ? undefined : meta);
}

/** @internal encode with the data section's bytes visible (checkpoints hash them). */
export async function encodeSafetensorsParts(
  where: string,
  tensors: Record<string, tf.Tensor>,
): Promise<{ entries: SafetensorsEntry[]; data: Uint8Array }> {
  return layout(await packTensors(where, tensors));
}

/** @internal */
export { assemble as assembleSafetensors };

// ---------------------------------------------------------------- decode

function readHeaderJson(
  where: string,
  bytes: Uint8Array,
  source?: string,
): { header: Record<string, unknown>; dataStart: number } {
  if (!(bytes instanceof Uint8Array)) {
    fail(
      where,
      source,
      'bytes must be a Uint8Array',
      `got ${Object.prototype.toString.call(bytes)}`,
      'wrap an ArrayBuffer with new Uint8Array(buffer)',
    );
  }
  if (bytes.length < 8) {
    fail(
      where,
      source,
      'at least 8 bytes (the header length)',
      `got ${bytes.length}: the file is truncated or empty`,
      'save it again',
    );
  }
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const low = dv.getUint32(0, true);
  const high = dv.getUint32(4, true);
  const n = high * 4294967296 + low;
  if (n > bytes.length - 8) {
    fail(
      where,
      source,
      `a ${n}-byte header after the 8-byte length`,
      `got only ${bytes.length - 8} bytes: the file is truncated or not safetensors`,
      'save it again',
    );
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + n));
  } catch {
    fail(
      where,
      source,
      'a UTF-8 JSON header',
      'got invalid UTF-8: the file is corrupt or not safetensors',
    );
  }
  let header: unknown;
  try {
    if (!text.startsWith('{')) throw new Error('no {');
    header = JSON.parse(text);
  } catch (error) {
    fail(
      where,
      source,
      'a JSON object header',
      `got unparsable JSON (${(error as Error).message}) starting ${preview(text.slice(0, 40))}`,
      'the file is corrupt or not safetensors; save it again',
    );
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header)) {
    fail(where, source, 'a JSON object header', `got ${preview(header, 40)}`);
  }
  return { header: header as Record<string, unknown>, dataStart: 8 + n };
}

function isIndex(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

function readEntry(
  where: string,
  name: string,
  raw: unknown,
  dataLength: number,
  source?: string,
): SafetensorsEntry {
  const info = raw as { dtype?: unknown; shape?: unknown; data_offsets?: unknown } | null;
  if (info === null || typeof info !== 'object' || Array.isArray(info)) {
    fail(where, source, `"${name}" must be {dtype, shape, data_offsets}`, `got ${preview(raw)}`);
  }
  const { dtype, shape, data_offsets: offsets } = info;
  if (typeof dtype !== 'string' || DTYPE_BYTES[dtype] === undefined) {
    fail(
      where,
      source,
      `"${name}" to have a safetensors dtype (F32, I32, BOOL, …)`,
      `got ${preview(dtype)}`,
      'the file is corrupt',
    );
  }
  if (TO_TFJS[dtype] === undefined) {
    fail(
      where,
      source,
      `"${name}" to have a dtype tfjs holds losslessly (F32, F16, BF16, I32, I16, I8, U16, U8, BOOL)`,
      `got ${dtype}`,
      'convert it before saving, e.g. tensor.float() or tensor.int() in PyTorch',
    );
  }
  if (!Array.isArray(shape) || !shape.every(isIndex)) {
    fail(
      where,
      source,
      `"${name}" to have a shape of non-negative integers`,
      `got ${preview(shape)}`,
    );
  }
  if (
    !Array.isArray(offsets) ||
    offsets.length !== 2 ||
    !offsets.every(isIndex) ||
    offsets[0] > offsets[1]
  ) {
    fail(
      where,
      source,
      `"${name}" to have data_offsets [begin, end] with 0 ≤ begin ≤ end`,
      `got ${preview(offsets)}`,
    );
  }
  const [begin, end] = offsets as [number, number];
  if (end > dataLength) {
    fail(
      where,
      source,
      `data_offsets of "${name}" within the ${dataLength}-byte data section`,
      `got [${begin}, ${end}]: the file is truncated or corrupt`,
      'save it again',
    );
  }
  const bytes = sizeOf(shape) * DTYPE_BYTES[dtype];
  if (end - begin !== bytes) {
    fail(
      where,
      source,
      `"${name}" (${dtype} ${formatShape(shape)}) to span ${bytes} bytes`,
      `got data_offsets [${begin}, ${end}] (${end - begin} bytes)`,
    );
  }
  return { name, dtype, shape: [...shape], begin, end };
}

/** The tensors must tile the data section exactly: sorted by offset, each starts where the last ended. */
function checkTiling(
  where: string,
  entries: SafetensorsEntry[],
  dataLength: number,
  source?: string,
): void {
  const sorted = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let expected = 0;
  let previous = '';
  for (const e of sorted) {
    if (e.begin < expected) {
      fail(
        where,
        source,
        'tensors not to overlap',
        `got "${e.name}" at [${e.begin}, ${e.end}] overlapping "${previous}" (ends at ${expected})`,
        'the file is corrupt',
      );
    }
    if (e.begin > expected) {
      fail(
        where,
        source,
        'tensors to tile the data section without holes',
        `got a hole at bytes [${expected}, ${e.begin}) before "${e.name}"`,
        'the file is corrupt',
      );
    }
    expected = e.end;
    previous = e.name;
  }
  if (expected !== dataLength) {
    fail(
      where,
      source,
      `the data section to be ${expected} bytes (the end of the last tensor)`,
      `got ${dataLength} bytes`,
      'the file is corrupt or has trailing bytes',
    );
  }
}

/** @internal validate a file completely without creating any tensor. */
export function parseSafetensors(
  where: string,
  bytes: Uint8Array,
  source?: string,
): ParsedSafetensors {
  const { header, dataStart } = readHeaderJson(where, bytes, source);
  const data = bytes.subarray(dataStart);
  const metadata = checkMetadata(where, header.__metadata__, source);
  const entries: SafetensorsEntry[] = [];
  for (const [name, raw] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    if (name === '__proto__') {
      // As a key of the returned record it would become its prototype.
      fail(
        where,
        source,
        'tensor names other than __proto__',
        `got a tensor named ${name}`,
        'rename the tensor when writing the file',
      );
    }
    entries.push(readEntry(where, name, raw, data.length, source));
  }
  checkTiling(where, entries, data.length, source);
  return { entries, metadata, data };
}

/** The tfjs dtype an entry becomes. */
export function tfjsDtypeOf(safetensorsDtype: string): tf.DataType {
  return TO_TFJS[safetensorsDtype];
}

function f16ToF32(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exponent = (h >> 10) & 0x1f;
  const mantissa = h & 0x3ff;
  if (exponent === 0) return sign * mantissa * 2 ** -24;
  if (exponent === 31) return mantissa ? Number.NaN : sign * Number.POSITIVE_INFINITY;
  return sign * (1 + mantissa / 1024) * 2 ** (exponent - 15);
}

function entryValues(
  entry: SafetensorsEntry,
  data: Uint8Array,
): Float32Array | Int32Array | Uint8Array {
  // A fresh, aligned copy. Not `data.slice`: on a Node Buffer that is a view into the
  // whole file, whose `.buffer` would then be read from its start.
  const raw = Uint8Array.prototype.slice.call(data, entry.begin, entry.end);
  const n = sizeOf(entry.shape);
  const dv = new DataView(raw.buffer);
  const le = isLittleEndian();
  switch (entry.dtype) {
    case 'F32':
      if (le) return new Float32Array(raw.buffer);
      return Float32Array.from({ length: n }, (_, i) => dv.getFloat32(4 * i, true));
    case 'I32':
      if (le) return new Int32Array(raw.buffer);
      return Int32Array.from({ length: n }, (_, i) => dv.getInt32(4 * i, true));
    case 'BOOL':
      return raw.map((v) => (v ? 1 : 0));
    case 'F16':
      return Float32Array.from({ length: n }, (_, i) => f16ToF32(dv.getUint16(2 * i, true)));
    case 'BF16': {
      const out = new Uint32Array(n);
      for (let i = 0; i < n; i++) out[i] = dv.getUint16(2 * i, true) << 16;
      return new Float32Array(out.buffer);
    }
    case 'I16':
      return Int32Array.from({ length: n }, (_, i) => dv.getInt16(2 * i, true));
    case 'U16':
      return Int32Array.from({ length: n }, (_, i) => dv.getUint16(2 * i, true));
    case 'I8':
      return Int32Array.from({ length: n }, (_, i) => dv.getInt8(i));
    default: // U8
      return Int32Array.from(raw);
  }
}

/** @internal make tensors for (a subset of) parsed entries; the caller owns them. */
export function tensorsFromParsed(parsed: ParsedSafetensors): Record<string, tf.Tensor> {
  const tensors: Record<string, tf.Tensor> = {};
  try {
    for (const entry of parsed.entries) {
      tensors[entry.name] = tf.tensor(
        entryValues(entry, parsed.data),
        entry.shape,
        TO_TFJS[entry.dtype],
      );
    }
  } catch (error) {
    tf.dispose(tensors); // all or nothing, even if the backend runs out of memory half-way
    throw error;
  }
  return tensors;
}

/** What {@link decodeSafetensors} returns. */
export interface DecodedSafetensors {
  /** name → tensor, new tensors the caller owns (dispose them). */
  tensors: Record<string, tf.Tensor>;
  /** The file's `__metadata__` (`{}` when absent). */
  metadata: Record<string, string>;
}

/**
 * Decodes a safetensors file. The whole file is validated before any tensor
 * is made, so a bad file never yields a partial result: truncated bytes, an
 * unparsable header, offsets out of range, overlapping or leaving holes, and
 * dtypes tfjs cannot hold losslessly (F64, I64, U32, U64, FP8) all throw a
 * `CheckpointError` saying which tensor and what is wrong.
 *
 * F32/I32/BOOL come back bit-exactly as float32/int32/bool; F16 and BF16 widen
 * exactly to float32; I8/U8/I16/U16 widen to int32.
 *
 * @param bytes - the file's bytes.
 * @param options.source - a name for the bytes (a path) used in error messages. Default: none.
 * @returns `{ tensors, metadata }`; the tensors are new and owned by the caller.
 * @example
 * ```ts
 * const { tensors, metadata } = decodeSafetensors(new Uint8Array(await file.arrayBuffer()));
 * model.setWeights(names.map((n) => tensors[n]));
 * ```
 */
export function decodeSafetensors(
  bytes: Uint8Array,
  options: { source?: string } = {},
): DecodedSafetensors {
  const parsed = parseSafetensors('decodeSafetensors', bytes, options.source);
  return { tensors: tensorsFromParsed(parsed), metadata: parsed.metadata };
}
