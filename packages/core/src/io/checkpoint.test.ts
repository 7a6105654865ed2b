import * as realFs from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { IDBFactory } from 'fake-indexeddb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CheckpointError, SculptError } from '../errors.js';
import { Rng } from '../random/rng.js';
import { expectNoLeak } from '../testing/index.js';
import {
  type Checkpoint,
  type CheckpointStore,
  checkpointFromBytes,
  checkpointToBytes,
  encodeCheckpoint,
  loadCheckpoint,
  saveCheckpoint,
} from './checkpoint.js';
import { indexedDbStore } from './indexeddb.js';
import { type NodeFs, saveDirectory } from './node-dir.js';
import { assembleSafetensors, encodeSafetensors, parseSafetensors } from './safetensors.js';

let root: string;
beforeAll(async () => {
  await tf.setBackend('cpu');
  root = await realFs.mkdtemp(join(tmpdir(), 'sculpt-checkpoint-'));
});
afterAll(async () => {
  await realFs.rm(root, { recursive: true, force: true });
});

const SPECIAL_BITS = [
  0x7fc00001, 0xffc12345, 0x80000000, 0x00000001, 0x807fffff, 0x7f800000, 0xff800000, 0x3eaaaaab,
];

function bitsOf(t: tf.Tensor): number[] {
  const v = t.dataSync() as Float32Array;
  return Array.from(new Uint32Array(v.buffer, v.byteOffset, v.length));
}

/** A small training state: weights with special floats, an int32 counter, a bool mask, Rng state. */
function makeCheckpoint(seed: number): Checkpoint {
  const rng = new Rng(seed);
  rng.normalArray(5);
  return {
    tensors: {
      'dense/kernel': rng.normal([3, 4]),
      'dense/bias': tf.tensor(new Float32Array(new Uint32Array(SPECIAL_BITS).buffer), [8]),
      'adam/step': tf.tensor([seed, -2147483648], [2], 'int32'),
      mask: tf.tensor([true, false, true], [3], 'bool'),
    },
    json: {
      config: { units: [3, 4], activation: 'relu' },
      step: 1200 + seed,
      lr: 1e-3,
      rng: rng.getState() as unknown as Record<string, number>,
      note: null,
      flags: [true, false],
    },
  };
}

function expectSame(a: Checkpoint, b: Checkpoint): void {
  expect(b.json).toEqual(a.json);
  expect(Object.keys(b.tensors).sort()).toEqual(Object.keys(a.tensors).sort());
  for (const [name, t] of Object.entries(a.tensors)) {
    const u = b.tensors[name];
    expect(u.dtype).toBe(t.dtype);
    expect(u.shape).toEqual(t.shape);
    if (t.dtype === 'float32') expect(bitsOf(u)).toEqual(bitsOf(t));
    else expect(Array.from(u.dataSync())).toEqual(Array.from(t.dataSync()));
  }
}

