import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { expectNoLeak } from '../testing/index.js';
import { ExponentialMovingAverage } from './ema.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/** Runs updates with params set to each of `values` in turn; returns the average after each. */
function averages(ema: ExponentialMovingAverage, w: tf.Variable, values: number[]): number[] {
  return values.map((x) => {
    tf.tidy(() => w.assign(tf.fill(w.shape, x)));
    ema.update({ w });
    return ema.get('w').dataSync()[0];
  });
}

describe('ExponentialMovingAverage', () => {
  const xs = [1, 2, 4, 8, 16];

  it("warmup 'none': copies on the first update, then θ̄ ← d·θ̄ + (1 − d)·θ", () => {
    const w = tf.variable(tf.tensor1d([100]));
    const ema = new ExponentialMovingAverage({ w }, { decay: 0.9, warmup: 'none' });
    const got = averages(ema, w, xs);
    const expected: number[] = [];
    let avg = 100;
    xs.forEach((x, k) => {
      const d = k === 0 ? 0 : 0.9;
      avg = d * avg + (1 - d) * x;
      expected.push(avg);
    });
    got.forEach((g, i) => {
      expect(g).toBeCloseTo(expected[i], 5);
    });
    expect(got[0]).toBe(1);
    expect(ema.updateCount).toBe(5);
    ema.dispose();
    w.dispose();
  });

  it("warmup 'count' uses d = min(decay, (1+n)/(10+n)); 'power' uses 1 − (1 + n/γ⁻¹)^−power", () => {
    const count = new ExponentialMovingAverage({}, { decay: 0.5, warmup: 'count' });
    expect([1, 2, 3, 10, 100].map((k) => count.decayAt(k))).toEqual([0, 2 / 11, 3 / 12, 0.5, 0.5]);
    const power = new ExponentialMovingAverage(
      {},
      { decay: 0.9999, warmup: 'power', invGamma: 1, power: 0.75 },
    );
    expect(power.decayAt(1)).toBe(0);
    expect(power.decayAt(2)).toBeCloseTo(1 - 2 ** -0.75, 12);
    expect(power.decayAt(11)).toBeCloseTo(1 - 11 ** -0.75, 12);
    expect(power.decayAt(1e9)).toBe(0.9999);
    const delayed = new ExponentialMovingAverage(
      {},
      { decay: 0.9, warmup: 'none', updateAfterStep: 3, minDecay: 0 },
    );
    expect([1, 2, 3, 4, 5].map((k) => delayed.decayAt(k))).toEqual([0, 0, 0, 0, 0.9]);
    const floored = new ExponentialMovingAverage(
      {},
      { decay: 0.9, warmup: 'count', minDecay: 0.5 },
    );
    expect(floored.decayAt(2)).toBe(0.5);
  });

  it("warmup 'count' averages match the closed form", () => {
    const w = tf.variable(tf.tensor1d([0]));
    const ema = new ExponentialMovingAverage({ w }, { decay: 0.99 });
    const got = averages(ema, w, xs);
    let avg = 0;
    xs.forEach((x, k) => {
      const n = k; // n = updateCount − 1
      const d = n === 0 ? 0 : Math.min(0.99, (1 + n) / (10 + n));
      avg = d * avg + (1 - d) * x;
      expect(got[k]).toBeCloseTo(avg, 5);
    });
    ema.dispose();
    w.dispose();
  });

  it('withAveraged swaps the averages in and restores the live weights, even on throw', async () => {
    const w = tf.variable(tf.tensor1d([1, 2]));
    const ema = new ExponentialMovingAverage({ w }, { decay: 0.5, warmup: 'none' });
    tf.tidy(() => w.assign(tf.tensor1d([3, 6])));
    ema.update({ w }); // copies: [3, 6]
    tf.tidy(() => w.assign(tf.tensor1d([5, 10])));
    ema.update({ w }); // [4, 8]
    const seen = await ema.withAveraged({ w }, () => Array.from(w.dataSync()));
    expect(seen).toEqual([4, 8]);
    expect(Array.from(w.dataSync())).toEqual([5, 10]);
    await expect(ema.withAveraged({ w }, () => Promise.reject(new Error('boom')))).rejects.toThrow(
      'boom',
    );
    expect(Array.from(w.dataSync())).toEqual([5, 10]);
    ema.copyTo({ w });
    expect(Array.from(w.dataSync())).toEqual([4, 8]);
    ema.dispose();
    w.dispose();
  });

  it('state round-trips exactly through JSON', () => {
    const w = tf.variable(tf.tensor1d([0.1, 0.2]));
    const a = new ExponentialMovingAverage({ w }, { decay: 0.9 });
    averages(a, w, [1, 2, 3]);
    const state = a.getState();
    const b = new ExponentialMovingAverage({ w }, { decay: 0.9 });
    b.setState({ tensors: state.tensors, json: JSON.parse(JSON.stringify(state.json)) });
    tf.dispose(state.tensors);
    expect(b.updateCount).toBe(3);
    expect(averages(b, w, [7])).toEqual(averages(a, w, [7]));
    expect(b.get('w').dataSync()).toEqual(a.get('w').dataSync());
    a.dispose();
    b.dispose();
    w.dispose();
  });

  it('rejects decay outside [0, 1) and missing names', () => {
    for (const decay of [1, -0.1, 1.5, Number.NaN]) {
      expect(() => new ExponentialMovingAverage({}, { decay })).toThrow(
        /ExponentialMovingAverage: decay must be in \[0, 1\)/,
      );
    }
    const w = tf.variable(tf.tensor1d([1]));
    const ema = new ExponentialMovingAverage({ w });
    expect(() => ema.update({})).toThrow(
      /ExponentialMovingAverage.update: expected a tensor for every averaged name, got none for \[w\]/,
    );
    ema.dispose();
    w.dispose();
  });

  it('update, withAveraged and dispose leak nothing', async () => {
    const w = tf.variable(tf.ones([3, 4]));
    const before = tf.memory().numTensors;
    const ema = new ExponentialMovingAverage({ w }, { decay: 0.9 });
    await expectNoLeak(() => ema.update({ w }));
    await expectNoLeak(() => ema.withAveraged({ w }, () => undefined));
    ema.dispose();
    expect(tf.memory().numTensors).toBe(before);
    w.dispose();
  });
});
