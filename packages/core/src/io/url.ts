// Checkpoints over HTTP: the one-blob form of `checkpointToBytes` (a
// safetensors file with the config embedded; a saved directory's
// weights.safetensors is that blob) fetched with streaming progress, an
// AbortSignal and a cache. A 404, a download cut short (fewer bytes than
// Content-Length) and corrupt bytes (the checkpoint's own CRC-32) each throw a
// CheckpointError; nothing is half-loaded.
import { AbortError, CheckpointError } from '../errors.js';
import { type Checkpoint, decodeCheckpoint, type LoadCheckpointOptions } from './checkpoint.js';

/** Where fetched checkpoints are kept between loads: {@link browserCache}, {@link memoryCache}, or your own. */
export interface ModelCache {
  /** Names the cache in error messages. */
  readonly description: string;
  /** The bytes stored for `url`, or `undefined`. */
  get(url: string): Promise<Uint8Array | undefined>;
  /** Stores `bytes` (already validated) for `url`. */
  put(url: string, bytes: Uint8Array): Promise<void>;
}

/** One progress report of {@link fetchCheckpoint}. */
export interface FetchProgress {
  /** The URL being loaded. */
  readonly url: string;
  /** Bytes received so far (all of them when `fromCache`). */
  readonly loadedBytes: number;
  /** Content-Length, when the server sent it. */
  readonly totalBytes: number | undefined;
  /** True when the bytes came from the cache (no request was made). */
  readonly fromCache: boolean;
}

/** Options of {@link fetchCheckpoint} and every family's `fromUrl`. */
export interface FetchCheckpointOptions extends LoadCheckpointOptions {
  /** Called as bytes arrive (about every chunk) and once at the end. */
  onProgress?: (progress: FetchProgress) => void;
  /** Aborts the download; the promise rejects with an `AbortError`. */
  signal?: AbortSignal;
  /**
   * Where to keep the bytes for the next load. Default: {@link browserCache}
   * when the Cache API exists (browsers, workers), else `'none'` (Node: pass
   * {@link memoryCache}() to share one between loads).
   */
  cache?: ModelCache | 'none';
  /** The fetch to use. Default: `globalThis.fetch`. */
  fetch?: typeof globalThis.fetch;
}

/**
 * A {@link ModelCache} on the browser Cache API (`caches.open(name)`).
 * Entries are keyed by URL and never revalidated (a cached load makes no
 * request): publish a changed model under a new URL (a version or hash in the
 * name), or clear the cache with `caches.delete(name)`.
 *
 * @param name - the cache's name. Default `'sculpt-models'`.
 * @example
 * ```ts
 * const model = await DiffusionModel.fromUrl(url, { cache: browserCache('my-app') });
 * ```
 */
export function browserCache(name = 'sculpt-models'): ModelCache {
  const open = () => globalThis.caches.open(name);
  return {
    description: `the Cache API cache '${name}'`,
    async get(url) {
      const hit = await (await open()).match(url);
      return hit ? new Uint8Array(await hit.arrayBuffer()) : undefined;
    },
    async put(url, bytes) {
      const body = new Uint8Array(bytes).buffer;
      const headers = { 'content-type': 'application/octet-stream' };
      await (await open()).put(url, new Response(body, { headers }));
    },
  };
}

/**
 * A {@link ModelCache} in memory: lives as long as the object (Node, tests).
 *
 * @example
 * ```ts
 * const cache = memoryCache();
 * await GanModel.fromUrl(url, { cache }); // fetched
 * await GanModel.fromUrl(url, { cache }); // from memory
 * ```
 */
export function memoryCache(): ModelCache {
  const entries = new Map<string, Uint8Array>();
  return {
    description: 'the in-memory cache',
    get: async (url) => entries.get(url),
    put: async (url, bytes) => {
      entries.set(url, bytes);
    },
  };
}

function defaultCache(): ModelCache | undefined {
  return typeof globalThis.caches === 'object' ? browserCache() : undefined;
}

function abortError(where: string, url: string): AbortError {
  return new AbortError(where, `to load ${url}`, 'got aborted by the signal');
}

/** GETs `url` and checks the status. */
async function request(where: string, url: string, options: FetchCheckpointOptions) {
  const fetchFn = options.fetch ?? globalThis.fetch;
  let response: Response;
  try {
    response = await fetchFn(url, { signal: options.signal });
  } catch (error) {
    if (options.signal?.aborted) throw abortError(where, url);
    throw new CheckpointError(
      where,
      `a response from ${url}`,
      `got ${(error as Error).message}`,
      'check the URL and the network (and CORS headers when the model is on another origin)',
    );
  }
  if (!response.ok) {
    throw new CheckpointError(
      where,
      `HTTP 200 from ${url}`,
      `got ${response.status} ${response.statusText}`.trim(),
      response.status === 404
        ? "check the URL: it should point at a checkpoint blob (a saved folder's weights.safetensors, or the bytes of toBytes())"
        : 'check the server',
    );
  }
  return response;
}

