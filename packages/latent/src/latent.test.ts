import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initBackend } from '@sculpt/backend';
import { karrasSigmas, Rng, SculptError } from '@sculpt/core';
import { expectNoLeak } from '@sculpt/core/testing';
import { listSamplers } from '@sculpt/samplers';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-layers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  LatentDiffusionModel,
  latentConfig,
  latentDiffusion,
  latentImg2Img,
  measureScaleFactor,
  PromptEncoder,
} from './index.js';
import { linearAutoencoder } from './testing/index.js';

// Tiny data: 8×8 images that are a bright top half ("one") or a bright bottom half ("two").
const N = 64;
const CAPTIONS = Array.from({ length: N }, (_, i) => (i % 2 ? 'a two' : 'a one'));
function fixture(): tf.Tensor4D {
  return tf.tidy(() => {
    const top = tf.concat([tf.ones([4, 8]), tf.fill([4, 8], -1)], 0);
    const bottom = tf.reverse(top, 0);
    const rows = Array.from({ length: N }, (_, i) => (i % 2 ? bottom : top));
    return tf.reshape(tf.stack(rows), [N, 8, 8, 1]) as tf.Tensor4D;
  });
}

let images: tf.Tensor4D;
let model: LatentDiffusionModel;
let dir: string;
let aeLoss: { first: number; last: number };
let unetLoss: { first: number; last: number };

beforeAll(async () => {
  await initBackend('wasm');
  images = fixture();
  dir = await mkdtemp(join(tmpdir(), 'sculpt-latent-'));
  model = LatentDiffusionModel.create('tiny', { seed: 0 });
  const losses: number[] = [];
  const onStep = (r: { loss: number }) => void losses.push(r.loss);
  await model.trainAutoencoder({ images, steps: 150, batchSize: 16, callbacks: { onStep } });
  aeLoss = { first: losses[0], last: mean(losses.slice(-10)) };
  await model.measureScale(images);
  losses.length = 0;
  await model.trainDenoiser({
    images,
    captions: CAPTIONS,
    steps: 400,
    batchSize: 32,
    learningRate: 4e-3,
    callbacks: { onStep },
  });
  unetLoss = { first: mean(losses.slice(0, 10)), last: mean(losses.slice(-10)) };
}, 240_000);

afterAll(async () => {
  model.dispose();
  images.dispose();
  await rm(dir, { recursive: true, force: true });
});

function mean(a: number[]): number {
  return a.reduce((s, v) => s + v, 0) / a.length;
}

