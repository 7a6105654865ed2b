import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { type Denoiser, Rng, type Sampler } from '@sculpt/core';
import { expectNoLeak } from '@sculpt/core/testing';
import { beforeAll, describe, expect, it } from 'vitest';
import { img2img, inpaint } from './editing.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

// Data ~ N(μ, s²): the exact denoiser is D(x, σ) = μ + s²/(s² + σ²)·(x − μ).
const mu = 0.5;
const s2 = 0.04;
const gaussian: Denoiser = (x, sigma) =>
  tf.tidy(() => {
    const sig = tf.reshape(sigma, [-1, ...new Array(x.rank - 1).fill(1)]);
    return tf.add(mu, tf.mul(tf.div(s2, tf.add(s2, tf.square(sig))), tf.sub(x, mu)));
  });

// A plain Euler sampler, so these tests do not depend on the registry.
const euler: Sampler = (denoiser, xT, sigmas) => {
  let x = tf.clone(xT);
  for (let i = 0; i < sigmas.length - 1; i++) {
    const next = tf.tidy(() => {
      const d = denoiser(x, tf.fill([x.shape[0]], sigmas[i]) as tf.Tensor1D);
      const slope = tf.div(tf.sub(x, d), sigmas[i]);
      return tf.add(x, tf.mul(slope, sigmas[i + 1] - sigmas[i]));
    });
    x.dispose();
    x = next;
  }
  return x;
};

const sigmas = new Float32Array([10, 5, 2, 1, 0.5, 0.2, 0.1, 0.05, 0.02, 0]);

async function meanAbs(a: tf.Tensor, b: tf.Tensor): Promise<number> {
  const d = tf.mean(tf.abs(tf.sub(a, b)));
  const v = (await d.data())[0];
  d.dispose();
  return v;
}

describe('img2img', () => {
  it('stays near the input at low strength and moves to the data at strength 1', async () => {
    const image = tf.fill([4, 8, 8, 1], -0.5);
    const light = img2img({
      sampler: euler,
      denoiser: gaussian,
      image,
      sigmas,
      strength: 0.2,
      rng: new Rng(0),
    });
    const full = img2img({
      sampler: euler,
      denoiser: gaussian,
      image,
      sigmas,
      strength: 1,
      rng: new Rng(0),
    });
    expect(light.shape).toEqual(image.shape);
    expect(await meanAbs(light, image)).toBeLessThan(await meanAbs(full, image));
    // Strength 1 lands on the data: mean ≈ μ.
    expect((await tf.mean(full).data())[0]).toBeCloseTo(mu, 1);
    tf.dispose([image, light, full]);
  });

  it('is deterministic for a seed, leak-free, and rejects a bad strength', async () => {
    const image = tf.zeros([2, 4]);
    const a = img2img({
      sampler: euler,
      denoiser: gaussian,
      image,
      sigmas,
      strength: 0.5,
      rng: new Rng(3),
    });
    const b = img2img({
      sampler: euler,
      denoiser: gaussian,
      image,
      sigmas,
      strength: 0.5,
      rng: new Rng(3),
    });
    expect(await a.data()).toEqual(await b.data());
    await expectNoLeak(() =>
      img2img({
        sampler: euler,
        denoiser: gaussian,
        image,
        sigmas,
        strength: 0.5,
        rng: new Rng(3),
      }),
    );
    expect(() =>
      img2img({ sampler: euler, denoiser: gaussian, image, sigmas, strength: 0, rng: new Rng(3) }),
    ).toThrow(/strength must be in \(0, 1\], got 0/);
    tf.dispose([image, a, b]);
  });
});

describe('inpaint', () => {
  it('keeps the known region exactly and fills the masked one from the model', async () => {
    const image = tf.fill([2, 6, 6, 1], -1);
    const maskValues = new Float32Array(2 * 36);
    for (let i = 0; i < maskValues.length; i++) maskValues[i] = i % 6 < 3 ? 1 : 0;
    const mask = tf.tensor4d(maskValues, [2, 6, 6, 1]);
    const out = inpaint({
      sampler: euler,
      denoiser: gaussian,
      image,
      mask,
      sigmas,
      rng: new Rng(1),
      resampleCount: 2,
    });
    const o = await out.data();
    for (let i = 0; i < o.length; i++) {
      if (maskValues[i] === 0) expect(o[i]).toBe(-1);
    }
    // Generated pixels follow the data (μ = 0.5, s = 0.2), far from the known −1.
    let m = 0;
    let n = 0;
    for (let i = 0; i < o.length; i++)
      if (maskValues[i] === 1) {
        m += o[i];
        n++;
      }
    expect(m / n).toBeGreaterThan(0.2);
    await expectNoLeak(() =>
      inpaint({
        sampler: euler,
        denoiser: gaussian,
        image,
        mask,
        sigmas,
        rng: new Rng(1),
        resampleCount: 1,
      }),
    );
    tf.dispose([image, mask, out]);
  });

  it('rejects a mask that does not broadcast', () => {
    const image = tf.zeros([1, 4, 4, 1]);
    const mask = tf.zeros([1, 3, 4, 1]);
    expect(() =>
      inpaint({ sampler: euler, denoiser: gaussian, image, mask, sigmas, rng: new Rng(0) }),
    ).toThrow(/mask must broadcast to the image shape \[1, 4, 4, 1\], got \[1, 3, 4, 1\]/);
    tf.dispose([image, mask]);
  });
});
