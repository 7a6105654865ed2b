import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { SculptError } from '../errors.js';
import { Rng } from '../random/index.js';
import { checkGradients, expectNoLeak } from '../testing/index.js';
import { DiagonalNormal } from './diagonal-normal.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const LOG_2PI = Math.log(2 * Math.PI);
const arr = (t: tf.Tensor): number[] => Array.from(t.dataSync());

// Two batch rows, three event dims.
const MU = [
  [0, 1, -2],
  [0.5, 0, 0.25],
];
const SD = [
  [1, 2, 0.5],
  [0.3, 1, 1.5],
];
const logVarOf = (s: number[][]) => s.map((r) => r.map((v) => 2 * Math.log(v)));

function fromLogVar(): DiagonalNormal {
  return new DiagonalNormal({ mean: tf.tensor2d(MU), logVar: tf.tensor2d(logVarOf(SD)) });
}

function univariateLogProb(x: number, m: number, s: number): number {
  return -((x - m) ** 2) / (2 * s * s) - Math.log(s) - 0.5 * LOG_2PI;
}

describe('DiagonalNormal', () => {
  it('logProb sums the univariate closed form over the event dimension → [B]', () => {
    const d = fromLogVar();
    expect(d.batchShape).toEqual([2]);
    expect(d.eventShape).toEqual([3]);
    const X = [
      [0.1, 2, -1],
      [0, 0, 0],
    ];
    const lp = d.logProb(tf.tensor2d(X));
    expect(lp.shape).toEqual([2]);
    arr(lp).forEach((v, b) => {
      const ref = X[b].reduce((acc, x, j) => acc + univariateLogProb(x, MU[b][j], SD[b][j]), 0);
      expect(v).toBeCloseTo(ref, 4);
    });
    tf.dispose(lp);
    d.dispose();
  });

  it('gives the same numbers from std as from logVar', () => {
    const a = fromLogVar();
    const b = new DiagonalNormal({ mean: tf.tensor2d(MU), std: tf.tensor2d(SD) });
    const x = tf.tensor2d([
      [1, 1, 1],
      [-1, 0.5, 2],
    ]);
    const pairs = [
      [a.logProb(x), b.logProb(x)],
      [a.entropy(), b.entropy()],
      [a.klStandardNormal(), b.klStandardNormal()],
    ];
    for (const [u, v] of pairs)
      arr(u).forEach((val, i) => {
        expect(val).toBeCloseTo(arr(v)[i], 4);
      });
    arr(b.stddev).forEach((v, i) => {
      expect(v).toBeCloseTo(SD.flat()[i], 6);
    });
    arr(a.stddev).forEach((v, i) => {
      expect(v).toBeCloseTo(SD.flat()[i], 6);
    });
    tf.dispose([x, ...pairs.flat()]);
    a.dispose();
    b.dispose();
  });

  it('entropy, kl and klStandardNormal match the closed forms', () => {
    const p = fromLogVar();
    const q = new DiagonalNormal({
      mean: tf.tensor2d([
        [1, 1, 1],
        [0, 0, 0],
      ]),
      std: tf.tensor2d([
        [2, 1, 0.5],
        [1, 1, 1],
      ]),
    });
    const MQ = [
      [1, 1, 1],
      [0, 0, 0],
    ];
    const SQ = [
      [2, 1, 0.5],
      [1, 1, 1],
    ];
    const h = arr(p.entropy());
    const kl = arr(p.kl(q));
    const kl0 = arr(p.klStandardNormal());
    for (let b = 0; b < 2; b++) {
      let hRef = 0;
      let klRef = 0;
      let kl0Ref = 0;
      for (let j = 0; j < 3; j++) {
        const [m1, s1, m2, s2] = [MU[b][j], SD[b][j], MQ[b][j], SQ[b][j]];
        hRef += 0.5 * (1 + LOG_2PI) + Math.log(s1);
        klRef += Math.log(s2 / s1) + (s1 * s1 + (m1 - m2) ** 2) / (2 * s2 * s2) - 0.5;
        kl0Ref += 0.5 * (s1 * s1 + m1 * m1 - 1 - 2 * Math.log(s1));
      }
      expect(h[b]).toBeCloseTo(hRef, 4);
      expect(kl[b]).toBeCloseTo(klRef, 4);
      expect(kl0[b]).toBeCloseTo(kl0Ref, 4);
    }
    // Row 1 of q is N(0, I): kl(q) and klStandardNormal agree there.
    expect(kl[1]).toBeCloseTo(kl0[1], 4);
    p.dispose();
    q.dispose();
  });

  it('kl matches a Monte-Carlo estimate E_p[log p − log q]', () => {
    const p = fromLogVar();
    const q = new DiagonalNormal({ mean: tf.zeros([2, 3]), logVar: tf.fill([2, 3], Math.log(2)) });
    const n = 20000;
    const z = p.sample(new Rng(11), [n]); // [n, 2, 3]
    const lp = p.logProb(z);
    expect(lp.shape).toEqual([n, 2]);
    const diff = tf.tidy(() => tf.sub(lp, q.logProb(z)));
    const { mean, variance } = tf.moments(diff, 0);
    const kl = arr(p.kl(q));
    const m = arr(mean);
    const v = arr(variance);
    kl.forEach((k, i) => {
      expect(Math.abs(m[i] - k)).toBeLessThan(4 * Math.sqrt(v[i] / n));
    });
    tf.dispose([z, lp, diff, mean, variance]);
    p.dispose();
    q.dispose();
  });

  it('rsample has the right moments and its gradients agree with finite differences', () => {
    const d = fromLogVar();
    const z = d.rsample(new Rng(2), [20000]);
    const { mean, variance } = tf.moments(z, 0);
    arr(mean).forEach((m, i) => {
      expect(Math.abs(m - MU.flat()[i])).toBeLessThan((4 * SD.flat()[i]) / Math.sqrt(20000));
    });
    arr(variance).forEach((v, i) => {
      expect(v / SD.flat()[i] ** 2).toBeCloseTo(1, 1);
    });
    tf.dispose([z, mean, variance]);
    d.dispose();
    // A fixed seed makes f deterministic, so finite differences apply to the reparameterised path.
    const mean0 = tf.tensor2d(MU);
    const logVar0 = tf.tensor2d(logVarOf(SD));
    const report = checkGradients(
      (m, lv) => {
        const q = new DiagonalNormal({ mean: tf.clone(m), logVar: tf.clone(lv) });
        const zz = q.rsample(new Rng(4), [3]);
        const out = tf.add(
          tf.sum(tf.square(tf.sub(zz, 0.3))),
          tf.sum(q.klStandardNormal()),
        ) as tf.Scalar;
        q.dispose();
        return out;
      },
      [mean0, logVar0],
    );
    expect(report.maxRelativeError).toBeLessThan(2e-2);
    tf.dispose([mean0, logVar0]);
  });

  it('sample carries no gradient; rsample does', () => {
    const m = tf.tensor1d([0.2, 0.4]);
    const lv = tf.tensor1d([0, 0]);
    const grad = (method: 'sample' | 'rsample') =>
      tf.grad((mm: tf.Tensor) => {
        const q = new DiagonalNormal({ mean: tf.clone(mm), logVar: tf.clone(lv) });
        const out = tf.sum(q[method](new Rng(1)));
        q.dispose();
        return out;
      })(m);
    const g0 = grad('sample');
    const g1 = grad('rsample');
    expect(arr(g0)).toEqual([0, 0]);
    expect(arr(g1)).toEqual([1, 1]);
    tf.dispose([m, lv, g0, g1]);
  });

  it('sums over all but the batch axis of an image-shaped latent; eventDims 0 is elementwise', () => {
    const d = new DiagonalNormal({ mean: tf.zeros([2, 3, 3, 4]), logVar: tf.zeros([2, 3, 3, 4]) });
    expect(d.eventShape).toEqual([3, 3, 4]);
    const h = d.entropy();
    expect(h.shape).toEqual([2]);
    expect(arr(h)[0]).toBeCloseTo(36 * 0.5 * (1 + LOG_2PI), 3);
    const e = new DiagonalNormal({
      mean: tf.zeros([2, 3]),
      logVar: tf.zeros([2, 3]),
      eventDims: 0,
    });
    const he = e.entropy();
    expect(he.shape).toEqual([2, 3]);
    tf.dispose([h, he]);
    d.dispose();
    e.dispose();
  });

  it('throws SculptErrors with a fix for mismatched shapes, negative std and misuse, freeing what it was given', () => {
    const before = tf.memory().numTensors;
    expect(() => new DiagonalNormal({ mean: tf.zeros([2, 3]), logVar: tf.zeros([2, 4]) })).toThrow(
      /DiagonalNormal: shapes must match, got \[2, 3\] and \[2, 4\]\. Fix:/,
    );
    expect(() => new DiagonalNormal({ mean: tf.zeros([2]), std: tf.tensor1d([1, -1]) })).toThrow(
      /every std must be > 0.*Fix:/,
    );
    expect(() => new DiagonalNormal({ mean: tf.zeros([2]) } as never)).toThrow(
      /exactly one of logVar or std/,
    );
    expect(
      () => new DiagonalNormal({ mean: tf.zeros([2, 3]), logVar: tf.zeros([2, 3]), eventDims: 3 }),
    ).toThrow(/eventDims must be an integer in \[0, 2\]/);
    expect(tf.memory().numTensors).toBe(before);
    const p = fromLogVar();
    const q = new DiagonalNormal({ mean: tf.zeros([3]), logVar: tf.zeros([3]) });
    const bad = tf.zeros([2, 4]);
    expect(() => p.logProb(bad)).toThrow(
      /DiagonalNormal.logProb: x shape must end with \[2, 3\], got \[2, 4\]/,
    );
    expect(() => p.kl(q)).toThrow(SculptError);
    p.dispose();
    expect(() => p.sample(new Rng(0))).toThrow(/DiagonalNormal.sample: a live distribution/);
    q.dispose();
    bad.dispose();
  });

  it('does not leak', async () => {
    await expectNoLeak(() => {
      const p = fromLogVar();
      const q = new DiagonalNormal({ mean: tf.zeros([2, 3]), std: tf.ones([2, 3]) });
      const rng = new Rng(0);
      const z = p.sample(rng, [2]);
      const out = [
        z,
        p.rsample(rng),
        p.logProb(z),
        p.entropy(),
        p.kl(q),
        p.klStandardNormal(),
        tf.clone(p.variance),
      ];
      p.dispose();
      q.dispose();
      return out;
    });
  });
});
