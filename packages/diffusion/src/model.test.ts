import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initBackend } from '@sculpt/backend';
import { Rng, SculptError } from '@sculpt/core';
import { expectNoLeak } from '@sculpt/core/testing';
import { classAccuracy, classifyImages, loadMnistClassifier } from '@sculpt/metrics';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DiffusionModel,
  diffusionConfig,
  forwardMoments,
  predictX0,
  qSample,
  UNET_PRESETS,
} from './index.js';

let model: DiffusionModel;
let dir: string;

beforeAll(async () => {
  await initBackend('wasm');
  model = DiffusionModel.create('tiny', { seed: 3 });
  dir = await mkdtemp(join(tmpdir(), 'sculpt-diffusion-'));
});

afterAll(async () => {
  model.dispose();
  await rm(dir, { recursive: true, force: true });
});

describe('config', () => {
  it('round-trips: fromConfig(getConfig()) and JSON', () => {
    const config = diffusionConfig({ preset: 'tiny', prediction: 'v', unet: { widths: [8, 24] } });
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.unet)).toBe(true);
    expect(diffusionConfig(JSON.parse(JSON.stringify(config)))).toEqual(config);
    const m = DiffusionModel.fromConfig(config);
    expect(m.getConfig()).toEqual(config);
    expect(DiffusionModel.fromConfig(m.getConfig()).getConfig()).toEqual(config);
    m.dispose();
  });

  it('has the documented presets and defaults', () => {
    expect(Object.keys(UNET_PRESETS).sort()).toEqual(['mnist', 'tiny']);
    const c = diffusionConfig();
    expect(c.unet).toEqual(UNET_PRESETS.mnist);
    expect([
      c.prediction,
      c.preconditioning,
      c.schedule.kind,
      c.schedule.numTrainTimesteps,
    ]).toEqual(['v', 'discrete', 'linear', 1000]);
  });

  it('the mnist preset maps [B, 28, 28, 1] to [B, 28, 28, 1] through its 2×2 patch stem', () => {
    const m = DiffusionModel.create({ preset: 'mnist', prediction: 'v' });
    const x = tf.zeros([2, 28, 28, 1]);
    const out = m.network(x, tf.tensor1d([10, 900]), { labels: tf.tensor1d([3, 10]) });
    expect(out.shape).toEqual([2, 28, 28, 1]);
    expect(Object.values(m.params).reduce((n, v) => n + v.size, 0)).toBe(352004);
    tf.dispose([x, out]);
    m.dispose();
  });

  it('rejects unknown presets and bad fields with the fix', () => {
    expect(() => diffusionConfig({ preset: 'huge' as never })).toThrow(
      /diffusionConfig: expected a known preset, got 'huge'. Fix: use one of tiny, mnist/,
    );
    expect(() => diffusionConfig({ preset: 'tiny', unet: { groups: 3 } })).toThrow(SculptError);
    expect(() => diffusionConfig({ preset: 'tiny', prediction: 'x' as never })).toThrow(
      /prediction/,
    );
    expect(() => DiffusionModel.create('nope')).toThrow(/expected a known preset/);
  });
});

describe('ownership', () => {
  it('create + dispose frees every tensor (seeded weights included)', async () => {
    await expectNoLeak(() => DiffusionModel.create('tiny', { seed: 1 }).dispose(), {
      label: 'DiffusionModel.create/dispose',
    });
  });
});

describe('the shipped MNIST checkpoint', () => {
  it('still loads (the layout before the shared checkpoint helper) and draws the digits it is asked for', async () => {
    const bytes = await readFile(new URL('../assets/mnist-model.safetensors', import.meta.url));
    const shipped = DiffusionModel.fromBytes(bytes);
    const classifier = await loadMnistClassifier();
    try {
      expect(shipped.numClasses).toBe(10);
      const labels = Array.from({ length: 20 }, (_, i) => i % 10);
      const images = await shipped.sample({
        numSamples: 20,
        labels,
        steps: 12,
        guidanceScale: 2,
        seed: 0,
      });
      const { predictions } = await classifyImages(classifier, images, { range: '-1,1' });
      images.dispose();
      // The README reports 0.97 class accuracy for 1,000 samples at 20 steps; 12 steps and 20 samples keep this fast.
      expect(classAccuracy(predictions, labels).accuracy).toBeGreaterThanOrEqual(0.7);
    } finally {
      shipped.dispose();
      classifier.dispose();
    }
  });
});

