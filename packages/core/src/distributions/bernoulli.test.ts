import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { SculptError } from '../errors.js';
import { Rng } from '../random/index.js';
import { checkGradients, expectNoLeak } from '../testing/index.js';
import { Bernoulli } from './bernoulli.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const arr = (t: tf.Tensor): number[] => Array.from(t.dataSync());
const sigmoid = (l: number) => 1 / (1 + Math.exp(-l));
const L = [-2, 0, 0.5, 3];

describe('Bernoulli', () => {
  it('logProb, entropy, probs and mode match the closed forms', () => {
    const d = new Bernoulli({ logits: tf.tensor1d(L) });
    const ones = tf.ones([4]);
    const zeros = tf.zeros([4]);
    const lp1 = arr(d.logProb(ones));
    const lp0 = arr(d.logProb(zeros));
    const h = arr(d.entropy());
    L.forEach((l, i) => {
      const p = sigmoid(l);
      expect(lp1[i]).toBeCloseTo(Math.log(p), 5);
      expect(lp0[i]).toBeCloseTo(Math.log(1 - p), 5);
      expect(h[i]).toBeCloseTo(-p * Math.log(p) - (1 - p) * Math.log(1 - p), 5);
      expect(arr(d.probs)[i]).toBeCloseTo(p, 6);
    });
    expect(h[1]).toBeCloseTo(Math.LN2, 6);
    expect(arr(d.mode)).toEqual([0, 0, 1, 1]);
    tf.dispose([ones, zeros]);
    d.dispose();
  });

  it('is numerically stable for large |logits|', () => {
    const d = new Bernoulli({ logits: tf.tensor1d([-100, 100]) });
    const lp1 = arr(d.logProb(tf.ones([2])));
    const lp0 = arr(d.logProb(tf.zeros([2])));
    expect(lp1[0]).toBeCloseTo(-100, 4); // log σ(−100) = −100 − log(1 + e^{−100})
    expect(lp0[1]).toBeCloseTo(-100, 4);
    expect(lp1[1]).toBeCloseTo(0, 6);
    expect(lp0[0]).toBeCloseTo(0, 6);
    arr(d.entropy()).forEach((v) => {
      expect(Number.isFinite(v) && v >= 0 && v < 1e-6).toBe(true);
    });
    d.dispose();
  });

  it('samples 0/1 with frequency p; sampleShape leads; eventDims sums logProb to [B]', () => {
    const d = new Bernoulli({ logits: tf.tensor1d(L) });
    const n = 20000;
    const x = d.sample(new Rng(3), [n]);
    expect(x.shape).toEqual([n, 4]);
    expect(x.dtype).toBe('float32');
    const vals = arr(x);
    expect(vals.every((v) => v === 0 || v === 1)).toBe(true);
    const freq = arr(tf.mean(x, 0));
    L.forEach((l, i) => {
      const p = sigmoid(l);
      expect(Math.abs(freq[i] - p)).toBeLessThan(4 * Math.sqrt((p * (1 - p)) / n));
    });
    x.dispose();
    d.dispose();
    const img = new Bernoulli({ logits: tf.tensor4d(L.concat(L), [2, 2, 2, 1]), eventDims: 3 });
    const lp = img.logProb(tf.ones([2, 2, 2, 1]));
    expect(lp.shape).toEqual([2]);
    expect(arr(lp)[0]).toBeCloseTo(
      L.reduce((a, l) => a + Math.log(sigmoid(l)), 0),
      4,
    );
    lp.dispose();
    img.dispose();
  });

  it('logProb gradient is x − σ(l) (checked by finite differences)', () => {
    const logits = tf.tensor1d(L);
    const x = tf.tensor1d([1, 0, 1, 0]);
    const report = checkGradients(
      (l) => {
        const d = new Bernoulli({ logits: tf.clone(l) });
        const out = tf.sum(d.logProb(x)) as tf.Scalar;
        d.dispose();
        return out;
      },
      [logits],
    );
    expect(report.maxRelativeError).toBeLessThan(2e-2);
    tf.dispose([logits, x]);
  });

  it('kl matches the closed form and is zero against itself', () => {
    const p = new Bernoulli({ logits: tf.tensor1d([0.3, -1]) });
    const q = new Bernoulli({ logits: tf.tensor1d([-0.5, 2]) });
    const kl = arr(p.kl(q));
    [
      [0.3, -0.5],
      [-1, 2],
    ].forEach(([a, b], i) => {
      const [pa, qb] = [sigmoid(a), sigmoid(b)];
      expect(kl[i]).toBeCloseTo(
        pa * Math.log(pa / qb) + (1 - pa) * Math.log((1 - pa) / (1 - qb)),
        5,
      );
    });
    arr(p.kl(p)).forEach((v) => {
      expect(Math.abs(v)).toBeLessThan(1e-6);
    });
    p.dispose();
    q.dispose();
  });

  it('throws SculptErrors for bad arguments', () => {
    const before = tf.memory().numTensors;
    expect(() => new Bernoulli({ logits: tf.zeros([2], 'int32') })).toThrow(
      /Bernoulli: logits must be float32, got int32\. Fix:/,
    );
    expect(() => new Bernoulli({ logits: tf.zeros([2]), eventDims: 2 })).toThrow(SculptError);
    expect(tf.memory().numTensors).toBe(before);
    const d = new Bernoulli({ logits: tf.zeros([2, 3]) });
    const bad = tf.zeros([3, 2]);
    expect(() => d.logProb(bad)).toThrow(/Bernoulli.logProb: x shape must end with \[2, 3\]/);
    bad.dispose();
    d.dispose();
  });

  it('does not leak', async () => {
    await expectNoLeak(() => {
      const d = new Bernoulli({ logits: tf.tensor2d([L, L]), eventDims: 1 });
      const q = new Bernoulli({ logits: tf.zeros([2, 4]), eventDims: 1 });
      const x = d.sample(new Rng(0), [3]);
      const out = [x, d.logProb(x), d.entropy(), d.kl(q), tf.clone(d.probs), tf.clone(d.mode)];
      d.dispose();
      q.dispose();
      return out;
    });
  });
});
