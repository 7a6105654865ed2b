import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { SculptError } from '../errors.js';
import { Rng } from '../random/index.js';
import { checkGradients, expectNoLeak } from '../testing/index.js';
import { Normal } from './normal.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const LOG_2PI = Math.log(2 * Math.PI);
const arr = (t: tf.Tensor): number[] => Array.from(t.dataSync());

function make(): Normal {
  return new Normal({ loc: tf.tensor1d([0, 1, -2]), scale: tf.tensor1d([1, 2, 0.5]) });
}

describe('Normal', () => {
  it('logProb and entropy match the closed forms', () => {
    const d = make();
    const x = tf.tensor2d([
      [0.3, -1, -2.2],
      [2, 1, 0],
    ]);
    const lp = d.logProb(x);
    expect(lp.shape).toEqual([2, 3]);
    const mu = [0, 1, -2];
    const sd = [1, 2, 0.5];
    const xs = [0.3, -1, -2.2, 2, 1, 0];
    arr(lp).forEach((v, k) => {
      const i = k % 3;
      expect(v).toBeCloseTo(
        -((xs[k] - mu[i]) ** 2) / (2 * sd[i] ** 2) - Math.log(sd[i]) - 0.5 * LOG_2PI,
        5,
      );
    });
    const h = d.entropy();
    arr(h).forEach((v, i) => {
      expect(v).toBeCloseTo(0.5 * (1 + LOG_2PI) + Math.log(sd[i]), 5);
    });
    tf.dispose([x, lp, h]);
    d.dispose();
  });

  it('numbers work as parameters and broadcast (loc tensor, scale number)', () => {
    const d = new Normal({ loc: tf.zeros([4]), scale: 2 });
    expect(d.shape).toEqual([4]);
    const h = d.entropy();
    expect(h.shape).toEqual([4]);
    expect(arr(h)[3]).toBeCloseTo(0.5 * (1 + LOG_2PI) + Math.log(2), 5);
    h.dispose();
    d.dispose();
  });

  it('samples have the right moments and sampleShape; sample equals rsample for the same rng state', () => {
    const d = make();
    const x = d.sample(new Rng(1), [20000]);
    expect(x.shape).toEqual([20000, 3]);
    const { mean, variance } = tf.moments(x, 0);
    const m = arr(mean);
    const v = arr(variance);
    [0, 1, -2].forEach((mu, i) => {
      expect(Math.abs(m[i] - mu)).toBeLessThan((4 * [1, 2, 0.5][i]) / Math.sqrt(20000));
    });
    [1, 4, 0.25].forEach((s2, i) => {
      expect(v[i] / s2).toBeCloseTo(1, 1);
    });
    const a = d.sample(new Rng(5), [2]);
    const b = d.rsample(new Rng(5), [2]);
    expect(arr(a)).toEqual(arr(b));
    tf.dispose([x, mean, variance, a, b]);
    d.dispose();
  });

  it('rsample is differentiable (∂Σx/∂μ = N, ∂Σx/∂σ = Σε); sample is not', () => {
    const loc = tf.tensor1d([0.5, -1]);
    const scale = tf.tensor1d([2, 0.3]);
    const run = (method: 'rsample' | 'sample') =>
      tf.grads((l: tf.Tensor, s: tf.Tensor) => {
        const d = new Normal({ loc: tf.clone(l), scale: tf.clone(s), validate: false });
        const out = tf.sum(d[method](new Rng(3), [5]));
        d.dispose();
        return out;
      })([loc, scale]);
    const [gl, gs] = run('rsample');
    expect(arr(gl)).toEqual([5, 5]);
    const eps = new Rng(3).normalArray(10);
    expect(arr(gs)[0]).toBeCloseTo(eps[0] + eps[2] + eps[4] + eps[6] + eps[8], 4);
    const [zl, zs] = run('sample');
    expect(arr(zl)).toEqual([0, 0]);
    expect(arr(zs)).toEqual([0, 0]);
    tf.dispose([loc, scale, gl, gs, zl, zs]);
  });

  it('logProb gradients agree with finite differences', () => {
    const loc = tf.tensor1d([0.5, -1, 2]);
    const scale = tf.tensor1d([1.5, 0.7, 1]);
    const x = tf.tensor1d([0, 0.3, 1]);
    const report = checkGradients(
      (l, s) => {
        const d = new Normal({ loc: tf.clone(l), scale: tf.clone(s), validate: false });
        const out = tf.sum(d.logProb(x)) as tf.Scalar;
        d.dispose();
        return out;
      },
      [loc, scale],
    );
    expect(report.maxRelativeError).toBeLessThan(2e-2);
    tf.dispose([loc, scale, x]);
  });

  it('kl matches the closed form and a Monte-Carlo estimate', () => {
    const p = new Normal({ loc: tf.tensor1d([0, 1]), scale: tf.tensor1d([1, 0.5]) });
    const q = new Normal({ loc: tf.tensor1d([0.5, 0]), scale: tf.tensor1d([2, 1]) });
    const kl = arr(p.kl(q));
    const closed = (m1: number, s1: number, m2: number, s2: number) =>
      Math.log(s2 / s1) + (s1 ** 2 + (m1 - m2) ** 2) / (2 * s2 ** 2) - 0.5;
    expect(kl[0]).toBeCloseTo(closed(0, 1, 0.5, 2), 5);
    expect(kl[1]).toBeCloseTo(closed(1, 0.5, 0, 1), 5);
    const n = 40000;
    const x = p.sample(new Rng(9), [n]);
    const diff = tf.tidy(() => tf.sub(p.logProb(x), q.logProb(x)));
    const { mean, variance } = tf.moments(diff, 0);
    const m = arr(mean);
    const se = arr(variance).map((v) => Math.sqrt(v / n));
    kl.forEach((k, i) => {
      expect(Math.abs(m[i] - k)).toBeLessThan(4 * se[i]);
    });
    tf.dispose([x, diff, mean, variance]);
    p.dispose();
    q.dispose();
  });

  it('throws SculptErrors (and frees its parameters) for mismatched shapes and non-positive scale', () => {
    const before = tf.memory().numTensors;
    expect(() => new Normal({ loc: tf.zeros([2]), scale: tf.ones([3]) })).toThrow(
      /Normal: shapes must broadcast together, got \[2\] and \[3\]\. Fix:/,
    );
    expect(() => new Normal({ loc: 0, scale: -1 })).toThrow(/Normal: scale must be > 0, got -1/);
    expect(() => new Normal({ loc: tf.zeros([2]), scale: tf.tensor1d([1, -0.1]) })).toThrow(
      /every scale must be > 0.*Fix:/,
    );
    expect(() => new Normal({ loc: tf.zeros([2], 'int32'), scale: 1 })).toThrow(
      /loc must be float32, got int32/,
    );
    expect(tf.memory().numTensors).toBe(before);
    const d = make();
    const bad = tf.zeros([4]);
    expect(() => d.logProb(bad)).toThrow(SculptError);
    d.dispose();
    expect(d.isDisposed).toBe(true);
    expect(() => d.entropy()).toThrow(
      /Normal\.entropy: a live distribution, got one that was disposed/,
    );
    bad.dispose();
  });

  it('does not leak', async () => {
    await expectNoLeak(() => {
      const d = make();
      const q = new Normal({ loc: 0, scale: 3 });
      const rng = new Rng(0);
      const x = d.sample(rng, [4]);
      const out = [x, d.rsample(rng), d.logProb(x), d.entropy(), d.kl(q), tf.clone(d.variance)];
      d.dispose();
      q.dispose();
      return out;
    });
  });
});