async function caught(promise: Promise<unknown> | (() => unknown)): Promise<Error> {
  try {
    await (typeof promise === 'function' ? promise() : promise);
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a throw');
}

describe('checkpointToBytes / checkpointFromBytes', () => {
  it('round-trips tensors bit-exactly and the JSON exactly; the Rng continues its stream', async () => {
    const a = makeCheckpoint(1);
    const b = checkpointFromBytes(await checkpointToBytes(a));
    expectSame(a, b);
    const state = (b.json as { rng: unknown }).rng as ReturnType<Rng['getState']>;
    const original = new Rng(1);
    original.normalArray(5);
    original.normal([3, 4]).dispose();
    expect(Rng.fromState(state).normalArray(4)).toEqual(original.normalArray(4));
    tf.dispose([a.tensors, b.tensors]);
  });

  it('is a standard safetensors file with the document in __metadata__', async () => {
    const a = makeCheckpoint(2);
    const bytes = await checkpointToBytes(a);
    const parsed = parseSafetensors('test', bytes);
    const doc = JSON.parse(parsed.metadata['sculpt.checkpoint']);
    expect(doc).toMatchObject({
      format: 'sculpt-checkpoint',
      formatVersion: 1,
      weights: { tensors: 4, dataBytes: 12 * 4 + 8 * 4 + 2 * 4 + 3 },
    });
    tf.dispose(a.tensors);
  });

  it('refuses truncated, bit-flipped, foreign and newer blobs', async () => {
    const a = makeCheckpoint(3);
    const bytes = await checkpointToBytes(a);
    const truncated = await caught(() => checkpointFromBytes(bytes.subarray(0, bytes.length - 10)));
    expect(truncated).toBeInstanceOf(CheckpointError);
    expect(truncated.message).toMatch(/^checkpointFromBytes: .*truncated/);

    const flipped = bytes.slice();
    flipped[flipped.length - 20] ^= 0x10;
    expect((await caught(() => checkpointFromBytes(flipped))).message).toMatch(/CRC-32 .*corrupt/);

    const plain = await encodeSafetensors(a.tensors);
    expect((await caught(() => checkpointFromBytes(plain))).message).toMatch(
      /no "sculpt.checkpoint" metadata.*Fix:/,
    );

    const parsed = parseSafetensors('test', bytes);
    const doc = JSON.parse(parsed.metadata['sculpt.checkpoint']);
    const newer = assembleSafetensors(parsed.entries, parsed.data, {
      'sculpt.checkpoint': JSON.stringify({ ...doc, formatVersion: 2 }),
    });
    const error = await caught(() => checkpointFromBytes(newer));
    expect(error).toBeInstanceOf(CheckpointError);
    expect(error.message).toMatch(/formatVersion ≤ 1.*got 2.*Fix: upgrade @sculpt\/core/);
    tf.dispose(a.tensors);
  });

  it('refuses a header edited in place: swapped names, a changed shape, edited JSON', async () => {
    const a = tf.tensor([1, 2, 3, 4], [4]);
    const b = tf.tensor([5, 6, 7, 8], [4]);
    const bytes = await checkpointToBytes({ tensors: { ab: a, ba: b }, json: { step: 10 } });
    const text = new TextDecoder('latin1').decode(bytes);
    const edit = (from: RegExp, to: (m: string) => string): Uint8Array => {
      const edited = text.replace(from, to);
      expect(edited).not.toBe(text);
      expect(edited.length).toBe(text.length); // same header size: only the checks can tell
      return Uint8Array.from(edited, (c) => c.charCodeAt(0));
    };
    const swapped = edit(/"(ab|ba)"/g, (m) => (m === '"ab"' ? '"ba"' : '"ab"'));
    const reshaped = edit(/"shape":\[4\]/, () => '"shape":[1]');
    const step = edit(/\\"step\\":10/, () => '\\"step\\":11');
    for (const blob of [swapped, reshaped, step])
      await expectNoLeak(() => {
        expect(() => checkpointFromBytes(blob)).toThrow(CheckpointError);
      });
    expect(() => checkpointFromBytes(swapped)).toThrow(/tensor table/);
    expect(() => checkpointFromBytes(step)).toThrow(/the JSON part/);
    tf.dispose([a, b]);
  });

  it('checks names, shapes and dtypes against expect before making any tensor', async () => {
    const a = makeCheckpoint(4);
    const bytes = await checkpointToBytes(a);
    const wrong = {
      'dense/kernel': { shape: [4, 3] },
      'dense/bias': { shape: [8], dtype: 'int32' as const },
      'adam/step': a.tensors['adam/step'],
      missing: { shape: [1] },
    };
    await expectNoLeak(async () => {
      const error = await caught(() => checkpointFromBytes(bytes, { expect: wrong }));
      expect(error).toBeInstanceOf(CheckpointError);
      expect(error.message).toContain('"dense/kernel" has shape [3, 4], expected [4, 3]');
      expect(error.message).toContain('"dense/bias" is float32, expected int32');
      expect(error.message).toContain('"missing" is missing');
      expect(error.message).toContain('"mask" is not expected');
      expect(error.message).toMatch(/Fix: /);
    });
    // The model's own tensors are a valid `expect`; allowExtra lets other tensors through.
    const { tensors } = checkpointFromBytes(bytes, {
      expect: { 'dense/kernel': a.tensors['dense/kernel'] },
      allowExtra: true,
    });
    expect(Object.keys(tensors)).toHaveLength(4);
    tf.dispose([a.tensors, tensors]);
  });

  it('refuses JSON that would not survive a round trip', async () => {
    for (const json of [
      { lr: Number.NaN },
      { a: [1, undefined] },
      { m: new Map() },
      { d: new Date(0) },
    ]) {
      const error = await caught(checkpointToBytes({ tensors: {}, json: json as never }));
      expect(error).toBeInstanceOf(SculptError);
      expect(error.message).toMatch(
        /checkpointToBytes: checkpoint.json must be plain JSON, got .* at json\./,
      );
    }
  });

  it('leaks nothing', async () => {
    const a = makeCheckpoint(5);
    await expectNoLeak(async () => checkpointFromBytes(await checkpointToBytes(a)).tensors);
    tf.dispose(a.tensors);
  });
});

describe('saveCheckpoint / loadCheckpoint on a directory', () => {
  const leftovers = async (dir: string) =>
    (await realFs.readdir(dir)).filter((n) => n.includes('.tmp-'));

  it('writes weights.safetensors + checkpoint.json, round-trips, overwrites, leaves nothing behind', async () => {
    const path = join(root, 'run1', 'checkpoint');
    const a = makeCheckpoint(6);
    await saveCheckpoint(path, a);
    expect((await realFs.readdir(path)).sort()).toEqual(['checkpoint.json', 'weights.safetensors']);
    const doc = JSON.parse(await realFs.readFile(join(path, 'checkpoint.json'), 'utf8'));
    expect(doc.formatVersion).toBe(1);
    expect(doc.json).toEqual(a.json);
    const loaded = await loadCheckpoint(path, { expect: a.tensors });
    expectSame(a, loaded);

    const b = makeCheckpoint(7);
    await saveCheckpoint(`${path}/`, b);
    const reloaded = await loadCheckpoint(path);
    expectSame(b, reloaded);
    expect(await leftovers(join(root, 'run1'))).toEqual([]);
    tf.dispose([a.tensors, b.tensors, loaded.tensors, reloaded.tensors]);
  });

  it('leaks nothing', async () => {
    const path = join(root, 'leak');
    const a = makeCheckpoint(8);
    await expectNoLeak(async () => {
      await saveCheckpoint(path, a);
      return (await loadCheckpoint(path)).tensors;
    });
    tf.dispose(a.tensors);
  });

  it('keeps the previous checkpoint when a tensor cannot be read', async () => {
    const path = join(root, 'disposed');
    const a = makeCheckpoint(9);
    await saveCheckpoint(path, a);
    const b = makeCheckpoint(10);
    b.tensors['dense/kernel'].dispose();
    await expect(saveCheckpoint(path, b)).rejects.toThrow(/disposed/);
    const loaded = await loadCheckpoint(path);
    expectSame(a, loaded);
    expect(await leftovers(root)).toEqual([]);
    tf.dispose([a.tensors, b.tensors, loaded.tensors]);
  });

  it('keeps the previous checkpoint when a write fails half-way', async () => {
    const path = join(root, 'halfway');
    const a = makeCheckpoint(11);
    await saveCheckpoint(path, a);
    // The second file written (checkpoint.json) fails after the weights are on disk.
    let opened = 0;
    const fs = {
      ...realFs,
      open: async (...args: Parameters<NodeFs['open']>) => {
        const handle = await realFs.open(...args);
        if (args[1] === 'w' && ++opened === 2) {
          return Object.assign(Object.create(handle), {
            writeFile: async () => {
              throw Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' });
            },
            close: () => handle.close(),
          });
        }
        return handle;
      },
    } as NodeFs;
    const b = makeCheckpoint(12);
    const { bytes, document } = await encodeCheckpoint('saveCheckpoint', b);
    const error = await caught(saveDirectory('saveCheckpoint', fs, path, bytes, document));
    expect(error).toBeInstanceOf(CheckpointError);
    expect(error.message).toMatch(
      /^saveCheckpoint: to write the checkpoint .*halfway, got ENOSPC.*Fix: .*previous checkpoint there is untouched/,
    );
    expect(await leftovers(root)).toEqual([]);
    const loaded = await loadCheckpoint(path);
    expectSame(a, loaded);
    tf.dispose([a.tensors, b.tensors, loaded.tensors]);
  });

  it('recovers the previous checkpoint after a crash between the two renames of the swap', async () => {
    const parent = join(root, 'crash');
    const path = join(parent, 'checkpoint');
    const a = makeCheckpoint(13);
    await saveCheckpoint(path, a);
    // Every rename after the first fails, as if the process died right after moving the old one aside.
    let renames = 0;
    const fs = {
      ...realFs,
      rename: async (from: string, to: string) => {
        if (++renames > 1) throw new Error('killed');
        return realFs.rename(from, to);
      },
    } as NodeFs;
    const b = makeCheckpoint(14);
    const { bytes, document } = await encodeCheckpoint('saveCheckpoint', b);
    await expect(saveDirectory('saveCheckpoint', fs, path, bytes, document)).rejects.toThrow(
      CheckpointError,
    );
    await expect(realFs.stat(path)).rejects.toThrow(/ENOENT/);
    const recovered = await loadCheckpoint(path);
    expectSame(a, recovered);
    // The next save succeeds and clears the debris.
    await saveCheckpoint(path, b);
    const loaded = await loadCheckpoint(path);
    expectSame(b, loaded);
    expect(await leftovers(parent)).toEqual([]);
    tf.dispose([a.tensors, b.tensors, recovered.tensors, loaded.tensors]);
  });

  it('puts the previous checkpoint back when the second rename of the swap fails', async () => {
    const parent = join(root, 'swapfail');
    const path = join(parent, 'checkpoint');
    const a = makeCheckpoint(21);
    await saveCheckpoint(path, a);
    let renames = 0;
    const fs = {
      ...realFs,
      rename: async (from: string, to: string) => {
        if (++renames === 2)
          throw Object.assign(new Error('EXDEV: cross-device link'), { code: 'EXDEV' });
        return realFs.rename(from, to);
      },
    } as NodeFs;
    const b = makeCheckpoint(22);
    const { bytes, document } = await encodeCheckpoint('saveCheckpoint', b);
    const error = await caught(saveDirectory('saveCheckpoint', fs, path, bytes, document));
    expect(error.message).toMatch(/^saveCheckpoint: to write the checkpoint .*got EXDEV/);
    expect(renames).toBe(3);
    expect((await realFs.readdir(parent)).sort()).toEqual(['checkpoint']);
    const loaded = await loadCheckpoint(path);
    expectSame(a, loaded);
    tf.dispose([a.tensors, b.tensors, loaded.tensors]);
  });

  it('never replaces a file or a directory holding other files', async () => {
    const a = makeCheckpoint(15);
    const file = join(root, 'a-file');
    await realFs.writeFile(file, 'keep me');
    expect((await caught(saveCheckpoint(file, a))).message).toMatch(
      /to be a checkpoint directory, got a file/,
    );
    const busy = join(root, 'busy');
    await realFs.mkdir(busy);
    await realFs.writeFile(join(busy, 'notes.txt'), 'keep me');
    expect((await caught(saveCheckpoint(busy, a))).message).toMatch(
      /only checkpoint.json and weights.safetensors, got notes.txt/,
    );
    expect(await realFs.readFile(file, 'utf8')).toBe('keep me');
    expect(await realFs.readdir(busy)).toEqual(['notes.txt']);
    tf.dispose(a.tensors);
  });

  it('refuses missing, truncated, corrupt and mismatched files, naming the file', async () => {
    const path = join(root, 'damaged');
    const other = join(root, 'other');
    const a = makeCheckpoint(16);
    await saveCheckpoint(path, a);
    await saveCheckpoint(other, makeCheckpoint(17)).then(() => undefined);
    const weights = join(path, 'weights.safetensors');
    const good = await realFs.readFile(weights);

    await realFs.writeFile(weights, good.subarray(0, good.length - 7));
    let error = await caught(loadCheckpoint(path));
    expect(error).toBeInstanceOf(CheckpointError);
    expect(error.message).toContain(weights);
    expect(error.message).toMatch(/truncated/);

    await realFs.copyFile(join(other, 'weights.safetensors'), weights);
    expect((await caught(loadCheckpoint(path))).message).toMatch(
      /CRC-32 .*weights.safetensors.*another checkpoint/,
    );

    await realFs.writeFile(weights, good);
    await realFs.writeFile(join(path, 'checkpoint.json'), '{"format":"sculpt-checkpoint",');
    error = await caught(loadCheckpoint(path));
    expect(error.message).toMatch(/checkpoint\.json, got unparsable JSON.*Fix:/);

    await realFs.rm(weights);
    expect((await caught(loadCheckpoint(path))).message).toMatch(
      /weights.safetensors, got no such file/,
    );
    expect((await caught(loadCheckpoint(join(root, 'nothing-here')))).message).toMatch(
      /got nothing there/,
    );

    const { tensors } = await loadCheckpoint(other, { expect: a.tensors }); // same names and shapes: fine
    tf.dispose([a.tensors, tensors]);
    const otherCheckpoint = await loadCheckpoint(other);
    tf.dispose(otherCheckpoint.tensors);
  });
});

describe('saveCheckpoint / loadCheckpoint on a store', () => {
  it('round-trips through IndexedDB (fake-indexeddb) and overwrites atomically', async () => {
    const indexedDB = new IDBFactory();
    const store = indexedDbStore('mnist', { indexedDB });
    expect(store.description).toBe('IndexedDB sculpt/checkpoints/mnist');
    expect((await caught(loadCheckpoint(store))).message).toMatch(
      /^loadCheckpoint: a checkpoint in IndexedDB sculpt\/checkpoints\/mnist, got none/,
    );
    const a = makeCheckpoint(18);
    const b = makeCheckpoint(19);
    await saveCheckpoint(store, a);
    await saveCheckpoint(indexedDbStore('other', { indexedDB }), b);
    const loaded = await loadCheckpoint(store, { expect: a.tensors });
    expectSame(a, loaded);
    await saveCheckpoint(store, b);
    const reloaded = await loadCheckpoint(indexedDbStore('mnist', { indexedDB }));
    expectSame(b, reloaded);
    await expectNoLeak(async () => (await loadCheckpoint(store)).tensors);
    tf.dispose([a.tensors, b.tensors, loaded.tensors, reloaded.tensors]);
  });

  it('wraps a failing store in a CheckpointError', async () => {
    const store: CheckpointStore = {
      description: 'a broken store',
      write: async () => {
        throw new Error('QuotaExceededError');
      },
      read: async () => new Uint8Array([1, 2, 3]),
    };
    const a = makeCheckpoint(20);
    expect((await caught(saveCheckpoint(store, a))).message).toMatch(
      /^saveCheckpoint: to write a broken store, got QuotaExceededError/,
    );
    expect((await caught(loadCheckpoint(store))).message).toMatch(
      /^loadCheckpoint: at least 8 bytes .*in a broken store/,
    );
    const unreadable: CheckpointStore = {
      ...store,
      read: async () => {
        throw new Error('InvalidStateError');
      },
    };
    expect((await caught(loadCheckpoint(unreadable))).message).toMatch(
      /^loadCheckpoint: to read a broken store, got InvalidStateError/,
    );
    tf.dispose(a.tensors);
  });
});
