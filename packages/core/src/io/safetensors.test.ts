import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { CheckpointError } from '../errors.js';
import { expectNoLeak } from '../testing/index.js';
import { crc32 } from './crc32.js';
import { decodeSafetensors, encodeSafetensors } from './safetensors.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const ascii = (s: string) => new TextEncoder().encode(s);

/** Builds a file from a header string (padded to 8) and raw data bytes. */
function file(header: string, data: number[] | Uint8Array = []): Uint8Array {
  const json = ascii(header);
  const padded = Math.ceil(json.length / 8) * 8;
  const out = new Uint8Array(8 + padded + data.length).fill(0x20);
  new DataView(out.buffer).setUint32(0, padded, true);
  out.fill(0, 4, 8);
  out.set(json, 8);
  out.set(data, 8 + padded);
  return out;
}

// Written by hand from the spec: 8-byte LE length 200 (0xc8), 197 bytes of JSON + 3 spaces,
// then a = F32 [1, -2.5], b = I32 [[-1, 7]], c = BOOL [true, false].
const FIXTURE_HEADER =
  '{"__metadata__":{"format":"pt"},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},' +
  '"b":{"dtype":"I32","shape":[1,2],"data_offsets":[8,16]},"c":{"dtype":"BOOL","shape":[2],"data_offsets":[16,18]}}';
const FIXTURE = new Uint8Array([
  0xc8,
  0,
  0,
  0,
  0,
  0,
  0,
  0,
  ...ascii(FIXTURE_HEADER),
  0x20,
  0x20,
  0x20,
  0x00,
  0x00,
  0x80,
  0x3f,
  0x00,
  0x00,
  0x20,
  0xc0, // 1.0, -2.5
  0xff,
  0xff,
  0xff,
  0xff,
  0x07,
  0x00,
  0x00,
  0x00, // -1, 7
  0x01,
  0x00, // true, false
]);

function bits(t: tf.Tensor): number[] {
  const v = t.dataSync() as Float32Array;
  return Array.from(new Uint32Array(v.buffer, v.byteOffset, v.length));
}

