import '@tensorflow/tfjs-layers'; // registers tfjs-core's gradients (the Node build ships none)
import { initBackend } from '@sculpt/backend';
import { Rng, SculptError } from '@sculpt/core';
import { checkGradients, expectNoLeak } from '@sculpt/core/testing';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  checkLoss,
  classLoss,
  discriminatorLoss,
  ganConfig,
  generatorLoss,
  gradientPenalty,
  r1Penalty,
} from './index.js';
import { discriminatorForward, discriminatorParams, type Params } from './nets.js';

beforeAll(async () => {
  await initBackend('wasm');
});

const softplus = (t: number) => Math.log1p(Math.exp(t));
const value = (t: tf.Tensor) => {
  const v = t.dataSync()[0];
  t.dispose();
  return v;
};

describe('class loss', () => {
  it('is the mean cross-entropy −log softmax(logits)_y', () => {
    const logits = [
      [2, 0, -1],
      [0.5, 0.5, 3],
    ];
    const labels = [0, 1];
    const expected =
      labels
        .map((y, i) => {
          const row = logits[i];
          return Math.log(row.reduce((s, t) => s + Math.exp(t), 0)) - row[y];
        })
        .reduce((s, x) => s + x, 0) / 2;
    const l = tf.tensor2d(logits);
    const y = tf.tensor2d([
      [1, 0, 0],
      [0, 1, 0],
    ]);
    expect(value(classLoss(l, y))).toBeCloseTo(expected, 5);
    tf.dispose([l, y]);
  });
});

describe('adversarial losses', () => {
  const real = [2, -0.5];
  const fake = [-1, 1.5];
  it('match their formulas', () => {
    const r = tf.tensor1d(real);
    const f = tf.tensor1d(fake);
    const mean = (a: number[]) => a.reduce((s, x) => s + x, 0) / a.length;
    expect(value(discriminatorLoss('non-saturating', r, f))).toBeCloseTo(
      mean(real.map((x) => softplus(-x))) + mean(fake.map(softplus)),
      5,
    );
    expect(value(discriminatorLoss('hinge', r, f))).toBeCloseTo(
      mean(real.map((x) => Math.max(0, 1 - x))) + mean(fake.map((x) => Math.max(0, 1 + x))),
      5,
    );
    expect(value(discriminatorLoss('wgan-gp', r, f))).toBeCloseTo(mean(fake) - mean(real), 5);
    expect(value(generatorLoss('non-saturating', f))).toBeCloseTo(
      mean(fake.map((x) => softplus(-x))),
      5,
    );
    expect(value(generatorLoss('hinge', f))).toBeCloseTo(-mean(fake), 5);
    tf.dispose([r, f]);
  });

  it('rejects an unknown loss name, naming the known ones', () => {
    expect(() => checkLoss('test', 'lsgan')).toThrow(SculptError);
    expect(() => checkLoss('test', 'lsgan')).toThrow(/'non-saturating', 'hinge', 'wgan-gp'/);
  });
});

describe('gradient penalties', () => {
  const config = ganConfig({ preset: 'tiny' });
  let d: Params;
  let x: tf.Tensor4D;
  let other: tf.Tensor4D;
  beforeAll(() => {
    d = discriminatorParams(config, new Rng(3));
    x = new Rng(4).normal([2, 8, 8, 1]) as tf.Tensor4D;
    other = new Rng(5).normal([2, 8, 8, 1]) as tf.Tensor4D;
  });
  const critic = (p: Params) => (input: tf.Tensor4D) => discriminatorForward(p, undefined, input);

  /** ∇ₓ Σ D(x) by central differences, as a flat array. */
  function finiteInputGradient(at: tf.Tensor4D, h = 1e-2): Float32Array {
    const base = at.dataSync().slice() as Float32Array;
    const out = new Float32Array(base.length);
    for (let i = 0; i < base.length; i++) {
      const f = (delta: number) => {
        const shifted = base.slice();
        shifted[i] += delta;
        return tf.tidy(() => tf.sum(critic(d)(tf.tensor4d(shifted, at.shape))).dataSync()[0]);
      };
      out[i] = (f(h) - f(-h)) / (2 * h);
    }
    return out;
  }

  it('R1 equals the mean squared norm of the finite-difference input gradient', () => {
    const g = finiteInputGradient(x);
    const perImage = [0, 1].map((b) =>
      g.slice(b * 64, (b + 1) * 64).reduce((s, v) => s + v * v, 0),
    );
    const expected = (perImage[0] + perImage[1]) / 2;
    // float32 central differences across leaky-ReLU kinks: agree to ~1%
    expect(Math.abs(value(r1Penalty(critic(d), x)) - expected) / expected).toBeLessThan(0.02);
  });

  it('WGAN-GP equals (‖∇D(x̂)‖ − 1)² at x̂ = εx + (1 − ε)fake by finite differences', () => {
    const eps = [0.25, 0.8];
    const mixed = tf.tidy(() => {
      const e = tf.tensor4d(eps, [2, 1, 1, 1]);
      return tf.add(tf.mul(e, x), tf.mul(tf.sub(1, e), other)) as tf.Tensor4D;
    });
    const g = finiteInputGradient(mixed);
    mixed.dispose();
    const norms = [0, 1].map((b) =>
      Math.sqrt(g.slice(b * 64, (b + 1) * 64).reduce((s, v) => s + v * v, 0)),
    );
    const expected = ((norms[0] - 1) ** 2 + (norms[1] - 1) ** 2) / 2;
    const e = tf.tensor1d(eps);
    expect(Math.abs(value(gradientPenalty(critic(d), x, other, e)) - expected)).toBeLessThan(
      0.02 * Math.max(expected, 0.1),
    );
    e.dispose();
  });

  it("R1's gradient with respect to D's weights (second order) matches finite differences", () => {
    const report = checkGradients(
      (w) => r1Penalty(critic({ ...d, 'c2.w': w as tf.Variable }), x),
      [d['c2.w']],
      { maxCoordinates: 12, epsilon: 5e-3, tolerance: 5e-2 },
    );
    expect(report.checked).toBeGreaterThan(0);
  });

  it('are leak-free', async () => {
    await expectNoLeak(() => r1Penalty(critic(d), x));
    const e = tf.tensor1d([0.5, 0.5]);
    await expectNoLeak(() => gradientPenalty(critic(d), x, other, e));
    e.dispose();
  });
});
