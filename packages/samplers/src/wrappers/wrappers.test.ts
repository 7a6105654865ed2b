import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { noiseSchedule, sigmaToT } from '@sculpt/core';
import { expectNoLeak } from '@sculpt/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { discreteDenoiser, karrasDenoiser, sigmaToTimestep } from './discrete.js';
import { classifierFreeGuidance, dynamicThresholding } from './guidance.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const schedule = noiseSchedule({ kind: 'linear', numTrainTimesteps: 1000 });
const x0True = tf.tensor2d([[0.3, -0.7, 1.2]]);
afterAll(() => x0True.dispose());

async function values(t: tf.Tensor): Promise<number[]> {
  const v = Array.from(await t.data());
  t.dispose();
  return v;
}

describe('sigmaToTimestep', () => {
  it('matches the CPU interpolation of core', async () => {
    const sigmas = [0.02, 0.5, 1, 3.3, 14];
    const logSigmas = tf.log(tf.tensor1d(schedule.sigmas)) as tf.Tensor1D;
    const t = await values(sigmaToTimestep(tf.tensor1d(sigmas), logSigmas));
    sigmas.forEach((s, i) => expect(t[i]).toBeCloseTo(sigmaToT(schedule, s), 2));
    logSigmas.dispose();
  });
});

describe('discreteDenoiser', () => {
  // For data that is one point x0*, the exact network outputs are known in
  // closed form: ε = (x − x0*)/σ, v = c_in·ε − σ·c_in·x0*, x0 = x0*.
  const sigma = 2.5;
  const cIn = 1 / Math.sqrt(sigma * sigma + 1);
  const cases = {
    epsilon: (xt: tf.Tensor) => tf.div(tf.sub(tf.div(xt, cIn), x0True), sigma),
    v: (xt: tf.Tensor) =>
      tf.sub(
        tf.mul(tf.div(tf.sub(tf.div(xt, cIn), x0True), sigma), cIn),
        tf.mul(x0True, sigma * cIn),
      ),
    sample: () => tf.clone(x0True),
  } as const;
  for (const [prediction, net] of Object.entries(cases)) {
    it(`recovers x0 from an exact ${prediction}-prediction network`, async () => {
      const denoiser = discreteDenoiser((xt) => net(xt), {
        schedule,
        prediction: prediction as 'v',
      });
      const x = tf.add(x0True, tf.mul(tf.tensor2d([[0.5, 1, -1]]), sigma));
      const out = await values(denoiser(x, tf.tensor1d([sigma])));
      const want = await x0True.data();
      out.forEach((v, i) => expect(v).toBeCloseTo(want[i], 4));
      x.dispose();
      denoiser.dispose();
    });
  }

  it('is leak-free and rejects a bad prediction type', async () => {
    const denoiser = discreteDenoiser((xt) => tf.zerosLike(xt), { schedule });
    const x = tf.ones([2, 3]);
    const s = tf.tensor1d([1, 2]);
    await expectNoLeak(() => denoiser(x, s));
    tf.dispose([x, s]);
    denoiser.dispose();
    expect(() => discreteDenoiser((xt) => xt, { schedule, prediction: 'eps' as never })).toThrow(
      /prediction must be/,
    );
  });
});

describe('karrasDenoiser', () => {
  it('applies c_skip, c_out, c_in and c_noise', async () => {
    const sigmaData = 0.5;
    const sigma = 2;
    // F returns its input plus c_noise: D = c_skip·x + c_out·(c_in·x + ln σ / 4).
    const denoiser = karrasDenoiser((x, cNoise) => tf.add(x, tf.reshape(cNoise, [-1, 1])), {
      sigmaData,
    });
    const x = tf.tensor2d([[1, -2]]);
    const out = await values(denoiser(x, tf.tensor1d([sigma])));
    const total = sigma ** 2 + sigmaData ** 2;
    const [cSkip, cOut, cIn, cNoise] = [
      sigmaData ** 2 / total,
      (sigma * sigmaData) / Math.sqrt(total),
      1 / Math.sqrt(total),
      Math.log(sigma) / 4,
    ];
    [1, -2].forEach((xi, i) =>
      expect(out[i]).toBeCloseTo(cSkip * xi + cOut * (cIn * xi + cNoise), 5),
    );
    x.dispose();
  });
});

