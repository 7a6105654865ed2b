import '@tensorflow/tfjs-layers'; // registers tfjs-core's gradients (the Node build ships none)
import { initBackend } from '@sculpt/backend';
import { Rng, SculptError } from '@sculpt/core';
import { expectNoLeak } from '@sculpt/core/testing';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  type GanBatch,
  GanModel,
  type GanStepResult,
  GanTrainer,
  modulatedConv,
  numStyleLayers,
  styleResolutions,
} from './index.js';
import { styleLayers, synthesis, toRgb } from './style.js';

beforeAll(async () => {
  await initBackend('wasm');
});

const maxDiff = (a: tf.Tensor, b: tf.Tensor) =>
  tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]);

/** Two 8×8 bar images in [−1, 1], drawn with replacement. */
function bars(n: number) {
  const px = new Float32Array(2 * 64).fill(-1);
  for (let i = 0; i < 8; i++) {
    px[3 * 8 + i] = 1;
    px[64 + i * 8 + 4] = 1;
  }
  return (_step: number, rng: Rng): GanBatch => {
    const idx = rng.integers(n, 0, 2);
    const images = tf.tidy(() => {
      const all = tf.tensor4d(px, [2, 8, 8, 1]);
      return tf.concat(Array.from(idx, (i) => tf.slice(all, i, 1))) as tf.Tensor4D;
    });
    return { images };
  };
}