function expectCheckpointError(fn: () => unknown, pattern: RegExp): void {
  let caught: unknown;
  try {
    fn();
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(CheckpointError);
  expect((caught as Error).message).toMatch(/^decodeSafetensors: /);
  expect((caught as Error).message).toMatch(pattern);
}

describe('crc32', () => {
  it('matches the standard check value', () => {
    expect(crc32(ascii('123456789'))).toBe(0xcbf43926);
    expect(crc32(new Uint8Array(0))).toBe(0);
  });
});

describe('safetensors fixture', () => {
  it('decodes the hand-written file', () => {
    expect(FIXTURE.length).toBe(8 + 200 + 18);
    const { tensors, metadata } = decodeSafetensors(FIXTURE);
    expect(metadata).toEqual({ format: 'pt' });
    expect(tensors.a.dtype).toBe('float32');
    expect(tensors.a.shape).toEqual([2]);
    expect(Array.from(tensors.a.dataSync())).toEqual([1, -2.5]);
    expect(tensors.b.dtype).toBe('int32');
    expect(tensors.b.shape).toEqual([1, 2]);
    expect(Array.from(tensors.b.dataSync())).toEqual([-1, 7]);
    expect(tensors.c.dtype).toBe('bool');
    expect(Array.from(tensors.c.dataSync())).toEqual([1, 0]);
    tf.dispose(tensors);
  });

  it('encodes to exactly the hand-written bytes', async () => {
    const a = tf.tensor1d([1, -2.5]);
    const b = tf.tensor2d([[-1, 7]], [1, 2], 'int32');
    const c = tf.tensor1d([true, false], 'bool');
    const bytes = await encodeSafetensors({ c, b, a }, { format: 'pt' });
    expect(Array.from(bytes)).toEqual(Array.from(FIXTURE));
    tf.dispose([a, b, c]);
  });

  it('reads F16, BF16, I8, U8, I16 and U16 by widening exactly, from bytes, fs.readFileSync and a pooled Buffer', () => {
    const header =
      '{"h":{"dtype":"F16","shape":[5],"data_offsets":[0,10]},"bf":{"dtype":"BF16","shape":[2],"data_offsets":[10,14]},' +
      '"i8":{"dtype":"I8","shape":[2],"data_offsets":[14,16]},"u8":{"dtype":"U8","shape":[2],"data_offsets":[16,18]},' +
      '"i16":{"dtype":"I16","shape":[1],"data_offsets":[18,20]},"u16":{"dtype":"U16","shape":[1],"data_offsets":[20,22]}}';
    const data = [
      0x00,
      0x3c,
      0x00,
      0xc0,
      0x01,
      0x00,
      0x00,
      0x7c,
      0xff,
      0x7b, // f16: 1, -2, 2^-24, inf, 65504
      0x80,
      0x3f,
      0x49,
      0x40, // bf16: 1, 3.140625
      0xff,
      0x80, // i8: -1, -128
      0xff,
      0x80, // u8: 255, 128
      0x00,
      0x80, // i16: -32768
      0xff,
      0xff, // u16: 65535
    ];
    // As bytes, as fs.readFileSync returns them, and as a small Buffer (a view into Node's pool).
    const bytes = file(header, data);
    const path = join(mkdtempSync(join(tmpdir(), 'sculpt-st-')), 'widen.safetensors');
    writeFileSync(path, bytes);
    const pooled = Buffer.from(bytes);
    expect(pooled.byteOffset).toBeGreaterThan(0);
    for (const input of [bytes, readFileSync(path), pooled]) {
      const { tensors } = decodeSafetensors(input);
      expect(Array.from(tensors.h.dataSync())).toEqual([
        1,
        -2,
        2 ** -24,
        Number.POSITIVE_INFINITY,
        65504,
      ]);
      expect(Array.from(tensors.bf.dataSync())).toEqual([1, 3.140625]);
      expect(tensors.i8.dtype).toBe('int32');
      expect(Array.from(tensors.i8.dataSync())).toEqual([-1, -128]);
      expect(Array.from(tensors.u8.dataSync())).toEqual([255, 128]);
      expect(Array.from(tensors.i16.dataSync())).toEqual([-32768]);
      expect(Array.from(tensors.u16.dataSync())).toEqual([65535]);
      tf.dispose(tensors);
    }
    rmSync(dirname(path), { recursive: true });
  });
});

describe('hostile headers', () => {
  it('refuses a tensor named __proto__ (it would become the prototype) without leaking', async () => {
    const bytes = file(
      '{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"__proto__":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}',
      new Uint8Array(8),
    );
    await expectNoLeak(() => {
      expect(() => decodeSafetensors(bytes)).toThrow(CheckpointError);
      expect(() => decodeSafetensors(bytes)).toThrow(/tensor names other than __proto__/);
    });
  });

  it('describes a header nested too deep for JSON.stringify in a short CheckpointError', () => {
    const depth = 200_000;
    const deep = `{"x":${'['.repeat(depth)}${']'.repeat(depth)}}`;
    let error: unknown;
    try {
      decodeSafetensors(file(deep));
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(CheckpointError);
    expect((error as Error).message.length).toBeLessThan(500);
  });
});

describe('safetensors round trip', () => {
  it('decodes a Node Buffer (whose slice is a view) and a view at an odd offset', async () => {
    const a = tf.tensor([1, 2, 3], [3]);
    const b = tf.tensor(
      [
        [4, 5],
        [6, 7],
      ],
      [2, 2],
    );
    const bytes = await encodeSafetensors({ a, b });
    const padded = new Uint8Array(bytes.length + 3);
    padded.set(bytes, 3);
    for (const input of [Buffer.from(bytes), padded.subarray(3), Buffer.from(padded).subarray(3)]) {
      const { tensors } = decodeSafetensors(input);
      expect(Array.from(tensors.a.dataSync())).toEqual([1, 2, 3]);
      expect(Array.from(tensors.b.dataSync())).toEqual([4, 5, 6, 7]);
      tf.dispose(Object.values(tensors));
    }
    tf.dispose([a, b]);
  });

  it('is bit-exact for float32 (NaN payloads, -0, subnormals, inf), int32 and bool, any rank', async () => {
    const floatBits = [
      0x7fc00001, 0xffc12345, 0x7f800001, 0x80000000, 0x00000001, 0x807fffff, 0x7f800000,
      0xff800000, 0x7f7fffff, 0x3f800000,
    ];
    const x = tf.tensor(new Float32Array(new Uint32Array(floatBits).buffer), [2, 5]);
    const i = tf.tensor([-2147483648, 2147483647, 0, -1], [2, 1, 2], 'int32');
    const b = tf.tensor([true, false, true], [3], 'bool');
    const scalar = tf.scalar(0.1);
    const empty = tf.zeros([0, 3]);
    const bytes = await encodeSafetensors({ x, i, b, scalar, empty });
    const { tensors, metadata } = decodeSafetensors(bytes);
    expect(metadata).toEqual({});
    expect(bits(tensors.x)).toEqual(floatBits);
    expect(tensors.x.shape).toEqual([2, 5]);
    expect(Array.from(tensors.i.dataSync())).toEqual([-2147483648, 2147483647, 0, -1]);
    expect(tensors.i.shape).toEqual([2, 1, 2]);
    expect(Array.from(tensors.b.dataSync())).toEqual([1, 0, 1]);
    expect(tensors.scalar.shape).toEqual([]);
    expect(bits(tensors.scalar)).toEqual(bits(scalar));
    expect(tensors.empty.shape).toEqual([0, 3]);
    // The header is space-padded so the data starts 8-byte aligned.
    expect(Number(new DataView(bytes.buffer).getBigUint64(0, true)) % 8).toBe(0);
    tf.dispose([x, i, b, scalar, empty]);
    tf.dispose(tensors);
  });

  it('decodes from an unaligned view', async () => {
    const x = tf.tensor1d([1, 2, 3]);
    const bytes = await encodeSafetensors({ x });
    const shifted = new Uint8Array(bytes.length + 1);
    shifted.set(bytes, 1);
    const { tensors } = decodeSafetensors(shifted.subarray(1));
    expect(Array.from(tensors.x.dataSync())).toEqual([1, 2, 3]);
    tf.dispose([x, tensors.x]);
  });

  it('leaks nothing, and a failed decode creates no tensor', async () => {
    const x = tf.ones([4, 4]);
    await expectNoLeak(async () => decodeSafetensors(await encodeSafetensors({ x })).tensors);
    await expectNoLeak(() => {
      expect(() =>
        decodeSafetensors(
          file(
            '{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F64","shape":[1],"data_offsets":[4,12]}}',
            new Uint8Array(12),
          ),
        ),
      ).toThrow(CheckpointError);
    });
    x.dispose();
  });
});

describe('safetensors validation', () => {
  const entry = (dtype: string, shape: number[], a: number, b: number) =>
    `{"dtype":"${dtype}","shape":${JSON.stringify(shape)},"data_offsets":[${a},${b}]}`;

  it('rejects truncated bytes', () => {
    expectCheckpointError(() => decodeSafetensors(new Uint8Array(5)), /at least 8 bytes.*got 5/);
    expectCheckpointError(
      () => decodeSafetensors(FIXTURE.subarray(0, 100)),
      /200-byte header.*truncated/,
    );
    expectCheckpointError(
      () => decodeSafetensors(FIXTURE.subarray(0, FIXTURE.length - 1)),
      /within the 17-byte data section.*truncated/,
    );
  });

  it('rejects a bad header', () => {
    expectCheckpointError(
      () => decodeSafetensors(file('{"a": [1,')),
      /JSON object header.*unparsable/,
    );
    expectCheckpointError(() => decodeSafetensors(file('[1, 2]')), /JSON object header/);
    expectCheckpointError(
      () => decodeSafetensors(file('{"a": 3}')),
      /"a" must be \{dtype, shape, data_offsets\}/,
    );
    expectCheckpointError(
      () => decodeSafetensors(file('{"__metadata__":{"n":1}}')),
      /__metadata__ values must be strings/,
    );
    expectCheckpointError(
      () => decodeSafetensors(file(`{"a":${entry('F32', [-1], 0, 4)}}`, new Uint8Array(4))),
      /shape of non-negative integers/,
    );
  });

  it('rejects offsets out of range, overlapping, with holes or not matching the shape', () => {
    const four = new Uint8Array(8);
    expectCheckpointError(
      () => decodeSafetensors(file(`{"a":${entry('F32', [1], 4, 12)}}`, four)),
      /within the 8-byte data section.*\[4, 12\]/,
    );
    expectCheckpointError(
      () => decodeSafetensors(file(`{"a":${entry('F32', [1], 4, 0)}}`, four)),
      /0 ≤ begin ≤ end/,
    );
    expectCheckpointError(
      () =>
        decodeSafetensors(
          file(`{"a":${entry('F32', [2], 0, 8)},"b":${entry('F32', [1], 4, 8)}}`, four),
        ),
      /not to overlap.*"b" at \[4, 8\] overlapping "a"/,
    );
    expectCheckpointError(
      () => decodeSafetensors(file(`{"a":${entry('F32', [1], 4, 8)}}`, four)),
      /without holes.*\[0, 4\)/,
    );
    expectCheckpointError(
      () => decodeSafetensors(file(`{"a":${entry('F32', [1], 0, 4)}}`, four)),
      /trailing bytes/,
    );
    expectCheckpointError(
      () => decodeSafetensors(file(`{"a":${entry('F32', [3], 0, 8)}}`, four)),
      /span 12 bytes/,
    );
  });

  it('rejects dtypes tfjs cannot hold', () => {
    expectCheckpointError(
      () => decodeSafetensors(file(`{"a":${entry('F64', [1], 0, 8)}}`, new Uint8Array(8))),
      /losslessly.*got F64.*Fix: convert/,
    );
    expectCheckpointError(
      () => decodeSafetensors(file(`{"a":${entry('I64', [1], 0, 8)}}`, new Uint8Array(8))),
      /got I64/,
    );
    expectCheckpointError(
      () => decodeSafetensors(file(`{"a":${entry('Q4', [1], 0, 1)}}`, new Uint8Array(1))),
      /safetensors dtype.*got "Q4"/,
    );
  });

  it('names the source in errors', () => {
    expect(() => decodeSafetensors(new Uint8Array(3), { source: '/tmp/w.safetensors' })).toThrow(
      /in \/tmp\/w\.safetensors/,
    );
  });

  it('refuses to encode what it cannot write', async () => {
    const c = tf.complex([1], [2]);
    await expect(encodeSafetensors({ c })).rejects.toThrow(
      /encodeSafetensors: "c" must be float32, int32 or bool, got complex64/,
    );
    const x = tf.scalar(1);
    await expect(encodeSafetensors({ __metadata__: x })).rejects.toThrow(CheckpointError);
    await expect(encodeSafetensors({ x }, { n: 1 as unknown as string })).rejects.toThrow(
      /values must be strings/,
    );
    tf.dispose([c, x]);
  });
});
