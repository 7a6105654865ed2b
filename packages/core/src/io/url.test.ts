// fetchCheckpoint against a real HTTP server on 127.0.0.1: streamed progress,
// abort mid-download, 404, a body cut short of its Content-Length, corrupt
// bytes, and the cache (the second load makes no request).
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AbortError, CheckpointError } from '../errors.js';
import { expectNoLeak } from '../testing/index.js';
import { checkpointToBytes } from './checkpoint.js';
import { type FetchProgress, fetchCheckpoint, memoryCache, modelFromUrl } from './url.js';

let server: Server;
let base: string;
let blob: Uint8Array;
const requests: string[] = [];

/** Sends `bytes` in 8 chunks, `delayMs` apart; `declared` is the Content-Length sent. */
function sendSlowly(
  res: import('node:http').ServerResponse,
  bytes: Uint8Array,
  declared: number,
  delayMs: number,
) {
  res.writeHead(200, { 'content-length': String(declared) });
  const size = Math.ceil(bytes.length / 8);
  let offset = 0;
  const next = () => {
    if (res.destroyed) return;
    if (offset >= bytes.length) {
      // Declared more than was sent: cut the connection, as a dropped download does.
      if (declared > bytes.length) res.destroy();
      else res.end();
      return;
    }
    res.write(bytes.subarray(offset, offset + size));
    offset += size;
    setTimeout(next, delayMs);
  };
  next();
}

beforeAll(async () => {
  await tf.setBackend('cpu');
  const w = tf.tensor2d(
    Array.from({ length: 64 * 64 }, (_, i) => Math.sin(i)),
    [64, 64],
  );
  blob = await checkpointToBytes({ tensors: { w }, json: { config: { size: 64 } } });
  w.dispose();
  const corrupt = new Uint8Array(blob);
  corrupt[corrupt.length - 10] ^= 0xff;
  server = createServer((req, res) => {
    requests.push(req.url ?? '');
    if (req.url === '/model.safetensors') sendSlowly(res, blob, blob.length, 1);
    else if (req.url === '/dir/weights.safetensors') sendSlowly(res, blob, blob.length, 0);
    else if (req.url === '/slow.safetensors') sendSlowly(res, blob, blob.length, 200);
    else if (req.url === '/short.safetensors')
      sendSlowly(res, blob.subarray(0, blob.length - 500), blob.length, 1);
    else if (req.url === '/corrupt.safetensors') sendSlowly(res, corrupt, corrupt.length, 0);
    else {
      res.writeHead(404);
      res.end('not found');
    }
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((done) => server.close(done));
});

const count = (path: string) => requests.filter((r) => r === path).length;

describe('fetchCheckpoint', () => {
  it('streams the blob with progress and returns its tensors and JSON', async () => {
    const seen: FetchProgress[] = [];
    const { tensors, json } = await fetchCheckpoint(`${base}/model.safetensors`, {
      onProgress: (p) => seen.push(p),
    });
    expect(json).toEqual({ config: { size: 64 } });
    expect(tensors.w.shape).toEqual([64, 64]);
    expect((await tensors.w.data())[1]).toBeCloseTo(Math.sin(1), 6);
    tf.dispose(Object.values(tensors));
    expect(seen.length).toBeGreaterThanOrEqual(8); // one per chunk, and the last
    const loaded = seen.map((p) => p.loadedBytes);
    expect(loaded).toEqual([...loaded].sort((a, b) => a - b));
    expect(seen.at(-1)).toEqual({
      url: `${base}/model.safetensors`,
      loadedBytes: blob.length,
      totalBytes: blob.length,
      fromCache: false,
    });
  });

  it("a URL ending in / loads the folder's weights.safetensors", async () => {
    const { tensors } = await fetchCheckpoint(`${base}/dir/`, { cache: 'none' });
    expect(Object.keys(tensors)).toEqual(['w']);
    tf.dispose(Object.values(tensors));
  });

  it('the second load with a cache makes no request', async () => {
    const cache = memoryCache();
    const url = `${base}/model.safetensors`;
    const before = count('/model.safetensors');
    const first: FetchProgress[] = [];
    const second: FetchProgress[] = [];
    tf.dispose(
      Object.values(
        (await fetchCheckpoint(url, { cache, onProgress: (p) => first.push(p) })).tensors,
      ),
    );
    tf.dispose(
      Object.values(
        (await fetchCheckpoint(url, { cache, onProgress: (p) => second.push(p) })).tensors,
      ),
    );
    expect(count('/model.safetensors') - before).toBe(1);
    expect(first.at(-1)?.fromCache).toBe(false);
    expect(second).toEqual([
      { url, loadedBytes: blob.length, totalBytes: blob.length, fromCache: true },
    ]);
  });

  it('a 404 is a CheckpointError naming the status and the URL', async () => {
    const error = await fetchCheckpoint(`${base}/nothing.safetensors`).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CheckpointError);
    expect(String(error)).toMatch(/nothing\.safetensors.*got 404.*Fix: check the URL/);
  });

  it('a download cut short of its Content-Length is refused, and not cached', async () => {
    const cache = memoryCache();
    const url = `${base}/short.safetensors`;
    const error = await fetchCheckpoint(url, { cache }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CheckpointError);
    expect(String(error)).toMatch(
      new RegExp(`${blob.length} bytes from .*short.*got ${blob.length - 500} `),
    );
    expect(await cache.get(url)).toBeUndefined();
  });

  it("corrupt bytes fail the checkpoint's CRC-32 and make no tensor", async () => {
    const before = tf.memory().numTensors;
    const error = await fetchCheckpoint(`${base}/corrupt.safetensors`).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CheckpointError);
    expect(String(error)).toMatch(/CRC-32/);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('aborts mid-download with an AbortError', async () => {
    const controller = new AbortController();
    const seen: FetchProgress[] = [];
    const loading = fetchCheckpoint(`${base}/slow.safetensors`, {
      signal: controller.signal,
      onProgress: (p) => {
        seen.push(p);
        if (seen.length === 2) controller.abort();
      },
    });
    const error = await loading.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AbortError);
    expect(seen.length).toBe(2);
    expect(seen[1].loadedBytes).toBeLessThan(blob.length);
  });

  it('modelFromUrl leaves no tensor behind but the model', async () => {
    await expectNoLeak(async () => {
      const copy = await modelFromUrl(`${base}/model.safetensors`, { cache: 'none' }, (c) =>
        c.tensors.w.clone(),
      );
      copy.dispose();
    });
  });
});
