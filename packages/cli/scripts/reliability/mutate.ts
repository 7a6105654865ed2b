// Mutations of a safetensors blob (a sculpt checkpoint is one): byte flips,
// truncations in every region, and edits of the header JSON (dtypes, offsets,
// shapes, duplicate and prototype keys, deep nesting, huge lengths, the
// embedded checkpoint document). Every mutation is drawn from a seeded Rng, so
// a (seed, index) pair reproduces an input.
import type { Rng } from '@sculpt/core';

/** A mutated input and the name of the mutation that made it. */
export interface Mutant {
  kind: string;
  bytes: Uint8Array;
}

type Header = Record<string, unknown>;

const DTYPES = [
  'F32',
  'F16',
  'BF16',
  'F64',
  'I8',
  'U8',
  'I16',
  'U16',
  'I32',
  'I64',
  'U32',
  'BOOL',
  'F8_E4M3',
  'X',
  '',
];
const ODD_NUMBERS = [-1, 0.5, 2 ** 31, 2 ** 32 + 4, 2 ** 53, Number.MAX_SAFE_INTEGER + 2, 1e308];
const PROTO_KEYS = ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'prototype'];

/** An integer in `[low, high)`. */
function int(rng: Rng, low: number, high: number): number {
  return high <= low ? low : rng.integers(1, low, high)[0];
}

function pick<T>(rng: Rng, items: readonly T[]): T {
  return items[int(rng, 0, items.length)];
}

/** The header length, its JSON and the data section of a well-formed blob. */
export function splitBlob(bytes: Uint8Array): {
  header: Header;
  data: Uint8Array;
  headerEnd: number;
} {
  const length = Number(new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true));
  const text = new TextDecoder().decode(bytes.subarray(8, 8 + length));
  return {
    header: JSON.parse(text) as Header,
    data: bytes.subarray(8 + length),
    headerEnd: 8 + length,
  };
}

/** A blob from header text and data, with a correct length prefix unless `length` is given. */
export function joinBlob(headerText: string, data: Uint8Array, length?: bigint): Uint8Array {
  const h = new TextEncoder().encode(headerText);
  const out = new Uint8Array(8 + h.length + data.length);
  new DataView(out.buffer).setBigUint64(0, length ?? BigInt(h.length), true);
  out.set(h, 8);
  out.set(data, 8 + h.length);
  return out;
}

function tensorNames(header: Header): string[] {
  return Object.keys(header).filter((k) => k !== '__metadata__');
}

type Entry = { dtype: unknown; shape: unknown; data_offsets: unknown };

function flipBytes(rng: Rng, base: Uint8Array, headerEnd: number): Mutant {
  const out = base.slice();
  // Aim at each region about equally: the length prefix, the header, the data.
  const region = int(rng, 0, 3);
  const [lo, hi] = region === 0 ? [0, 8] : region === 1 ? [8, headerEnd] : [headerEnd, base.length];
  const flips = int(rng, 1, 9);
  for (let i = 0; i < flips; i++) out[int(rng, lo, Math.max(lo + 1, hi))] ^= int(rng, 1, 256);
  return { kind: `flip:${['length', 'header', 'data'][region]}`, bytes: out };
}

function truncate(rng: Rng, base: Uint8Array, headerEnd: number): Mutant {
  const region = int(rng, 0, 4);
  const cut =
    region === 0
      ? int(rng, 0, 9)
      : region === 1
        ? int(rng, 9, headerEnd)
        : region === 2
          ? headerEnd
          : int(rng, headerEnd + 1, base.length);
  return {
    kind: `truncate:${['length', 'header', 'at-data', 'data'][region]}`,
    bytes: base.slice(0, cut),
  };
}

/** Edits of one tensor entry. */
function editEntry(rng: Rng, header: Header): string {
  const names = tensorNames(header);
  const name = pick(rng, names);
  const e = header[name] as Entry;
  const [begin, end] = e.data_offsets as [number, number];
  const shape = e.shape as number[];
  switch (int(rng, 0, 9)) {
    case 0:
      e.dtype = pick(rng, DTYPES);
      return 'dtype';
    case 1:
      e.data_offsets = [begin + int(rng, -8, 9), end + int(rng, -8, 9)];
      return 'offsets-shift';
    case 2:
      e.data_offsets = [pick(rng, ODD_NUMBERS), pick(rng, [end, ...ODD_NUMBERS])];
      return 'offsets-odd';
    case 3: {
      const other = header[pick(rng, names)] as Entry;
      [e.data_offsets, other.data_offsets] = [other.data_offsets, e.data_offsets];
      return 'offsets-swap';
    }
    case 4:
      e.shape = shape.length > 1 ? [shape[1], shape[0], ...shape.slice(2)] : [1, ...shape];
      return 'shape-same-size';
    case 5:
      e.shape = shape.map((d) =>
        int(rng, 0, 2) ? d : pick(rng, [d + 1, -d, 0, 0.5, ...ODD_NUMBERS]),
      );
      return 'shape-odd';
    case 6:
      e.shape = pick(rng, ['3', null, {}, [[1]], ['1'], [true]] as unknown[]);
      return 'shape-type';
    case 7: {
      const other = pick(rng, names);
      [header[name], header[other]] = [header[other], header[name]];
      return 'name-swap';
    }
    default:
      delete header[name];
      return 'remove';
  }
}

