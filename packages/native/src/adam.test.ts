import { initBackend } from '@sculpt/backend';
import {
  adam,
  adamW,
  FUSED_KERNELS,
  hasFusedKernel,
  type Optimizer,
  SculptError,
} from '@sculpt/core';
import { expectNoLeak } from '@sculpt/core/testing';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerNativeKernels, unregisterNativeKernels } from './index.js';

// Shapes: scalars-like, small, and one past the addon's grain (split over its threads).
const SHAPES: Record<string, number[]> = { bias: [7], w: [3, 5], big: [400, 400] };
const STEPS = 4;

/** Deterministic values in [-scale, scale). */
function values(n: number, seed: number, scale = 1): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = (s / 2 ** 31 - 1) * scale;
  }
  return out;
}

const sizeOf = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

type Final = Record<string, Float32Array>;

/** STEPS optimizer steps on `backend` from fixed parameters and gradients; returns θ, m and v by name. */
async function train(backend: string, make: () => Optimizer): Promise<Final> {
  await tf.setBackend(backend);
  const params: Record<string, tf.Variable> = {};
  Object.entries(SHAPES).forEach(([name, shape], i) => {
    params[name] = tf.variable(tf.tensor(values(sizeOf(shape), 100 + i), shape));
  });
  const opt = make();
  for (let step = 0; step < STEPS; step++) {
    const grads = tf.tidy(() => {
      const g: Record<string, tf.Tensor> = {};
      Object.entries(SHAPES).forEach(([name, shape], i) => {
        g[name] = tf.tensor(values(sizeOf(shape), 7 * step + i + 1, 3), shape);
      });
      return g;
    });
    opt.applyGradients(grads, params, 1e-2 * (step + 1)); // a changing learning rate, as schedules do
    tf.dispose(Object.values(grads));
  }
  const out: Final = {};
  const state = opt.getState();
  for (const [key, t] of Object.entries(state.tensors)) out[key] = (await t.data()) as Float32Array;
  for (const [name, p] of Object.entries(params)) out[name] = (await p.data()) as Float32Array;
  tf.dispose(Object.values(state.tensors));
  tf.dispose(Object.values(params));
  opt.dispose();
  return out;
}

/** The worst |a − b| / (|b| + 1e-30) over every value (0 when bit-equal). */
function worst(a: Final, b: Final): number {
  expect(Object.keys(a).sort()).toEqual(Object.keys(b).sort());
  let worst = 0;
  for (const key of Object.keys(b)) {
    expect(a[key].length).toBe(b[key].length);
    for (let i = 0; i < b[key].length; i++) {
      const d = Math.abs(a[key][i] - b[key][i]);
      if (d > 0) worst = Math.max(worst, d / (Math.abs(b[key][i]) + 1e-30));
    }
  }
  return worst;
}

/** Runs `fn` on wasm with the fused kernel unregistered (the tfjs-op path), then puts it back. */
async function withoutFused<T>(fn: () => Promise<T>): Promise<T> {
  const config = tf.getKernel(FUSED_KERNELS.adamUpdate, 'wasm');
  if (!config) throw new Error('expected the fused Adam kernel on wasm');
  tf.unregisterKernel(FUSED_KERNELS.adamUpdate, 'wasm');
  try {
    return await fn();
  } finally {
    tf.registerKernel(config);
  }
}

const CASES: [string, () => Optimizer][] = [
  ['Adam', () => adam()],
  ['Adam with L2 weight decay', () => adam({ weightDecay: 0.05 })],
  ['AdamW', () => adamW({ weightDecay: 0.1 })],
  [
    'AdamW without decay, custom betas',
    () => adamW({ weightDecay: 0, beta1: 0.8, beta2: 0.99, epsilon: 1e-6 }),
  ],
  [
    'AdamW decaying matrices only',
    () => adamW({ weightDecay: 0.1, weightDecayFilter: (_, p) => p.rank >= 2 }),
  ],
];

beforeAll(async () => {
  await initBackend('wasm');
  registerNativeKernels();
});
afterAll(() => unregisterNativeKernels());

