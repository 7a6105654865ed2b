import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-layers'; // registers tfjs-core's gradients in Node
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type ConvActivation, conv2dBiasActivation, FUSED_KERNELS, SculptError } from './index.js';
import { expectNoLeak } from './testing/leaks.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});
afterEach(() => {
  if (tf.getKernel(FUSED_KERNELS.biasActivationGrad, 'cpu'))
    tf.unregisterKernel(FUSED_KERNELS.biasActivationGrad, 'cpu');
});

/** Seeded values in [−1, 1) (an LCG: tests need no Rng state). */
function values(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed;
  for (let i = 0; i < n; i++) {
    s = (s * 1103515245 + 12345) % 2147483648;
    out[i] = (s / 2147483648) * 2 - 1;
  }
  return out;
}

const x = () => tf.tensor4d(values(2 * 6 * 6 * 3, 1), [2, 6, 6, 3]);
const w = () => tf.tensor4d(values(3 * 3 * 3 * 4, 2), [3, 3, 3, 4]);
const b = () => tf.tensor1d(values(4, 3));

/** The unfused reference: act(conv(x, w) + b) as plain tfjs ops. */
function reference(
  xs: tf.Tensor4D,
  ws: tf.Tensor4D,
  bs: tf.Tensor1D,
  activation: ConvActivation,
  strides: number,
): tf.Tensor4D {
  const z = tf.add(tf.conv2d(xs, ws, strides, 'same'), bs) as tf.Tensor4D;
  if (activation === 'relu') return tf.relu(z);
  // leakyRelu written to be twice differentiable (tf.leakyRelu's gradient has none)
  if (activation === 'leakyrelu') return tf.add(tf.mul(z, 0.6), tf.mul(tf.abs(z), 0.4));
  return z;
}

function maxDiff(a: tf.Tensor, r: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, r))).dataSync()[0]);
}

/** A fused kernel on cpu (plain loops), to test the kernel path and its registered gradient. */
function registerCpuKernel(): { calls: number } {
  const counter = { calls: 0 };
  tf.registerKernel({
    kernelName: FUSED_KERNELS.biasActivationGrad,
    backendName: 'cpu',
    kernelFunc: ({ inputs, attrs, backend }) => {
      const { dy, y } = inputs as { dy: tf.TensorInfo; y: tf.TensorInfo };
      const alpha = (attrs as { alpha: number }).alpha;
      const cpu = backend as tf.KernelBackend & {
        makeTensorInfo(shape: number[], dtype: 'float32', values: Float32Array): tf.TensorInfo;
      };
      const dys = cpu.readSync(dy.dataId) as Float32Array;
      const ys = cpu.readSync(y.dataId) as Float32Array;
      const c = dy.shape[3];
      counter.calls++;
      const dz = new Float32Array(dys.length);
      const db = new Float32Array(c);
      for (let i = 0; i < dys.length; i++) {
        dz[i] = dys[i] * (ys[i] > 0 ? 1 : alpha);
        db[i % c] += dz[i];
      }
      return [
        cpu.makeTensorInfo([...dy.shape], 'float32', dz),
        cpu.makeTensorInfo([c], 'float32', db),
      ];
    },
  });
  return counter;
}

