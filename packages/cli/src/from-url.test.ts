// Every family's model class loads from a URL the same way (core's
// fetchCheckpoint): served by a real HTTP server on 127.0.0.1, the loaded
// weights equal the saved ones, the second load with a cache makes no
// request, and nothing leaks but the model.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-layers';
import { charTokenizer, GptModel } from '@sculpt/autoregressive';
import {
  type Checkpoint,
  checkpointToBytes,
  type FetchCheckpointOptions,
  memoryCache,
} from '@sculpt/core';
import { expectNoLeak } from '@sculpt/core/testing';
import { DiffusionModel } from '@sculpt/diffusion';
import { GanModel } from '@sculpt/gan';
import { VaeModel } from '@sculpt/vae';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

interface Loadable {
  toCheckpoint(): Checkpoint;
  dispose(): void;
}

/** Each family: a tiny model, and its class's fromUrl. */
const FAMILIES: {
  name: string;
  create: () => Loadable;
  fromUrl: (url: string, options: FetchCheckpointOptions) => Promise<Loadable>;
}[] = [
  {
    name: 'diffusion',
    create: () => DiffusionModel.create({ preset: 'tiny' }, { seed: 1 }),
    fromUrl: (url, o) => DiffusionModel.fromUrl(url, o),
  },
  {
    name: 'gan',
    create: () => GanModel.create('tiny', { seed: 1 }),
    fromUrl: (url, o) => GanModel.fromUrl(url, o),
  },
  {
    name: 'vae',
    create: () => VaeModel.create('tiny', { seed: 1 }),
    fromUrl: (url, o) => VaeModel.fromUrl(url, o),
  },
  {
    name: 'gpt',
    create: () =>
      GptModel.create({ tokenizer: charTokenizer({ text: 'abc def' }), preset: 'tiny', seed: 1 }),
    fromUrl: (url, o) => GptModel.fromUrl(url, o),
  },
];

const blobs = new Map<string, Uint8Array>();
const requests: string[] = [];
let server: Server;
let base: string;

async function weightsOf(model: Loadable): Promise<Record<string, number[]>> {
  const { tensors } = model.toCheckpoint();
  const out: Record<string, number[]> = {};
  // The checkpoint's tensors are the model's own weights: read, not disposed.
  for (const [k, t] of Object.entries(tensors)) out[k] = Array.from(await t.data());
  return out;
}

beforeAll(async () => {
  await tf.setBackend('cpu');
  server = createServer((req, res) => {
    requests.push(req.url ?? '');
    const blob = blobs.get(req.url ?? '');
    if (!blob) {
      res.writeHead(404);
      res.end();
      return;
    }
    res.writeHead(200, { 'content-length': String(blob.length) });
    res.end(blob);
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((done) => server.close(done));
});

describe.each(FAMILIES)('$name fromUrl', ({ name, create, fromUrl }) => {
  it('loads the saved weights, then from the cache without a request, leaking nothing', async () => {
    const model = create();
    const saved = model.toCheckpoint();
    blobs.set(`/${name}.safetensors`, await checkpointToBytes(saved));
    const expected = await weightsOf(model);
    model.dispose();
    const cache = memoryCache();
    const url = `${base}/${name}.safetensors`;
    const hits: boolean[] = [];
    const options = { cache, onProgress: (p: { fromCache: boolean }) => hits.push(p.fromCache) };
    await expectNoLeak(async () => {
      const first = await fromUrl(url, options);
      expect(await weightsOf(first)).toEqual(expected);
      first.dispose();
      const second = await fromUrl(url, options);
      expect(await weightsOf(second)).toEqual(expected);
      second.dispose();
    });
    expect(requests.filter((r) => r === `/${name}.safetensors`)).toHaveLength(1);
    expect(hits.at(-1)).toBe(true);
    expect(hits.slice(0, -1).every((h) => !h)).toBe(true);
  });
});

it('a missing model is a CheckpointError naming the 404', async () => {
  await expect(DiffusionModel.fromUrl(`${base}/nothing.safetensors`)).rejects.toThrow(/got 404/);
});