describe('SculptAdamUpdate (fused Adam/AdamW)', () => {
  it.each(CASES)(
    '%s: θ, m and v after several steps match the tfjs ops on cpu and on wasm',
    async (_, make) => {
      const cpu = await train('cpu', make);
      const unfused = await withoutFused(() => train('wasm', make));
      await tf.setBackend('wasm');
      expect(hasFusedKernel(FUSED_KERNELS.adamUpdate)).toBe(true);
      const fused = await train('wasm', make);
      expect(worst(fused, cpu)).toBeLessThanOrEqual(1e-6);
      expect(worst(fused, unfused)).toBeLessThanOrEqual(1e-6);
      // The parameters moved (a test of a no-op would pass the comparisons too).
      expect(fused.big[0]).not.toBe(values(1, 102)[0]);
    },
  );

  it('resumes from getState()/setState() bit-identically to an unfused straight run', async () => {
    await tf.setBackend('wasm');
    const grads = [0.3, -2, 0.05].map((x) => tf.fill([600, 300], x));
    const runFrom = (opt: Optimizer, w: tf.Variable, from: number, to: number) => {
      for (let k = from; k < to; k++) opt.applyGradients({ w: grads[k] }, { w }, 0.01);
    };
    const straightW = tf.variable(
      tf.tidy(() => tf.reshape(tf.linspace(-1, 1, 180000), [600, 300])),
    );
    const straight = adamW({ weightDecay: 0.1 });
    await withoutFused(async () => runFrom(straight, straightW, 0, 3));
    const w = tf.variable(tf.tidy(() => tf.reshape(tf.linspace(-1, 1, 180000), [600, 300])));
    const first = adamW({ weightDecay: 0.1 });
    runFrom(first, w, 0, 2);
    const state = first.getState();
    const second = adamW({ weightDecay: 0.1 });
    second.setState({ tensors: state.tensors, json: JSON.parse(JSON.stringify(state.json)) });
    runFrom(second, w, 2, 3);
    expect(await w.data()).toEqual(await straightW.data());
    tf.dispose([...grads, straightW, w, ...Object.values(state.tensors)]);
    for (const opt of [straight, first, second]) opt.dispose();
  });

  it('runs one kernel per parameter in place of the elementwise chain', async () => {
    await tf.setBackend('wasm');
    const params = { a: tf.variable(tf.ones([4, 4])), b: tf.variable(tf.ones([3])) };
    const grads = { a: tf.fill([4, 4], 0.5), b: tf.fill([3], -0.5) };
    const opt = adamW();
    const fused = await tf.profile(() => opt.applyGradients(grads, params));
    const names = fused.kernels.map((k) => k.name);
    expect(names.filter((n) => n === FUSED_KERNELS.adamUpdate)).toHaveLength(2);
    expect(names).not.toContain('Sqrt');
    const chain = await withoutFused(() => tf.profile(() => opt.applyGradients(grads, params)));
    expect(chain.kernels.map((k) => k.name)).toContain('Sqrt');
    opt.dispose();
    tf.dispose([...Object.values(params), ...Object.values(grads)]);
  });

  it('leaks no tensor', async () => {
    await tf.setBackend('wasm');
    const params = { w: tf.variable(tf.ones([300, 500])), b: tf.variable(tf.zeros([5])) };
    const grads = { w: tf.fill([300, 500], 0.25), b: tf.fill([5], 1) };
    const opt = adam({ weightDecay: 0.01 });
    opt.applyGradients(grads, params); // creates the moment slots
    await expectNoLeak(() => opt.applyGradients(grads, params), { label: 'adam fused step' });
    opt.dispose();
    tf.dispose([...Object.values(params), ...Object.values(grads)]);
  });

  it('throws a SculptError naming what arrived for inputs it does not take', async () => {
    await tf.setBackend('wasm');
    const [p, g] = [tf.ones([3]), tf.ones([3], 'int32')];
    const attrs = { beta1: 0.9, beta2: 0.999, epsilon: 1e-8, learningRate: 1e-3 };
    const call = () =>
      tf.engine().runKernel(FUSED_KERNELS.adamUpdate, { param: p, grad: g, m: p, v: p }, attrs);
    expect(call).toThrow(SculptError);
    expect(call).toThrow(/int32 \[3\]/);
    tf.dispose([p, g]);
  });
});
