// A CheckpointStore on the standard IndexedDB API: one record per name in the
// object store "checkpoints" of a database (default "sculpt"). A put inside one
// readwrite transaction is atomic, so a failed save keeps the previous record.
import { CheckpointError } from '../errors.js';
import type { CheckpointStore } from './checkpoint.js';

/** Options of {@link indexedDbStore}. */
export interface IndexedDbStoreOptions {
  /** The database name. Default: `'sculpt'`. */
  database?: string;
  /** The IndexedDB factory. Default: `globalThis.indexedDB` (pass one in workers without it, or in tests). */
  indexedDB?: IDBFactory;
}

const STORE = 'checkpoints';

function request<T>(req: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

function openDatabase(factory: IDBFactory, name: string): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    const req = factory.open(name, 1);
    req.onupgradeneeded = () => {
      if (!req.result.objectStoreNames.contains(STORE)) req.result.createObjectStore(STORE);
    };
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
    req.onblocked = () =>
      reject(new Error('the database is blocked by another open tab with an older version'));
  });
}

function done(tx: IDBTransaction): Promise<void> {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error ?? new Error('transaction aborted'));
  });
}

/**
 * A {@link CheckpointStore} in the browser's IndexedDB, for
 * `saveCheckpoint(indexedDbStore('mnist'), checkpoint)` and `loadCheckpoint`.
 * Each save replaces the record in one transaction (all or nothing). The
 * database is opened per call and closed after, so nothing is held open.
 *
 * @param name - the checkpoint's key, e.g. `'mnist-vae'`.
 * @param options - `database` (default `'sculpt'`), `indexedDB` (default `globalThis.indexedDB`).
 * @returns a store; it holds no tensors.
 * @example
 * ```ts
 * const store = indexedDbStore('mnist-vae');
 * await saveCheckpoint(store, { tensors, json: { step } });
 * const { tensors: loaded } = await loadCheckpoint(store, { expect: tensors });
 * ```
 */
export function indexedDbStore(name: string, options: IndexedDbStoreOptions = {}): CheckpointStore {
  const { database = 'sculpt' } = options;
  const description = `IndexedDB ${database}/${STORE}/${name}`;
  const factory = (): IDBFactory => {
    const f = options.indexedDB ?? (globalThis as { indexedDB?: IDBFactory }).indexedDB;
    if (f === undefined) {
      throw new CheckpointError(
        'indexedDbStore',
        'an IndexedDB implementation',
        'got none (globalThis.indexedDB is undefined)',
        'use a directory path in Node, or pass options.indexedDB',
      );
    }
    return f;
  };
  return {
    description,
    async write(bytes: Uint8Array): Promise<void> {
      const db = await openDatabase(factory(), database);
      try {
        const tx = db.transaction(STORE, 'readwrite', { durability: 'strict' });
        const finished = done(tx);
        // An ArrayBuffer of exactly the blob (a Uint8Array view may be a window on a larger buffer).
        tx.objectStore(STORE).put(bytes.slice().buffer, name);
        await finished;
      } finally {
        db.close();
      }
    },
    async read(): Promise<Uint8Array | undefined> {
      const db = await openDatabase(factory(), database);
      try {
        const value = await request(db.transaction(STORE, 'readonly').objectStore(STORE).get(name));
        if (value === undefined) return undefined;
        if (
          value instanceof ArrayBuffer ||
          Object.prototype.toString.call(value) === '[object ArrayBuffer]'
        ) {
          return new Uint8Array(value as ArrayBuffer);
        }
        if (ArrayBuffer.isView(value))
          return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
        throw new CheckpointError(
          'loadCheckpoint',
          `an ArrayBuffer in ${description}`,
          `got ${Object.prototype.toString.call(value)}`,
          'save the checkpoint again',
        );
      } finally {
        db.close();
      }
    },
  };
}
