// img2imgAsync and inpaintAsync on a DiffusionModel: the same pixels as the
// synchronous calls, and an abort mid-run rejects with AbortError and leaks nothing.
import { initBackend } from '@sculpt/backend';
import { AbortError } from '@sculpt/core';
import { expectNoLeak } from '@sculpt/core/testing';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DiffusionModel, type Img2ImgModelOptions, type InpaintModelOptions } from './index.js';

let model: DiffusionModel;
let image: tf.Tensor4D;
let mask: tf.Tensor4D;

beforeAll(async () => {
  await initBackend('wasm');
  model = DiffusionModel.create('tiny', { seed: 5 });
  image = tf.tidy(() => tf.sub(tf.mul(tf.randomUniform([2, 8, 8, 1], 0, 1, 'float32', 1), 2), 1));
  // Generate the left half, keep the right half.
  mask = tf.tidy(() => tf.concat([tf.ones([2, 8, 4, 1]), tf.zeros([2, 8, 4, 1])], 2));
});

afterAll(() => {
  tf.dispose([image, mask]);
  model.dispose();
});

const EDITS = [
  {
    name: 'img2img',
    options: (): Img2ImgModelOptions => ({
      image,
      strength: 0.7,
      labels: [1, 2],
      guidanceScale: 2,
    }),
    sync: (o: Img2ImgModelOptions & InpaintModelOptions) => model.img2img(o),
    async: (o: Img2ImgModelOptions & InpaintModelOptions) => model.img2imgAsync(o),
  },
  {
    name: 'inpaint',
    options: (): InpaintModelOptions => ({ image, mask, labels: [0, 1], resampleCount: 2 }),
    sync: (o: Img2ImgModelOptions & InpaintModelOptions) => model.inpaint(o),
    async: (o: Img2ImgModelOptions & InpaintModelOptions) => model.inpaintAsync(o),
  },
];

describe.each(EDITS)('DiffusionModel.$name async', (edit) => {
  const opts = () => ({ ...edit.options(), sampler: 'heun', steps: 6, seed: 4 }) as never;

  it('draws the pixels of the synchronous call and leaks nothing', async () => {
    // The first call on a backend may cache constants (kernels, schedules): warm up, then count.
    tf.dispose(edit.sync(opts()));
    const a = await expectNoLeak(async () => {
      const x = await edit.async(opts());
      const y = edit.sync(opts());
      expect(Array.from(await x.data())).toEqual(Array.from(await y.data()));
      expect(x.shape).toEqual([2, 8, 8, 1]);
      tf.dispose([x, y]);
    });
    expect(a).toBeGreaterThan(0);
  });

  it('aborted mid-run: rejects with AbortError, leaks nothing', async () => {
    await expectNoLeak(async () => {
      const controller = new AbortController();
      let steps = 0;
      const error = await edit
        .async({
          ...(opts() as object),
          signal: controller.signal,
          onStep: () => {
            if (++steps === 2) controller.abort();
          },
        } as never)
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(AbortError);
      expect(steps).toBe(2);
    });
  });
});
