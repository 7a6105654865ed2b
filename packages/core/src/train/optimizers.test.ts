import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { SculptError } from '../errors.js';
import { expectNoLeak } from '../testing/index.js';
import { adam, adamW, type Optimizer, sgd } from './optimizers.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const created: tf.Tensor[] = [];
afterEach(() => {
  tf.dispose(created.splice(0));
});
const track = <T extends tf.Tensor>(t: T): T => {
  created.push(t);
  return t;
};

const P0 = [0.5, -1.5, 2.0, 0.0];
const GRADS = [
  [0.1, -0.2, 0.3, -4.0],
  [0.5, 0.05, -0.3, 2.0],
  [-0.25, 1.0, 0.0, 0.7],
];

/** Float64 reference Adam/AdamW over GRADS (Kingma & Ba Alg. 1; PyTorch's coupled L2 / decoupled decay). */
function referenceAdam(opts: {
  lr: number;
  b1: number;
  b2: number;
  eps: number;
  wd: number;
  decoupled: boolean;
}): number[] {
  const p = P0.slice();
  const m = p.map(() => 0);
  const v = p.map(() => 0);
  GRADS.forEach((gs, k) => {
    const t = k + 1;
    for (let i = 0; i < p.length; i++) {
      const g = opts.decoupled ? gs[i] : gs[i] + opts.wd * p[i];
      m[i] = opts.b1 * m[i] + (1 - opts.b1) * g;
      v[i] = opts.b2 * v[i] + (1 - opts.b2) * g * g;
      const mHat = m[i] / (1 - opts.b1 ** t);
      const vHat = v[i] / (1 - opts.b2 ** t);
      if (opts.decoupled) p[i] *= 1 - opts.lr * opts.wd;
      p[i] -= (opts.lr * mHat) / (Math.sqrt(vHat) + opts.eps);
    }
  });
  return p;
}

function runOptimizer(opt: Optimizer, lr?: number): Float32Array {
  const w = tf.variable(tf.tensor1d(P0));
  for (const g of GRADS) {
    const grad = tf.tensor1d(g);
    opt.applyGradients({ w: grad }, { w }, lr);
    grad.dispose();
  }
  const out = w.dataSync() as Float32Array;
  w.dispose();
  opt.dispose();
  return out;
}

function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: number): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < actual.length; i++)
    expect(Math.abs(actual[i] - expected[i])).toBeLessThanOrEqual(tol);
}

describe('adam', () => {
  it('first step moves each weight by lr·sign(g) (m̂ = g, v̂ = g²)', () => {
    const w = track(tf.variable(tf.tensor1d(P0)));
    const opt = adam({ learningRate: 0.01 });
    opt.applyGradients({ w: track(tf.tensor1d(GRADS[0])) }, { w });
    const expected = P0.map((p, i) => p - (0.01 * GRADS[0][i]) / (Math.abs(GRADS[0][i]) + 1e-8));
    expectClose(w.dataSync(), expected, 1e-6);
    expect(opt.stepCount).toBe(1);
    opt.dispose();
  });

  it('matches a float64 reference over three steps (no decay and coupled L2 decay)', () => {
    for (const wd of [0, 0.1]) {
      const got = runOptimizer(
        adam({ learningRate: 0.05, beta1: 0.8, beta2: 0.99, epsilon: 1e-6, weightDecay: wd }),
      );
      expectClose(
        got,
        referenceAdam({ lr: 0.05, b1: 0.8, b2: 0.99, eps: 1e-6, wd, decoupled: false }),
        2e-6,
      );
    }
  });

  it("matches tfjs's tf.train.adam over three steps", () => {
    const got = runOptimizer(adam({ learningRate: 0.05, beta1: 0.9, beta2: 0.999, epsilon: 1e-7 }));
    const w = tf.variable(tf.tensor1d(P0));
    const ref = tf.train.adam(0.05, 0.9, 0.999, 1e-7);
    for (const g of GRADS) {
      const grad = tf.tensor1d(g);
      ref.applyGradients([{ name: w.name, tensor: grad }]);
      grad.dispose();
    }
    const expected = w.dataSync();
    ref.dispose();
    w.dispose();
    expectClose(got, expected, 1e-6);
    // And the run moved away from the start, so the comparison is not vacuous.
    expect(Math.abs(got[3] - P0[3])).toBeGreaterThan(0.05);
  });

  it('uses the learning rate passed to applyGradients over the configured one', () => {
    const got = runOptimizer(adam({ learningRate: 123 }), 0.05);
    expectClose(
      got,
      referenceAdam({ lr: 0.05, b1: 0.9, b2: 0.999, eps: 1e-8, wd: 0, decoupled: false }),
      2e-6,
    );
  });
});

describe('adamW', () => {
  it('decouples weight decay: matches θ(1 − ηλ) − η·m̂/(√v̂ + ε) in float64', () => {
    const got = runOptimizer(adamW({ learningRate: 0.05, weightDecay: 0.3 }));
    const ref = referenceAdam({
      lr: 0.05,
      b1: 0.9,
      b2: 0.999,
      eps: 1e-8,
      wd: 0.3,
      decoupled: true,
    });
    expectClose(got, ref, 2e-6);
    // Coupled and decoupled decay really differ here.
    const coupled = referenceAdam({
      lr: 0.05,
      b1: 0.9,
      b2: 0.999,
      eps: 1e-8,
      wd: 0.3,
      decoupled: false,
    });
    expect(Math.max(...ref.map((r, i) => Math.abs(r - coupled[i])))).toBeGreaterThan(1e-3);
  });

  it('skips decay for parameters the filter rejects', () => {
    const w = track(tf.variable(tf.tensor2d([[1, 2]])));
    const b = track(tf.variable(tf.tensor1d([1, 2])));
    const opt = adamW({
      learningRate: 0.1,
      weightDecay: 0.5,
      weightDecayFilter: (_, p) => p.rank >= 2,
    });
    // Zero gradients: Adam's step is 0, only decay moves the weights.
    opt.applyGradients({ w: track(tf.zeros([1, 2])), b: track(tf.zeros([2])) }, { w, b });
    expectClose(w.dataSync(), [0.95, 1.9], 1e-6);
    expectClose(b.dataSync(), [1, 2], 0);
    opt.dispose();
  });
});