describe('sampling', () => {
  it('returns [N, 8, 8, 1] in [-1, 1], deterministic per seed, leak-free', async () => {
    const opts = { labels: [0, 1, 2], guidanceScale: 2, sampler: 'euler', steps: 4, seed: 5 };
    model.denoiser; // builds (and caches) the model-owned denoiser first
    await expectNoLeak(() => model.sample(opts));
    const a = await model.sample(opts);
    const b = await model.sample(opts);
    expect(a.shape).toEqual([3, 8, 8, 1]);
    const av = a.dataSync();
    expect(Math.max(...av)).toBeLessThanOrEqual(1);
    expect(Math.min(...av)).toBeGreaterThanOrEqual(-1);
    expect(Array.from(b.dataSync())).toEqual(Array.from(av));
    tf.dispose([a, b]);
  });

  it('works with every sampler name it is given, and with img2img / inpaint', async () => {
    for (const sampler of ['dpmpp-2m', 'heun', 'euler_a']) {
      const x = await model.sample({ numSamples: 2, sampler, steps: 3 });
      expect(x.shape).toEqual([2, 8, 8, 1]);
      x.dispose();
    }
    const image = tf.zeros([2, 8, 8, 1]) as tf.Tensor4D;
    const mask = tf.zeros([2, 8, 8, 1]);
    await expectNoLeak(() =>
      model.img2img({ image, strength: 0.5, labels: [1, 2], steps: 4, sampler: 'euler' }),
    );
    const kept = model.inpaint({ image, mask, steps: 4, sampler: 'dpmpp-2m' });
    // mask = 0 everywhere keeps every pixel: the result is the image.
    expect(Math.max(...Array.from(tf.abs(kept).dataSync()))).toBeLessThan(1e-3);
    tf.dispose([image, mask, kept]);
  });

  it('rejects bad inputs with a SculptError', async () => {
    await expect(model.sample({ labels: [0, 3] })).rejects.toThrow(
      /expected labels to be integers in \[0, 2\], got labels\[1\] = 3/,
    );
    await expect(model.sample({ labels: [0.5] })).rejects.toThrow(SculptError);
    await expect(model.sample({ sampler: 'no-such-sampler', numSamples: 1 })).rejects.toThrow(
      /expected a registered sampler name, got 'no-such-sampler'/,
    );
    await expect(model.sample({ guidanceScale: 3, numSamples: 1 })).rejects.toThrow(
      /expected labels with guidanceScale/,
    );
    const wrong = tf.zeros([1, 28, 28, 1]) as tf.Tensor4D;
    expect(() => model.img2img({ image: wrong })).toThrow(
      /expected images of shape \[N, 8, 8, 1\] in \[-1, 1\], got \[1, 28, 28, 1\]/,
    );
    wrong.dispose();
  });

  // One row per bad argument: the call, and the words its SculptError must contain. Every
  // row is also checked leak-free (a refused call frees what it made).
  const image = () => tf.zeros([2, 8, 8, 1]) as tf.Tensor4D;
  const mask = () => tf.ones([2, 8, 8, 1]);
  const BAD: [string, () => Promise<unknown> | unknown, RegExp][] = [
    [
      'guidanceScale NaN',
      () => model.sample({ labels: [0, 1], guidanceScale: Number.NaN }),
      /guidanceScale to be a finite number/,
    ],
    [
      'guidanceScale −1',
      () => model.sample({ labels: [0, 1], guidanceScale: -1 }),
      /guidanceScale to be a finite number ≥ 0/,
    ],
    [
      'guidanceScale ∞',
      () => model.sample({ labels: [0, 1], guidanceScale: Number.POSITIVE_INFINITY }),
      /guidanceScale/,
    ],
    [
      'guidanceRescale 2',
      () => model.sample({ labels: [0, 1], guidanceScale: 2, guidanceRescale: 2 }),
      /guidanceRescale in \[0, 1\]/,
    ],
    [
      'sigmas empty',
      () => model.sample({ numSamples: 1, sigmas: new Float32Array(0) }),
      /expected sigmas.*got 0 values/,
    ],
    [
      'sigmas rising',
      () => model.sample({ numSamples: 1, sigmas: Float32Array.from([1, 2, 0]) }),
      /non-increasing/,
    ],
    [
      'sampler {}',
      () => model.sample({ numSamples: 1, sampler: {} as never }),
      /sampler object with sample and sampleAsync/,
    ],
    ['numSamples 1e9', () => model.sample({ numSamples: 1e9 }), /integer in \[1, 4096\].*batches/],
    [
      'numSamples 0',
      () => model.sample({ numSamples: 0 }),
      /numSamples to be an integer in \[1, 4096\]/,
    ],
    [
      "labels '01'",
      () => model.sample({ labels: '01' as never }),
      /array of class ids.*got a string/,
    ],
    [
      'inpaint without mask',
      () => {
        const x = image();
        try {
          return model.inpaint({ image: x } as never);
        } finally {
          x.dispose();
        }
      },
      /expected mask.*got none/,
    ],
    [
      'inpaint plain-array mask',
      () => {
        const x = image();
        try {
          return model.inpaint({ image: x, mask: [[1]] as never });
        } finally {
          x.dispose();
        }
      },
      /expected mask.*got a plain array/,
    ],
    [
      'inpaint resampleCount 1e9',
      () => {
        const x = image();
        const m = mask();
        try {
          return model.inpaint({ image: x, mask: m, resampleCount: 1e9 });
        } finally {
          tf.dispose([x, m]);
        }
      },
      /resampleCount to be an integer in \[1, 100\]/,
    ],
    [
      'img2img NaN image',
      () => {
        const x = tf.fill([1, 8, 8, 1], Number.NaN) as tf.Tensor4D;
        try {
          return model.img2img({ image: x });
        } finally {
          x.dispose();
        }
      },
      /finite pixel values/,
    ],
    [
      'inpaint NaN mask',
      () => {
        const x = image();
        const m = tf.fill([2, 8, 8, 1], Number.NaN);
        try {
          return model.inpaint({ image: x, mask: m });
        } finally {
          tf.dispose([x, m]);
        }
      },
      /finite mask/,
    ],
  ];
  it.each(BAD)(
    'refuses %s with a SculptError naming it, leak-free',
    async (_name, call, message) => {
      await expectNoLeak(async () => {
        let error: unknown;
        try {
          await call();
        } catch (e) {
          error = e;
        }
        expect(error).toBeInstanceOf(SculptError);
        expect((error as Error).message).toMatch(message);
      });
    },
  );
});

