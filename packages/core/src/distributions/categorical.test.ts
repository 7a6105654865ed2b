import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { SculptError } from '../errors.js';
import { Rng } from '../random/index.js';
import { checkGradients, expectNoLeak } from '../testing/index.js';
import { Categorical } from './categorical.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const arr = (t: tf.Tensor): number[] => Array.from(t.dataSync());
const LOGITS = [
  [1, 2, 0, -1],
  [0, 0, 0, 0],
];
function softmax(row: number[]): number[] {
  const m = Math.max(...row);
  const e = row.map((v) => Math.exp(v - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
}

describe('Categorical', () => {
  it('probs, logProb, entropy and mode match the closed forms', () => {
    const d = new Categorical({ logits: tf.tensor2d(LOGITS) });
    expect(d.batchShape).toEqual([2]);
    expect(d.numClasses).toBe(4);
    const P = LOGITS.map(softmax);
    arr(d.probs).forEach((v, i) => {
      expect(v).toBeCloseTo(P.flat()[i], 6);
    });
    const lp = arr(d.logProb(tf.tensor1d([1, 3], 'int32')));
    expect(lp[0]).toBeCloseTo(Math.log(P[0][1]), 5);
    expect(lp[1]).toBeCloseTo(Math.log(0.25), 5);
    const h = arr(d.entropy());
    expect(h[0]).toBeCloseTo(-P[0].reduce((a, p) => a + p * Math.log(p), 0), 5);
    expect(h[1]).toBeCloseTo(Math.log(4), 5);
    expect(arr(d.mode)).toEqual([1, 0]);
    d.dispose();
  });

  it('samples with frequencies ≈ probs; sampleShape leads; logProb takes [S, B] values', () => {
    const d = new Categorical({ logits: tf.tensor2d(LOGITS) });
    const n = 20000;
    const x = d.sample(new Rng(7), [n]);
    expect(x.shape).toEqual([n, 2]);
    expect(x.dtype).toBe('int32');
    const v = arr(x);
    const P = LOGITS.map(softmax);
    for (let b = 0; b < 2; b++) {
      const counts = [0, 0, 0, 0];
      for (let s = 0; s < n; s++) counts[v[2 * s + b]]++;
      counts.forEach((c, k) => {
        const se = Math.sqrt((P[b][k] * (1 - P[b][k])) / n);
        expect(Math.abs(c / n - P[b][k])).toBeLessThan(4 * se);
      });
    }
    const lp = d.logProb(x);
    expect(lp.shape).toEqual([n, 2]);
    // Mean log-likelihood of own samples ≈ −entropy.
    const m = arr(tf.mean(lp, 0));
    const h = arr(d.entropy());
    m.forEach((val, b) => {
      expect(Math.abs(val + h[b])).toBeLessThan(0.03);
    });
    tf.dispose([x, lp]);
    d.dispose();
    const single = new Categorical({ logits: tf.tensor1d([0, 10]) });
    const s = single.sample(new Rng(1), [3, 2]);
    expect(s.shape).toEqual([3, 2]);
    s.dispose();
    single.dispose();
  });

  it('logProb gradient (one-hot − softmax) agrees with finite differences', () => {
    const logits = tf.tensor2d(LOGITS);
    const y = tf.tensor1d([2, 1], 'int32');
    const report = checkGradients(
      (l) => {
        const d = new Categorical({ logits: tf.clone(l) });
        const out = tf.sum(d.logProb(y)) as tf.Scalar;
        d.dispose();
        return out;
      },
      [logits],
    );
    expect(report.maxRelativeError).toBeLessThan(2e-2);
    tf.dispose([logits, y]);
  });

  it('handles −∞ logits (masked tokens): finite entropy and gradient', () => {
    const logits = tf.tensor2d([[0, 0, -Infinity]]);
    const d = new Categorical({ logits: tf.clone(logits) });
    expect(arr(d.entropy())[0]).toBeCloseTo(Math.LN2, 6);
    const lp = arr(d.logProb(tf.tensor1d([0], 'int32')));
    expect(lp[0]).toBeCloseTo(-Math.LN2, 6); // 0·(−∞) from the masked class must not turn this into NaN
    expect(arr(d.logProb(tf.tensor1d([2], 'int32')))[0]).toBeLessThan(-1e29);
    d.dispose();
    const g = tf.grad((l: tf.Tensor) => {
      const c = new Categorical({ logits: tf.clone(l) });
      const out = tf.sum(c.entropy());
      c.dispose();
      return out;
    })(logits);
    expect(arr(g).every(Number.isFinite)).toBe(true);
    tf.dispose([logits, g]);
  });

  it('kl matches the closed form', () => {
    const p = new Categorical({ logits: tf.tensor2d(LOGITS) });
    const q = new Categorical({
      logits: tf.tensor2d([
        [0, 1, 0, 1],
        [2, 0, 0, 0],
      ]),
    });
    const kl = arr(p.kl(q));
    const P = LOGITS.map(softmax);
    const Q = [
      [0, 1, 0, 1],
      [2, 0, 0, 0],
    ].map(softmax);
    for (let b = 0; b < 2; b++)
      expect(kl[b]).toBeCloseTo(
        P[b].reduce((a, pk, k) => a + pk * Math.log(pk / Q[b][k]), 0),
        5,
      );
    p.dispose();
    q.dispose();
  });

  it('throws SculptErrors for bad arguments', () => {
    const before = tf.memory().numTensors;
    expect(() => new Categorical({ logits: tf.scalar(1) })).toThrow(
      /Categorical: logits must have rank ≥ 1/,
    );
    expect(tf.memory().numTensors).toBe(before);
    const d = new Categorical({ logits: tf.zeros([2, 3]) });
    const f = tf.zeros([2]);
    const i = tf.zeros([3], 'int32');
    expect(() => d.logProb(f)).toThrow(/value must be int32 class indices, got float32\. Fix:/);
    expect(() => d.logProb(i)).toThrow(SculptError);
    tf.dispose([f, i]);
    d.dispose();
  });

  it('does not leak', async () => {
    await expectNoLeak(() => {
      const d = new Categorical({ logits: tf.tensor2d(LOGITS) });
      const q = new Categorical({ logits: tf.zeros([2, 4]) });
      const x = d.sample(new Rng(0), [5]);
      const out = [x, d.logProb(x), d.entropy(), d.kl(q), tf.clone(d.probs), tf.clone(d.mode)];
      d.dispose();
      q.dispose();
      return out;
    });
  });
});