describe('style generator', () => {
  it('has resolutions 4 → 7 → 14 → 28 and makes [B, 28, 28, 1] images', () => {
    expect(styleResolutions(28)).toEqual([4, 7, 14, 28]);
    expect(styleResolutions(8)).toEqual([4, 8]);
    const gan = GanModel.create('stylegan-mnist', { seed: 0 });
    expect(numStyleLayers(gan.config)).toBe(7);
    const x = gan.sample({
      numSamples: 2,
      seed: 1,
      truncation: 0.7,
      mixing: { seed: 2, crossover: 3 },
    });
    expect(x.shape).toEqual([2, 28, 28, 1]);
    expect(Math.max(...tf.abs(x).dataSync())).toBeLessThan(1);
    x.dispose();
    gan.dispose();
  });

  it('modulated conv with demodulation matches per-sample explicitly modulated weights', () => {
    const rng = new Rng(3);
    const x = rng.normal([3, 5, 5, 4]) as tf.Tensor4D;
    const s = rng.normal([3, 4]) as tf.Tensor2D;
    const w = rng.normal([3, 3, 4, 6]) as tf.Tensor4D;
    for (const demodulate of [true, false]) {
      const fast = modulatedConv(x, s, w, demodulate);
      const reference = tf.tidy(() => {
        const rows = [0, 1, 2].map((b) => {
          const sb = tf.reshape(tf.slice(s, [b, 0], [1, 4]), [1, 1, 4, 1]);
          let wb = tf.mul(w, sb) as tf.Tensor4D; // w'_{kio} = s_i w_{kio}
          if (demodulate)
            wb = tf.div(wb, tf.sqrt(tf.add(tf.sum(tf.square(wb), [0, 1, 2], true), 1e-8)));
          return tf.conv2d(tf.slice(x, b, 1) as tf.Tensor4D, wb, 1, 'same');
        });
        return tf.concat(rows);
      });
      expect(maxDiff(fast, reference)).toBeLessThan(1e-4);
      tf.dispose([fast, reference]);
    }
    tf.dispose([x, s, w]);
  });

  it('toRGB as one product per image matches the 1×1 modulated conv: values and gradients', () => {
    const rng = new Rng(5);
    const x = rng.normal([3, 5, 4, 6]) as tf.Tensor4D;
    const s = rng.normal([3, 6]) as tf.Tensor2D;
    const w = rng.normal([1, 1, 6, 2]) as tf.Tensor4D;
    const dy = rng.normal([3, 5, 4, 2]);
    const loss = (f: typeof toRgb) => (a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) =>
      tf.sum(tf.mul(f(a as tf.Tensor4D, b as tf.Tensor2D, c as tf.Tensor4D), dy));
    const conv = (a: tf.Tensor4D, b: tf.Tensor2D, c: tf.Tensor4D) => modulatedConv(a, b, c, false);
    const got = tf.grads(loss(toRgb))([x, s, w]);
    const want = tf.grads(loss(conv))([x, s, w]);
    const y = toRgb(x, s, w);
    const ref = conv(x, s, w);
    expect(y.shape).toEqual([3, 5, 4, 2]);
    expect(maxDiff(y, ref)).toBeLessThan(1e-5);
    got.forEach((g, i) => {
      expect(maxDiff(g, want[i]), ['dx', 'ds', 'dw'][i]).toBeLessThan(1e-4);
    });
    tf.dispose([x, s, w, dy, y, ref, ...got, ...want]);
  });

  it('truncation ψ = 0 gives the mean-w image for any z', () => {
    const gan = GanModel.create('tiny-style', { seed: 1 });
    const avg = new Rng(4).normal([gan.config.styleDim]);
    gan.meanStyle.avg.assign(avg);
    const z1 = new Rng(5).normal([2, 8]) as tf.Tensor2D;
    const z2 = new Rng(6).normal([2, 8]) as tf.Tensor2D;
    const a = gan.generate(z1, undefined, { truncation: 0, noise: new Rng(7) });
    const b = gan.generate(z2, undefined, { truncation: 0, noise: new Rng(7) });
    const mean = tf.tidy(() => {
      const w = tf.tile(tf.reshape(avg, [1, -1]), [2, 1]) as tf.Tensor2D;
      const ws = styleLayers(gan.config).map(() => w);
      return synthesis(gan.config, gan.generator, ws, new Rng(7));
    });
    const free = gan.generate(z1, undefined, { truncation: 1, noise: new Rng(7) });
    expect(maxDiff(a, b)).toBeLessThan(1e-6);
    expect(maxDiff(a, mean)).toBeLessThan(1e-6);
    expect(maxDiff(a, free)).toBeGreaterThan(1e-3); // z does matter without truncation
    tf.dispose([avg, z1, z2, a, b, mean, free]);
    gan.dispose();
  });

  it('style mixing: layers before the crossover follow z, later ones the second z', () => {
    const gan = GanModel.create('tiny-style', { seed: 2 });
    const opts = { numSamples: 2, seed: 3 };
    const plain = gan.sample(opts);
    const mixed = gan.sample({ ...opts, mixing: { seed: 9, crossover: 2 } });
    const other = gan.sample({ ...opts, mixing: { seed: 9, crossover: 1 } });
    expect(maxDiff(plain, mixed)).toBeGreaterThan(1e-4);
    expect(maxDiff(mixed, other)).toBeGreaterThan(1e-4);
    tf.dispose([plain, mixed, other]);
    gan.dispose();
  });

  it('trains with GanTrainer: D(real) and D(fake) move apart, w̄ is tracked', async () => {
    const gan = GanModel.create('tiny-style', { seed: 1 });
    const trainer = new GanTrainer(gan, {
      discriminatorLearningRate: 2e-3,
      generatorLearningRate: 2e-3,
      r1Gamma: 1,
      r1Every: 4,
      seed: 2,
    });
    const log: GanStepResult[] = [];
    await trainer.fit({
      data: bars(16),
      steps: 40,
      callbacks: { onStep: (r) => void log.push(r) },
    });
    const late = log.slice(10);
    const gap = late.reduce((s, r) => s + r.dReal - r.dFake, 0) / late.length;
    expect(gap).toBeGreaterThan(0.5);
    expect(tf.tidy(() => tf.norm(gan.meanStyle.avg).dataSync()[0])).toBeGreaterThan(0.01);
    trainer.dispose();
    gan.dispose();
  });

  it('leaks nothing in a train step or a sample; save → load gives identical samples', async () => {
    const gan = GanModel.create({ preset: 'tiny-style', numClasses: 3 }, { seed: 1 });
    const trainer = new GanTrainer(gan, { r1Gamma: 1, r1Every: 1 });
    const batch = { images: bars(4)(0, new Rng(0)).images, labels: [0, 1, 2, 0] };
    await trainer.step(batch); // optimizer slots are created on the first step
    await expectNoLeak(async () => {
      await trainer.step(batch);
    });
    const opts = { labels: [2, 0], seed: 4, truncation: 0.5, mixing: { seed: 5, crossover: 1 } };
    await expectNoLeak(() => gan.sample(opts));
    await expectNoLeak(() => GanModel.create('tiny-style').dispose());
    const copy = GanModel.fromBytes(await gan.toBytes());
    const a = gan.sample(opts);
    const b = copy.sample(opts);
    expect(Array.from(b.dataSync())).toEqual(Array.from(a.dataSync()));
    expect(Array.from(copy.meanStyle.avg.dataSync())).toEqual(
      Array.from(gan.meanStyle.avg.dataSync()),
    );
    tf.dispose([a, b, batch.images]);
    for (const x of [trainer, gan, copy]) x.dispose();
  });

  it('rejects bad input with a SculptError naming the fix', () => {
    const gan = GanModel.create({ preset: 'tiny-style', numClasses: 3 });
    expect(() => gan.sample({ labels: [0], truncation: 1.5 })).toThrow(/truncation ψ in \[0, 1\]/);
    expect(() => gan.sample({ labels: [0], truncation: -0.1 })).toThrow(SculptError);
    expect(() => gan.sample({ labels: [0], mixing: { seed: 1, crossover: 3 } })).toThrow(
      /crossover to be an integer in \[1, 2\]/,
    );
    expect(() => gan.sample({ labels: [3] })).toThrow(/\[0, 2\]/);
    const z = tf.zeros([2, 5]) as tf.Tensor2D;
    expect(() => gan.generate(z, [0, 1])).toThrow(/z of shape \[B, 8\]/);
    const good = tf.zeros([2, 8]) as tf.Tensor2D;
    expect(() => gan.generate(good, [0, 1], { mixing: { latents: z, crossover: 1 } })).toThrow(
      /mixing.latents of shape \[2, 8\]/,
    );
    tf.dispose([z, good]);
    expect(() => new GanTrainer(gan, { loss: 'lsgan' as 'hinge' })).toThrow(/expected loss/);
    const dcgan = GanModel.create('tiny');
    expect(() => dcgan.sample({ truncation: 0.7 })).toThrow(/generator: 'style'/);
    expect(() => GanModel.create({ preset: 'tiny', generator: 'big' as 'style' })).toThrow(
      /'dcgan' or 'style'/,
    );
    dcgan.dispose();
    gan.dispose();
  });
});