describe('save / load', () => {
  it('save → load gives the same samples for a seed; toBytes → fromBytes too', async () => {
    const opts = { labels: [2, 0], guidanceScale: 1.5, steps: 3, seed: 11 };
    const before = await model.sample(opts);
    await model.save(join(dir, 'm'));
    const loaded = await DiffusionModel.load(join(dir, 'm'));
    expect(loaded.getConfig()).toEqual(model.getConfig());
    const after = await loaded.sample(opts);
    expect(Array.from(after.dataSync())).toEqual(Array.from(before.dataSync()));
    const fromBytes = DiffusionModel.fromBytes(await model.toBytes());
    const again = await fromBytes.sample(opts);
    expect(Array.from(again.dataSync())).toEqual(Array.from(before.dataSync()));
    tf.dispose([before, after, again]);
    loaded.dispose();
    fromBytes.dispose();
  });

  it('refuses a checkpoint of another config', async () => {
    const other = DiffusionModel.create({ preset: 'tiny', unet: { widths: [8, 24] } });
    await other.save(join(dir, 'other'));
    other.dispose();
    const bytes = await model.toBytes();
    expect(() => DiffusionModel.fromBytes(bytes.slice(0, 100))).toThrow();
  });
});

describe('forward process', () => {
  it('qSample is √ᾱ x0 + √(1−ᾱ) ε (closed form)', () => {
    const { schedule } = model;
    const x0 = tf.fill([1, 8, 8, 1], 0.5);
    const noise = tf.fill([1, 8, 8, 1], -1);
    const xt = qSample({ schedule, x0, step: 500, noise });
    const a = schedule.alphasCumprod[500];
    expect(xt.dataSync()[0]).toBeCloseTo(0.5 * Math.sqrt(a) - Math.sqrt(1 - a), 6);
    const m = forwardMoments(schedule, 500);
    expect(m.sigma).toBeCloseTo(Math.sqrt((1 - a) / a), 4);
    expect(() => forwardMoments(schedule, 1000)).toThrow(
      /expected step to be an integer in \[0, 999\], got 1000/,
    );
    tf.dispose([x0, noise, xt]);
  });

  it('predictX0 equals the denoiser at σ_t on x_t/√ᾱ_t, leak-free', async () => {
    const x0 = new Rng(2).normal([2, 8, 8, 1]);
    const noise = new Rng(3).normal([2, 8, 8, 1]);
    const xt = qSample({ schedule: model.schedule, x0, step: 300, noise });
    const m = forwardMoments(model.schedule, 300);
    await expectNoLeak(() => predictX0(model, { xt, step: 300, labels: [1, 2], guidanceScale: 2 }));
    const got = predictX0(model, { xt, step: 300, labels: [1, 2] });
    const want = tf.tidy(() =>
      model.denoiser(tf.div(xt, m.signalScale), tf.fill([2], m.sigma) as tf.Tensor1D, {
        labels: tf.tensor1d([1, 2], 'int32'),
      }),
    );
    const diff = Math.max(...Array.from(tf.abs(tf.sub(got, want)).dataSync()));
    expect(diff).toBeLessThan(1e-5);
    tf.dispose([x0, noise, xt, got, want]);
  });
});