/** Reads the body chunk by chunk, reporting progress, and checks it against Content-Length. */
async function readBody(
  where: string,
  url: string,
  response: Response,
  options: FetchCheckpointOptions,
): Promise<Uint8Array> {
  const header = response.headers.get('content-length');
  const totalBytes = header === null ? undefined : Number(header);
  const chunks: Uint8Array[] = [];
  let loadedBytes = 0;
  const report = () => options.onProgress?.({ url, loadedBytes, totalBytes, fromCache: false });
  try {
    const reader = response.body?.getReader();
    if (!reader) chunks.push(new Uint8Array(await response.arrayBuffer()));
    while (reader) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      loadedBytes += value.byteLength;
      report();
    }
  } catch (error) {
    if (options.signal?.aborted) throw abortError(where, url);
    throw truncated(where, url, loadedBytes, totalBytes, (error as Error).message);
  }
  const bytes = concat(chunks);
  loadedBytes = bytes.byteLength;
  if (totalBytes !== undefined && bytes.byteLength !== totalBytes)
    throw truncated(where, url, bytes.byteLength, totalBytes, 'the connection closed early');
  report();
  return bytes;
}

function truncated(
  where: string,
  url: string,
  got: number,
  total: number | undefined,
  why: string,
): CheckpointError {
  return new CheckpointError(
    where,
    `${total ?? 'all the'} bytes from ${url}`,
    `got ${got} (${why})`,
    'the download was cut short: load it again',
  );
}

function concat(chunks: readonly Uint8Array[]): Uint8Array {
  if (chunks.length === 1) return chunks[0];
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.byteLength, 0));
  let offset = 0;
  for (const c of chunks) {
    out.set(c, offset);
    offset += c.byteLength;
  }
  return out;
}

/**
 * Fetches and decodes a checkpoint blob: the bytes of `checkpointToBytes` /
 * a model's `toBytes()`, or a saved folder's `weights.safetensors`. A URL
 * ending in `/` gets `weights.safetensors` appended. The bytes are validated
 * (size, CRC-32, structure) before they are cached or any tensor is made.
 *
 * @param url - absolute, or relative to the page in a browser.
 * @param options - `onProgress`, `signal`, `cache`, `fetch`, and the `expect` checks of loading.
 * @returns `{ tensors, json }`; the tensors are new and owned by the caller.
 * @throws CheckpointError on a failed request, a non-2xx status (404 …), a
 *   truncated download or corrupt bytes; AbortError when `signal` aborts.
 * @example
 * ```ts
 * const { tensors, json } = await fetchCheckpoint('https://example.com/mnist/weights.safetensors', {
 *   onProgress: ({ loadedBytes, totalBytes }) => bar.update(loadedBytes / (totalBytes ?? 1)),
 * });
 * ```
 */
export async function fetchCheckpoint(
  url: string,
  options: FetchCheckpointOptions = {},
): Promise<Checkpoint> {
  const where = 'fetchCheckpoint';
  const target = url.endsWith('/') ? `${url}weights.safetensors` : url;
  if (options.signal?.aborted) throw abortError(where, target);
  const cache = options.cache === 'none' ? undefined : (options.cache ?? defaultCache());
  const cached = await cache?.get(target);
  if (cached) {
    try {
      const checkpoint = decodeCheckpoint(where, cached, options, `${cache?.description}`);
      options.onProgress?.({
        url: target,
        loadedBytes: cached.byteLength,
        totalBytes: cached.byteLength,
        fromCache: true,
      });
      return checkpoint;
    } catch {
      // A damaged cache entry is fetched again below (and replaced).
    }
  }
  const response = await request(where, target, options);
  const bytes = await readBody(where, target, response, options);
  const checkpoint = decodeCheckpoint(where, bytes, options, target);
  await cache?.put(target, bytes);
  return checkpoint;
}

/**
 * Loads a model from a URL through its `fromCheckpoint`: the shared body of
 * every family's `fromUrl`. The fetched tensors are disposed once the model
 * has copied them.
 *
 * @param url - see {@link fetchCheckpoint}.
 * @param options - see {@link FetchCheckpointOptions}.
 * @param fromCheckpoint - builds the model from the checkpoint (it must copy, not keep, the tensors).
 * @returns the model; the caller owns it.
 * @example
 * ```ts
 * static fromUrl(url: string, options?: FetchCheckpointOptions): Promise<MyModel> {
 *   return modelFromUrl(url, options, (c) => MyModel.fromCheckpoint('MyModel.fromUrl', c));
 * }
 * ```
 */
export async function modelFromUrl<M>(
  url: string,
  options: FetchCheckpointOptions | undefined,
  fromCheckpoint: (checkpoint: Checkpoint) => M,
): Promise<M> {
  const checkpoint = await fetchCheckpoint(url, options);
  try {
    return fromCheckpoint(checkpoint);
  } finally {
    for (const t of Object.values(checkpoint.tensors)) t.dispose();
  }
}