describe('conv2dBiasActivation', () => {
  const cases: [ConvActivation, number][] = [
    ['linear', 1],
    ['relu', 2],
    ['leakyrelu', 2],
    ['leakyrelu', 1],
  ];
  for (const kernel of [false, true]) {
    for (const [activation, strides] of cases) {
      it(`matches the tfjs ops, values and gradients (${activation}, stride ${strides}${kernel ? ', fused kernel' : ''})`, () => {
        const counter = kernel ? registerCpuKernel() : undefined;
        const [xs, ws, bs] = [x(), w(), b()];
        const opts = { strides, activation, alpha: 0.2 };
        const fused = (a: tf.Tensor, f: tf.Tensor, c: tf.Tensor) =>
          conv2dBiasActivation(a as tf.Tensor4D, f as tf.Tensor4D, c as tf.Tensor1D, opts);
        const ref = (a: tf.Tensor, f: tf.Tensor, c: tf.Tensor) =>
          reference(a as tf.Tensor4D, f as tf.Tensor4D, c as tf.Tensor1D, activation, strides);
        const loss = (fn: typeof fused) => (a: tf.Tensor, f: tf.Tensor, c: tf.Tensor) =>
          tf.sum(tf.mul(fn(a, f, c), tf.sin(fn(a, f, c)))) as tf.Scalar;
        tf.tidy(() => {
          expect(maxDiff(fused(xs, ws, bs), ref(xs, ws, bs))).toBeLessThan(1e-5);
          const got = tf.grads(loss(fused))([xs, ws, bs]);
          const want = tf.grads(loss(ref))([xs, ws, bs]);
          got.forEach((g, i) => {
            expect(maxDiff(g, want[i])).toBeLessThan(1e-4);
          });
          // a gradient of a gradient (the R1 penalty's shape): d/dW ‖∂D/∂x‖²
          const r1 = (fn: typeof fused) => (f: tf.Tensor) =>
            tf.sum(tf.square(tf.grad((a: tf.Tensor) => tf.sum(tf.square(fn(a, f, bs))))(xs)));
          const second = tf.grad(r1(fused))(ws);
          expect(maxDiff(second, tf.grad(r1(ref))(ws))).toBeLessThan(1e-3);
          expect(tf.max(tf.abs(second)).dataSync()[0]).toBeGreaterThan(0.1);
        });
        // linear needs no kernel (dz = dy); the others run it
        if (counter) expect(counter.calls > 0).toBe(activation !== 'linear');
        [xs, ws, bs].forEach((t) => {
          t.dispose();
        });
      });
    }
  }

  it('computes only the gradients asked for (no input gradient for a first layer over data)', async () => {
    const [xs, ws, bs] = [x(), w(), b()];
    const opts = { activation: 'relu' as const };
    const names = async (f: () => tf.Tensor[]) => {
      const info = await tf.profile(() => {
        tf.dispose(f());
      });
      return info.kernels.map((k) => k.name);
    };
    const loss = (a: tf.Tensor, f: tf.Tensor) =>
      tf.sum(conv2dBiasActivation(a as tf.Tensor4D, f as tf.Tensor4D, bs, opts));
    const filterOnly = await names(() => [tf.grad((f) => loss(xs, f))(ws)]);
    expect(filterOnly).toContain('Conv2DBackpropFilter');
    expect(filterOnly).not.toContain('Conv2DBackpropInput');
    const inputOnly = await names(() => [tf.grad((a) => loss(a, ws))(xs)]);
    expect(inputOnly).toContain('Conv2DBackpropInput');
    expect(inputOnly).not.toContain('Conv2DBackpropFilter');
    tf.dispose([xs, ws, bs]);
  });

  it('is leak-free forward and backward', async () => {
    registerCpuKernel();
    const [xs, ws, bs] = [x(), w(), b()];
    const opts = { strides: 2, activation: 'relu' as const };
    await expectNoLeak(() => conv2dBiasActivation(xs, ws, bs, opts));
    await expectNoLeak(() =>
      tf.grads((a, f, c) =>
        tf.sum(conv2dBiasActivation(a as tf.Tensor4D, f as tf.Tensor4D, c as tf.Tensor1D, opts)),
      )([xs, ws, bs]),
    );
    tf.dispose([xs, ws, bs]);
  });

  it('throws a SculptError naming the shapes or the activation that do not fit', () => {
    const [xs, ws] = [x(), w()];
    const wrong = tf.tensor1d([1, 2, 3]);
    expect(() => conv2dBiasActivation(xs, ws, wrong)).toThrow(SculptError);
    expect(() => conv2dBiasActivation(xs, ws, wrong)).toThrow(/bias float32 \[3\]/);
    const bs = b();
    const bad = { activation: 'elu' as ConvActivation };
    expect(() => conv2dBiasActivation(xs, ws, bs, bad)).toThrow(/got elu/);
    tf.dispose([xs, ws, wrong, bs]);
  });
});