/** Edits of the embedded checkpoint document (`__metadata__["sculpt.checkpoint"]`). */
function editDocument(rng: Rng, header: Header): string {
  const meta = header.__metadata__ as Record<string, string> | undefined;
  if (!meta?.['sculpt.checkpoint']) {
    header.__metadata__ = pick(rng, [
      { a: 1 },
      [],
      'x',
      null,
      { 'sculpt.checkpoint': '{' },
    ] as unknown[]);
    return 'metadata-type';
  }
  const text = meta['sculpt.checkpoint'];
  const numbers = [...text.matchAll(/-?\d+(\.\d+)?(e-?\d+)?/g)];
  if (numbers.length && int(rng, 0, 3)) {
    const m = pick(rng, numbers);
    const i = m.index ?? 0;
    const value = pick(rng, [
      '0',
      '1',
      '-1',
      '1e400',
      '9007199254740993',
      String(Number(m[0]) + 1),
    ]);
    meta['sculpt.checkpoint'] = text.slice(0, i) + value + text.slice(i + m[0].length);
    return 'document-number';
  }
  const at = int(rng, 0, text.length);
  meta['sculpt.checkpoint'] =
    text.slice(0, at) + pick(rng, ['"', '{', '}', ',', 'null', '[]']) + text.slice(at + 1);
  return 'document-text';
}

/** Edits of the header's text itself (what a JSON object cannot express). */
function editHeaderText(rng: Rng, header: Header, data: Uint8Array): Mutant {
  const text = JSON.stringify(header);
  const names = tensorNames(header);
  const name = pick(rng, names);
  const entry = JSON.stringify(header[name]);
  switch (int(rng, 0, 6)) {
    case 0: // a duplicate key: JSON.parse keeps the last one
      return {
        kind: 'duplicate-key',
        bytes: joinBlob(`{"${name}":${entry},${text.slice(1)}`, data),
      };
    case 1: {
      const key = pick(rng, PROTO_KEYS);
      return {
        kind: `prototype-key:${key}`,
        bytes: joinBlob(`{"${key}":${entry},${text.slice(1)}`, data),
      };
    }
    case 2: {
      const depth = pick(rng, [100, 1_000, 10_000, 100_000]);
      const nested = `${'['.repeat(depth)}1${']'.repeat(depth)}`;
      return {
        kind: `nesting:${depth}`,
        bytes: joinBlob(text.replace(`"shape":`, `"shape":${nested},"x":`), data),
      };
    }
    case 3: {
      const length = pick(rng, [
        2n ** 40n,
        2n ** 63n,
        2n ** 64n - 1n,
        BigInt(text.length + 1),
        BigInt(text.length - 1),
        0n,
      ]);
      return { kind: 'huge-length', bytes: joinBlob(text, data, length) };
    }
    case 4:
      return {
        kind: 'not-json',
        bytes: joinBlob(
          text.slice(0, int(rng, 0, text.length)) + pick(rng, ['', '}', ']', '\u0000', 'NaN']),
          data,
        ),
      };
    default: {
      const big = pick(rng, [1e5, 1e6]);
      return {
        kind: 'huge-name',
        bytes: joinBlob(text.replace(`"${name}"`, `"${name}${'x'.repeat(big)}"`), data),
      };
    }
  }
}

/**
 * One mutated input from `base` (a well-formed safetensors blob).
 *
 * @example
 * ```ts
 * const { kind, bytes } = mutate(base, new Rng(7));
 * ```
 */
export function mutate(base: Uint8Array, rng: Rng): Mutant {
  const { header, data, headerEnd } = splitBlob(base);
  const family = int(rng, 0, 10);
  if (family < 3) return flipBytes(rng, base, headerEnd);
  if (family < 5) return truncate(rng, base, headerEnd);
  if (family < 6) return editHeaderText(rng, header, data);
  if (family < 8) {
    const kind = editEntry(rng, header);
    return { kind: `entry:${kind}`, bytes: joinBlob(JSON.stringify(header), data) };
  }
  const kind = editDocument(rng, header);
  return { kind, bytes: joinBlob(JSON.stringify(header), data) };
}
