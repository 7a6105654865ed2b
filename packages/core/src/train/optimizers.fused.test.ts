// The fused Adam dispatch: `adam()`/`adamW()` call `FUSED_KERNELS.adamUpdate`
// once per parameter where the active backend has it, and the tfjs ops where
// it does not. @sculpt/native tests its real kernel against these ops; here a
// float32 kernel written from the contract in FUSED_KERNELS stands in on cpu.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { FUSED_KERNELS, hasFusedKernel } from '../fused.js';
import { expectNoLeak } from '../testing/index.js';
import { adam, adamW, type Optimizer } from './optimizers.js';

type CpuBackend = {
  readSync(dataId: object): Float32Array;
  makeTensorInfo(shape: number[], dtype: 'float32', values: Float32Array): tf.TensorInfo;
};

let calls = 0;
const f = Math.fround;

/** `SculptAdamUpdate` for cpu from its contract: each operation rounded to float32, in the ops' order. */
const adamKernel: tf.KernelFunc = ({ inputs, attrs, backend }) => {
  calls++;
  const cpu = backend as unknown as CpuBackend;
  const ins = inputs as Record<'param' | 'grad' | 'm' | 'v', tf.TensorInfo>;
  const [p, g0, m, v] = [ins.param, ins.grad, ins.m, ins.v].map((t) => cpu.readSync(t.dataId));
  const a = attrs as unknown as Record<string, number> & { decoupled: boolean };
  const [b1, c1, b2, c2] = [a.beta1, 1 - a.beta1, a.beta2, 1 - a.beta2].map(f);
  const [bc1, bc2, eps, lr] = [a.biasCorrection1, a.biasCorrection2, a.epsilon, a.learningRate].map(
    f,
  );
  const l2 = !a.decoupled && a.weightDecay > 0;
  const shrink = a.decoupled && a.weightDecay > 0 ? f(1 - a.learningRate * a.weightDecay) : 1;
  const [p1, m1, v1] = [0, 1, 2].map(() => new Float32Array(p.length));
  for (let i = 0; i < p.length; i++) {
    const g = l2 ? f(g0[i] + f(p[i] * f(a.weightDecay))) : g0[i];
    m1[i] = f(f(m[i] * b1) + f(g * c1));
    v1[i] = f(f(v[i] * b2) + f(f(g * g) * c2));
    const step = f(f(f(m1[i] / bc1) / f(f(Math.sqrt(f(v1[i] / bc2))) + eps)) * lr);
    p1[i] = f(f(p[i] * shrink) - step);
  }
  const shape = [...ins.param.shape];
  return [p1, m1, v1].map((values) => cpu.makeTensorInfo(shape, 'float32', values));
};

function registerAdamKernel(): void {
  tf.registerKernel({
    kernelName: FUSED_KERNELS.adamUpdate,
    backendName: 'cpu',
    kernelFunc: adamKernel,
  });
}

beforeAll(async () => {
  await tf.setBackend('cpu');
});
afterEach(() => {
  if (tf.getKernel(FUSED_KERNELS.adamUpdate, 'cpu'))
    tf.unregisterKernel(FUSED_KERNELS.adamUpdate, 'cpu');
  calls = 0;
});

/** Three steps on two parameters; returns θ, m and v as flat float32 values. */
function train(make: () => Optimizer): Float32Array[] {
  const params = {
    w: tf.variable(
      tf.tensor2d([
        [0.5, -1.5, 2],
        [0, 3, -0.25],
      ]),
    ),
    b: tf.variable(tf.tensor1d([0.1, -0.2])),
  };
  const opt = make();
  for (let step = 0; step < 3; step++) {
    tf.tidy(() => {
      const grads = {
        w: tf.mul(
          tf.tensor2d([
            [0.1, -0.2, 0.3],
            [-4, 2, 0.7],
          ]),
          step - 1.3,
        ),
        b: tf.mul(tf.tensor1d([0.5, -1]), step + 1),
      };
      opt.applyGradients(grads, params, 0.05 / (step + 1));
    });
  }
  const state = opt.getState();
  const out = [params.w, params.b, ...Object.values(state.tensors)].map(
    (t) => t.dataSync() as Float32Array,
  );
  tf.dispose([...Object.values(params), ...Object.values(state.tensors)]);
  opt.dispose();
  return out;
}

const CASES: [string, () => Optimizer][] = [
  ['adam', () => adam()],
  ['adam, L2 decay', () => adam({ weightDecay: 0.1, beta1: 0.8, beta2: 0.99 })],
  ['adamW', () => adamW({ weightDecay: 0.3 })],
  [
    'adamW, matrices only',
    () => adamW({ weightDecay: 0.3, weightDecayFilter: (_, p) => p.rank >= 2 }),
  ],
];

describe('fused Adam update', () => {
  it.each(CASES)(
    '%s: one kernel call per parameter and step, the same values as the ops',
    (_, make) => {
      expect(hasFusedKernel(FUSED_KERNELS.adamUpdate)).toBe(false);
      const ops = train(make);
      expect(calls).toBe(0); // absent: the tfjs ops ran
      registerAdamKernel();
      const fused = train(make);
      expect(calls).toBe(2 * 3);
      expect(fused).toEqual(ops);
      expect(fused[0][0]).not.toBe(0.5); // it moved
    },
  );

  it('leaks no tensor, and the moments survive the tidy around each update', async () => {
    registerAdamKernel();
    const w = tf.variable(tf.ones([3, 4]));
    const g = tf.fill([3, 4], 0.5);
    const opt = adamW();
    opt.applyGradients({ w: g }, { w }); // the moments are created on the first step
    await expectNoLeak(() => opt.applyGradients({ w: g }, { w }), { label: 'fused adamW step' });
    const state = opt.getState();
    expect(state.tensors['w/m'].dataSync().every((x) => x !== 0)).toBe(true);
    tf.dispose([w, g, ...Object.values(state.tensors)]);
    opt.dispose();
  });
});