describe('sgd', () => {
  it('matches PyTorch-style (Nesterov) momentum in float64', () => {
    for (const nesterov of [false, true]) {
      const got = runOptimizer(
        sgd({ learningRate: 0.1, momentum: 0.9, nesterov, weightDecay: 0.01 }),
      );
      const p = P0.slice();
      const buf = p.map(() => 0);
      for (const gs of GRADS) {
        for (let i = 0; i < p.length; i++) {
          const g = gs[i] + 0.01 * p[i];
          buf[i] = 0.9 * buf[i] + g;
          p[i] -= 0.1 * (nesterov ? g + 0.9 * buf[i] : buf[i]);
        }
      }
      expectClose(got, p, 2e-6);
    }
  });

  it('without momentum is θ − η·g', () => {
    const got = runOptimizer(sgd({ learningRate: 0.5 }));
    const expected = P0.map((p, i) => p - 0.5 * (GRADS[0][i] + GRADS[1][i] + GRADS[2][i]));
    expectClose(got, expected, 1e-6);
  });
});

describe('optimizer state', () => {
  it('a restored optimizer continues bit-identically', () => {
    for (const make of [
      () => adam({ learningRate: 0.05 }),
      () => adamW({ learningRate: 0.05 }),
      () => sgd({ learningRate: 0.1, momentum: 0.9 }),
    ]) {
      const straight = runOptimizer(make());
      const w = tf.variable(tf.tensor1d(P0));
      const first = make();
      for (const g of GRADS.slice(0, 2))
        tf.tidy(() => first.applyGradients({ w: tf.tensor1d(g) }, { w }));
      const state = first.getState();
      first.dispose();
      const json = JSON.parse(JSON.stringify(state.json));
      const second = make();
      const before = tf.memory().numTensors;
      second.setState({ tensors: state.tensors, json });
      tf.dispose(state.tensors);
      expect(tf.memory().numTensors).toBe(before);
      expect(second.stepCount).toBe(2);
      tf.tidy(() => second.applyGradients({ w: tf.tensor1d(GRADS[2]) }, { w }));
      expect(w.dataSync()).toEqual(straight);
      second.dispose();
      w.dispose();
    }
  });

  it('refuses a state from another optimizer kind', () => {
    const a = adam();
    const w = track(tf.variable(tf.tensor1d([1])));
    tf.tidy(() => a.applyGradients({ w: tf.tensor1d([1]) }, { w }));
    const state = a.getState();
    const s = sgd({ momentum: 0.5 });
    expect(() => s.setState(state)).toThrow(
      /sgd.setState: expected the state of a 'sgd' optimizer, got kind "adam"/,
    );
    tf.dispose(state.tensors);
    a.dispose();
    s.dispose();
  });
});

describe('optimizer errors and leaks', () => {
  it.each([
    [() => adam({ learningRate: -1 }), /adam: learningRate must be a finite number ≥ 0, got -1/],
    [() => adam({ beta1: 1 }), /adam: beta1 must be in \[0, 1\), got 1/],
    [() => adamW({ beta2: -0.1 }), /adamW: beta2 must be in \[0, 1\), got -0.1/],
    [() => adam({ epsilon: 0 }), /adam: epsilon must be a finite number > 0, got 0/],
    [() => adamW({ weightDecay: -0.1 }), /adamW: weightDecay must be a finite number ≥ 0/],
    [() => sgd({ momentum: 1 }), /sgd: momentum must be in \[0, 1\)/],
    [() => sgd({ nesterov: true }), /sgd: nesterov needs momentum > 0/],
  ])('rejects bad options %#', (make, message) => {
    expect(make).toThrow(SculptError);
    expect(make).toThrow(message);
  });

  it('rejects a negative rate at apply time, unknown names and wrong shapes', () => {
    const opt = adam();
    const w = track(tf.variable(tf.zeros([2])));
    const g = track(tf.ones([2]));
    expect(() => opt.applyGradients({ w: g }, { w }, -0.1)).toThrow(
      /adam.applyGradients: learningRate must be a finite number ≥ 0, got -0.1/,
    );
    expect(() => opt.applyGradients({ v: g }, { w })).toThrow(
      /got gradient 'v' with no parameter of that name/,
    );
    expect(() => opt.applyGradients({ w: track(tf.ones([3])) }, { w })).toThrow(
      /expected gradient 'w' of shape \[2\], got \[3\]/,
    );
    opt.dispose();
  });

  it('applyGradients leaks nothing once the moments exist; dispose frees them', async () => {
    const w = track(tf.variable(tf.zeros([4, 3])));
    const g = track(tf.ones([4, 3]));
    const opt = adamW({ weightDecay: 0.1 });
    const before = tf.memory().numTensors;
    opt.applyGradients({ w: g }, { w });
    expect(tf.memory().numTensors).toBe(before + 2); // m and v
    await expectNoLeak(() => opt.applyGradients({ w: g }, { w }));
    await expectNoLeak(() => opt.getState().tensors);
    opt.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});
