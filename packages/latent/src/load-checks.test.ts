// What LatentDiffusionModel.load / fromBytes / fromUrl accept: the model's own
// bytes; a file of another family, weights of another config, a missing or an
// extra weight are each a CheckpointError (a SculptError) naming the problem and
// the fix, made before any tensor exists, so nothing leaks.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initBackend } from '@sculpt/backend';
import {
  type Checkpoint,
  checkpointFromBytes,
  checkpointToBytes,
  type JsonValue,
  memoryCache,
  SculptError,
  saveCheckpoint,
} from '@sculpt/core';
import { DiffusionModel } from '@sculpt/diffusion';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-layers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LatentDiffusionModel, latentConfig } from './index.js';

let model: LatentDiffusionModel;
let bytes: Uint8Array;
let dir: string;
beforeAll(async () => {
  await initBackend('cpu');
  model = LatentDiffusionModel.create('tiny', { seed: 0 });
  bytes = await model.toBytes();
  dir = await mkdtemp(join(tmpdir(), 'sculpt-latent-load-'));
});
afterAll(async () => {
  model.dispose();
  await rm(dir, { recursive: true, force: true });
});

/** The model's checkpoint with its JSON or tensors changed by `edit` (tensors copied; caller-free). */
async function edited(edit: (c: Checkpoint) => Checkpoint): Promise<Uint8Array> {
  const checkpoint = checkpointFromBytes(bytes);
  try {
    return await checkpointToBytes(edit(checkpoint));
  } finally {
    tf.dispose(Object.values(checkpoint.tensors));
  }
}

/** The model's checkpoint whose config says the autoencoder is wider than its weights are. */
function widerConfig(c: Checkpoint): Checkpoint {
  const json = c.json as { config: { autoencoder: { widths: number[] } } };
  const widths = json.config.autoencoder.widths.map((w) => 2 * w);
  const config = { ...json.config, autoencoder: { ...json.config.autoencoder, widths } };
  return { tensors: c.tensors, json: { ...json, config } as unknown as JsonValue };
}

/** The error `run` throws (or undefined), with the tensor count before and after. */
async function refusal(run: () => unknown): Promise<{ error: unknown; leaked: number }> {
  const before = tf.memory().numTensors;
  let error: unknown;
  try {
    (await run()) as unknown;
  } catch (e) {
    error = e;
  }
  return { error, leaked: tf.memory().numTensors - before };
}

describe('LatentDiffusionModel loads only its own checkpoints', () => {
  it('fromBytes(toBytes()) gives the same weights', async () => {
    const back = LatentDiffusionModel.fromBytes(bytes);
    const a = model.namedWeights();
    const b = back.namedWeights();
    expect(Object.keys(b).sort()).toEqual(Object.keys(a).sort());
    for (const [name, v] of Object.entries(a))
      expect(Array.from(await b[name].data()), name).toEqual(Array.from(await v.data()));
    back.dispose();
  });

  it('a diffusion model of another family: names the kind and the fix', async () => {
    const other = DiffusionModel.create({ preset: 'tiny' });
    const otherBytes = new Uint8Array(await other.toBytes());
    other.dispose();
    const { error, leaked } = await refusal(() => LatentDiffusionModel.fromBytes(otherBytes));
    expect(error).toBeInstanceOf(SculptError);
    expect((error as Error).message).toMatch(/expected a 'sculpt-latent' checkpoint/);
    expect((error as Error).message).toMatch(/load a checkpoint written by this model family/);
    expect(leaked).toBe(0);
  });

  it('weights of another config: names the weight, both shapes and the fix', async () => {
    const wrong = await edited(widerConfig);
    const { error, leaked } = await refusal(() => LatentDiffusionModel.fromBytes(wrong));
    expect(error).toBeInstanceOf(SculptError);
    const message = (error as Error).message;
    expect(message).toMatch(/"model\/autoencoder\/[^"]+" has shape \[[\d, ]+\], expected \[/);
    expect(message).toMatch(/load the checkpoint into the model it was saved from/);
    expect(leaked).toBe(0);
  });

  it('a missing weight and an extra one are both named', async () => {
    const name = Object.keys(model.namedWeights()).find((k) => k.startsWith('unet/')) as string;
    const wrong = await edited((c) => {
      const tensors: Record<string, tf.Tensor> = {
        ...c.tensors,
        'model/text/extra': c.tensors[`model/${name}`],
      };
      delete tensors[`model/${name}`];
      return { tensors, json: c.json };
    });
    const { error, leaked } = await refusal(() => LatentDiffusionModel.fromBytes(wrong));
    expect((error as Error).message).toContain(`"model/${name}" is missing`);
    expect((error as Error).message).toContain('"model/text/extra" is not expected');
    expect(leaked).toBe(0);
  });

  it('load(dir) checks the same: a folder of weights for another config', async () => {
    const checkpoint = checkpointFromBytes(await edited(widerConfig));
    await saveCheckpoint(dir, checkpoint);
    tf.dispose(Object.values(checkpoint.tensors));
    const { error, leaked } = await refusal(() => LatentDiffusionModel.load(dir));
    expect(error).toBeInstanceOf(SculptError);
    expect((error as Error).message).toMatch(
      /weights\.safetensors to match the model's weights.*has shape/s,
    );
    expect(leaked).toBe(0);
  });

  it('fromUrl loads the bytes and refuses another config the same way', async () => {
    const wrong = await edited(widerConfig);
    const served: Record<string, Uint8Array> = { '/ok': bytes, '/wrong': wrong };
    const fetch = (async (url: string) =>
      new Response(served[url] as BodyInit, { status: 200 })) as unknown as typeof globalThis.fetch;
    const loaded = await LatentDiffusionModel.fromUrl('/ok', { fetch, cache: memoryCache() });
    expect(loaded.getConfig()).toEqual(model.getConfig());
    loaded.dispose();
    const { error, leaked } = await refusal(() =>
      LatentDiffusionModel.fromUrl('/wrong', { fetch, cache: 'none' }),
    );
    expect((error as Error).message).toMatch(/has shape/);
    expect(leaked).toBe(0);
  });

  it('the stored config must be a valid one: a bad preset config names the fix', async () => {
    const wrong = await edited((c) => {
      const json = c.json as { config: Record<string, unknown> };
      const config = latentConfig({ preset: 'tiny' });
      const bad = { ...config, autoencoder: { ...config.autoencoder, latentChannels: 0 } };
      return { tensors: c.tensors, json: { ...json, config: bad } as unknown as JsonValue };
    });
    const { error, leaked } = await refusal(() => LatentDiffusionModel.fromBytes(wrong));
    expect(error).toBeInstanceOf(SculptError);
    expect(leaked).toBe(0);
  });
});