describe('LatentDiffusionModel (tiny preset)', () => {
  it('learns in seconds: autoencoder and latent U-Net losses fall', () => {
    expect(aeLoss.last).toBeLessThan(0.3 * aeLoss.first);
    expect(unetLoss.last).toBeLessThan(0.8 * unetLoss.first);
  });

  it('the measured scale factor gives unit-variance latents on the training set', () => {
    const z = model.encodeLatents(images, new Rng(3));
    const { variance } = tf.moments(z);
    const v = variance.dataSync()[0];
    tf.dispose([z, variance]);
    expect(v).toBeGreaterThan(0.8);
    expect(v).toBeLessThan(1.25);
    expect(model.getConfig().autoencoder.scaleFactor).not.toBe(1);
  });

  it('follows the prompt: "a one" samples are brighter on top than "a two" samples', async () => {
    const x = await model.sample({
      prompts: ['a one', 'a one', 'a two', 'a two'],
      guidanceScale: 3,
      steps: 10,
      seed: 1,
    });
    const topMinusBottom = tf.tidy(() => {
      const [t, b] = tf.split(x, 2, 1);
      return tf.sub(tf.mean(t, [1, 2, 3]), tf.mean(b, [1, 2, 3])).dataSync();
    });
    x.dispose();
    expect(Math.min(topMinusBottom[0], topMinusBottom[1])).toBeGreaterThan(
      Math.max(topMinusBottom[2], topMinusBottom[3]),
    );
  });

  it('empty-prompt CFG equals the unconditional model', () => {
    const { denoiser } = model.guidedDenoiser(5);
    const x = new Rng(4).normal([2, 2, 2, 2]);
    const sigma = tf.tensor1d([1, 2]);
    const empty = model.text.encode(['', '']);
    const cond = { context: empty.context, contextMask: empty.contextMask };
    const guided = denoiser(x, sigma, cond);
    const plain = model.diffusion.denoiser(x, sigma, cond);
    expect(tf.max(tf.abs(tf.sub(guided, plain))).dataSync()[0]).toBeLessThan(1e-5);
    tf.dispose([x, sigma, empty.context, empty.contextMask, guided, plain]);
  });

  it('save → load gives identical samples for a seed; config round-trips', async () => {
    await model.save(dir);
    const loaded = await LatentDiffusionModel.load(dir);
    const opts = { prompts: ['a two', 'a one'], guidanceScale: 2, steps: 5, seed: 9 };
    const [a, b] = [await model.sample(opts), await loaded.sample(opts)];
    expect(Array.from(b.dataSync())).toEqual(Array.from(a.dataSync()));
    expect(loaded.getConfig()).toEqual(model.getConfig());
    expect(latentConfig(JSON.parse(JSON.stringify(model.getConfig())))).toEqual(model.getConfig());
    tf.dispose([a, b]);
    loaded.dispose();
  });

  it('swaps the sampler for every registered one with no other change', async () => {
    for (const sampler of listSamplers()) {
      const x = await model.sample({
        prompts: ['a one'],
        sampler: sampler.name,
        steps: 4,
        seed: 2,
      });
      expect(x.shape).toEqual([1, 8, 8, 1]);
      expect(x.dataSync().every(Number.isFinite)).toBe(true);
      x.dispose();
    }
  });

  it("swaps the autoencoder for the docs' linear stand-in with no other change", async () => {
    const standIn = linearAutoencoder({
      imageShape: [8, 8, 1],
      latentShape: [2, 2, 2],
      scaleFactor: 2,
    });
    const cond = model.text.encode(['a one', 'a two']);
    const x = await latentDiffusion({
      autoencoder: standIn,
      denoiser: model.diffusion.denoiser,
      sampler: 'euler',
      sigmas: karrasSigmas({ numSteps: 5, ...model.diffusion.sigmaRange }),
      numSamples: 2,
      cond: { context: cond.context, contextMask: cond.contextMask },
      denoiserLatentShape: model.diffusion.imageShape,
    });
    expect(x.shape).toEqual([2, 8, 8, 1]);
    tf.dispose([x, cond.context, cond.contextMask]);
  });

  it('img2img in latent space: a light edit keeps the image, a prompt-led full edit follows the prompt', async () => {
    const ones = tf.gather(images, [0, 2]) as tf.Tensor4D; // both "one" (bright top)
    const light = await latentImg2Img(model, {
      image: ones,
      prompts: ['a one', 'a one'],
      strength: 0.2,
      steps: 10,
    });
    const heavy = await latentImg2Img(model, {
      image: ones,
      prompts: ['a two', 'a two'],
      strength: 1,
      steps: 10,
      guidanceScale: 3,
    });
    const topMinusBottom = (x: tf.Tensor) =>
      tf.tidy(() => {
        const [t, b] = tf.split(x, 2, 1);
        return Array.from(tf.sub(tf.mean(t, [1, 2, 3]), tf.mean(b, [1, 2, 3])).dataSync());
      });
    expect(Math.min(...topMinusBottom(light))).toBeGreaterThan(1);
    expect(Math.max(...topMinusBottom(heavy))).toBeLessThan(-1);
    await expectNoLeak(
      () =>
        latentImg2Img(model, {
          image: ones,
          prompts: ['a one', ''],
          strength: 0.5,
          steps: 4,
          guidanceScale: 2,
        }),
      { label: 'latentImg2Img' },
    );
    tf.dispose([ones, light, heavy]);
  });

  it('has no leaks in train, sample, encode and decode', async () => {
    const small = tf.slice(images, 0, 8) as tf.Tensor4D;
    await expectNoLeak(() => model.trainAutoencoder({ images: small, steps: 1, batchSize: 4 }), {
      label: 'trainAutoencoder',
    });
    await expectNoLeak(
      () =>
        model.trainDenoiser({
          images: small,
          captions: CAPTIONS.slice(0, 8),
          steps: 2,
          batchSize: 4,
        }),
      { label: 'trainDenoiser' },
    );
    await expectNoLeak(() => model.sample({ prompts: ['a one'], guidanceScale: 2, steps: 2 }), {
      label: 'sample',
    });
    await expectNoLeak(
      () => {
        const q = model.autoencoder.encode(small);
        q.dispose();
      },
      { label: 'encode' },
    );
    const z = tf.zeros([2, 2, 2, 2]);
    await expectNoLeak(() => model.autoencoder.decode(z), { label: 'decode' });
    await expectNoLeak(() => model.text.encode(['a one', '']), { label: 'text.encode' });
    await expectNoLeak(() => measureScaleFactor(model.autoencoder, small, new Rng(0)), {
      label: 'measureScaleFactor',
    });
    tf.dispose([small, z]);
  });
});

describe('bad input names the fix', () => {
  it('refuses a prompt longer than the text context', () => {
    const text = new PromptEncoder(latentConfig({ preset: 'tiny' }).text);
    const long = 'a thick slanted small thick slanted small thick seven';
    expect(() => text.encode([long])).toThrow(SculptError);
    expect(() => text.encode([long])).toThrow(/at most 7 words.*Fix: shorten the prompt/);
    expect(() => text.encode(['a purple seven'])).toThrow(/'purple'/);
    text.dispose();
  });

  it('refuses an autoencoder whose latent shape differs from the denoiser', async () => {
    const wrong = linearAutoencoder({ imageShape: [8, 8, 1], latentShape: [4, 4, 1] });
    await expect(
      latentDiffusion({
        autoencoder: wrong,
        denoiser: model.diffusion.denoiser,
        sampler: 'euler',
        sigmas: karrasSigmas({ numSteps: 2, sigmaMin: 0.1, sigmaMax: 10 }),
        numSamples: 1,
        denoiserLatentShape: model.diffusion.imageShape,
      }),
    ).rejects.toThrow(/latentShape.*Fix: use an autoencoder whose latents match/);
    expect(() => latentConfig({ preset: 'tiny', diffusion: { unet: { imageSize: 4 } } })).toThrow(
      /latent grid/,
    );
  });
});