describe('classifierFreeGuidance', () => {
  // A denoiser whose output is the label value everywhere: D_c = label, D_u = null label (0).
  const byLabel = (x: tf.Tensor, _s: tf.Tensor1D, cond?: { labels?: tf.Tensor1D }) =>
    tf.mul(tf.onesLike(x), tf.reshape(tf.cast(cond!.labels!, 'float32'), [-1, 1]));
  const uncond = (cond?: { labels?: tf.Tensor1D }) => ({
    labels: tf.zerosLike(cond!.labels!) as tf.Tensor1D,
  });

  it('returns D_u + w (D_c − D_u)', async () => {
    const guided = classifierFreeGuidance(byLabel, { guidanceScale: 3, uncond });
    const x = tf.zeros([2, 4]);
    const labels = tf.tensor1d([2, 5], 'int32');
    const out = await values(guided(x, tf.tensor1d([1, 1]), { labels }));
    expect(out.slice(0, 4)).toEqual([6, 6, 6, 6]);
    expect(out.slice(4)).toEqual([15, 15, 15, 15]);
    tf.dispose([x, labels]);
  });

  it('rescales the guided noise to the conditional std when φ = 1', async () => {
    const denoiser = (x: tf.Tensor, _s: tf.Tensor1D, cond?: { labels?: tf.Tensor1D }) =>
      tf.mul(x, tf.add(1, tf.reshape(tf.cast(cond!.labels!, 'float32'), [-1, 1])));
    const guided = classifierFreeGuidance(denoiser, {
      guidanceScale: 5,
      uncond,
      guidanceRescale: 1,
    });
    const x = tf.tensor2d([[1, 2, 3, 4]]);
    const labels = tf.tensor1d([1], 'int32');
    const sigma = tf.tensor1d([2]);
    const d = guided(x, sigma, { labels });
    const eps = tf.div(tf.sub(x, d), 2);
    const epsCond = tf.div(tf.sub(x, denoiser(x, sigma, { labels })), 2);
    const [a, b] = [
      await values(tf.moments(eps).variance),
      await values(tf.moments(epsCond).variance),
    ];
    expect(a[0]).toBeCloseTo(b[0], 4);
    tf.dispose([x, labels, sigma, d, eps, epsCond]);
  });

  it('skips the unconditional pass at w = 1, is leak-free, rejects negative w', async () => {
    const x = tf.zeros([1, 2]);
    const labels = tf.tensor1d([4], 'int32');
    const s = tf.tensor1d([1]);
    expect(
      await values(classifierFreeGuidance(byLabel, { guidanceScale: 1, uncond })(x, s, { labels })),
    ).toEqual([4, 4]);
    const guided = classifierFreeGuidance(byLabel, { guidanceScale: 7, uncond });
    await expectNoLeak(() => guided(x, s, { labels }));
    tf.dispose([x, labels, s]);
    expect(() => classifierFreeGuidance(byLabel, { guidanceScale: -1, uncond })).toThrow(
      /guidanceScale must be a finite number ≥ 0, got -1/,
    );
  });
});

describe('dynamicThresholding', () => {
  it('clips at the percentile and rescales into [−1, 1]', async () => {
    // |x̂₀| = 0..99 / 10 → the 0.9 quantile (k = 10th largest) is 9.0; maxValue 5 caps s at 5.
    const data = Array.from({ length: 100 }, (_, i) => i / 10);
    const denoiser = dynamicThresholding((x) => tf.clone(x), { percentile: 0.9, maxValue: 5 });
    const x = tf.tensor2d([data]);
    const out = await values(denoiser(x, tf.tensor1d([1])));
    data.forEach((v, i) => expect(out[i]).toBeCloseTo(Math.min(v, 5) / 5, 5));
    x.dispose();
    // Inside [−1, 1] nothing changes (s is at least 1).
    const small = tf.tensor2d([[0.5, -0.25]]);
    expect(await values(denoiser(small, tf.tensor1d([1])))).toEqual([0.5, -0.25]);
    small.dispose();
    expect(() => dynamicThresholding((x) => x, { percentile: 0 })).toThrow(
      /percentile must be in \(0, 1\]/,
    );
  });
});
