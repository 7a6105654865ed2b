// img2imgAsync and inpaintAsync with a registered sampler's sampleAsync: the
// same numbers as the synchronous pipelines, a turn of the event loop between
// steps, and an abort mid-run that rejects with AbortError and leaks nothing.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { AbortError, type Denoiser, Rng } from '@sculpt/core';
import { expectNoLeak } from '@sculpt/core/testing';
import { beforeAll, describe, expect, it } from 'vitest';
import { getSampler } from '../registry.js';
import { img2img, img2imgAsync, inpaint, inpaintAsync } from './editing.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

// Data ~ N(0.5, 0.2²): the exact denoiser is D(x, σ) = μ + s²/(s² + σ²)·(x − μ).
const gaussian: Denoiser = (x, sigma) =>
  tf.tidy(() => {
    const sig = tf.reshape(sigma, [-1, ...new Array(x.rank - 1).fill(1)]);
    return tf.add(0.5, tf.mul(tf.div(0.04, tf.add(0.04, tf.square(sig))), tf.sub(x, 0.5)));
  });
const sigmas = new Float32Array([10, 5, 2, 1, 0.5, 0.2, 0.1, 0.05, 0.02, 0]);
const heun = getSampler('heun');

/** The inputs every call shares (a fresh Rng each time, so sync and async draw the same noise). */
const common = (image: tf.Tensor) => ({ denoiser: gaussian, image, sigmas, rng: new Rng(3) });
const halfMask = () => tf.tidy(() => tf.concat([tf.ones([2, 4, 8, 1]), tf.zeros([2, 4, 8, 1])], 1));

/** Each pipeline as sync and async calls with the same inputs. */
const PIPELINES = [
  {
    name: 'img2img',
    sync: (image: tf.Tensor) => img2img({ ...common(image), sampler: heun.sample, strength: 0.8 }),
    async: (image: tf.Tensor, signal?: AbortSignal, onStep?: () => void) =>
      img2imgAsync({
        ...common(image),
        sampler: heun.sampleAsync,
        strength: 0.8,
        signal,
        onStep,
      }),
  },
  {
    name: 'inpaint',
    sync: (image: tf.Tensor) => {
      const mask = halfMask();
      const out = inpaint({ ...common(image), sampler: heun.sample, mask, resampleCount: 2 });
      mask.dispose();
      return out;
    },
    async: async (image: tf.Tensor, signal?: AbortSignal, onStep?: () => void) => {
      const mask = halfMask();
      try {
        return await inpaintAsync({
          ...common(image),
          sampler: heun.sampleAsync,
          mask,
          resampleCount: 2,
          signal,
          onStep,
        });
      } finally {
        mask.dispose();
      }
    },
  },
];

describe.each(PIPELINES)('$name async', (p) => {
  it('gives the numbers of the sync pipeline, yielding to the event loop between steps', async () => {
    const image = tf.fill([2, 8, 8, 1], -0.5);
    let steps = 0;
    let timersRun = 0;
    const ticking = setInterval(() => timersRun++, 0);
    const a = await p.async(image, undefined, () => steps++);
    clearInterval(ticking);
    const b = p.sync(image);
    expect(Array.from(await a.data())).toEqual(Array.from(await b.data()));
    expect(steps).toBeGreaterThan(3);
    expect(timersRun).toBeGreaterThanOrEqual(steps - 1); // a timer ran between (almost) every two steps
    tf.dispose([a, b, image]);
  });

  it('aborted mid-run: rejects with AbortError and leaks nothing', async () => {
    const image = tf.fill([2, 8, 8, 1], -0.5);
    await expectNoLeak(async () => {
      const controller = new AbortController();
      let steps = 0;
      const error = await p
        .async(image, controller.signal, () => {
          if (++steps === 3) controller.abort();
        })
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(AbortError);
      expect(steps).toBe(3);
    });
    image.dispose();
  });
});
