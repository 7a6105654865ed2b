import { initBackend } from '@sculpt/backend';
import {
  type ConvActivation,
  conv2dBiasActivation,
  FUSED_KERNELS,
  SculptError,
} from '@sculpt/core';
import { expectNoLeak } from '@sculpt/core/testing';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-core/dist/register_all_gradients'; // the Node build of tfjs-core registers none
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerNativeKernels, unregisterNativeKernels } from './index.js';
import { values, worst } from './test-values.js';

interface Case {
  x: [number, number, number, number];
  k: number;
  co: number;
  strides: number;
  activation: ConvActivation;
}

// A VAE's stride-2 and stride-1 relu layers, a critic's leakyrelu, a linear last conv,
// and one past the kernel's 64K-float parts (its db sums over several parts).
const CASES: Case[] = [
  { x: [2, 8, 8, 3], k: 3, co: 8, strides: 2, activation: 'relu' },
  { x: [2, 7, 7, 16], k: 3, co: 16, strides: 1, activation: 'relu' },
  { x: [3, 8, 8, 4], k: 4, co: 12, strides: 2, activation: 'leakyrelu' },
  { x: [2, 6, 6, 16], k: 3, co: 1, strides: 1, activation: 'linear' },
  { x: [32, 14, 14, 1], k: 3, co: 32, strides: 1, activation: 'leakyrelu' },
];

function tensors(c: Case): [tf.Tensor4D, tf.Tensor4D, tf.Tensor1D] {
  const n = c.x.reduce((a, b) => a * b, 1);
  const wn = c.k * c.k * c.x[3] * c.co;
  return [
    tf.tensor4d(values(n, 21), c.x),
    tf.tensor4d(
      values(wn, 22).map((v) => v / Math.sqrt(c.k * c.k * c.x[3])),
      [c.k, c.k, c.x[3], c.co],
    ),
    tf.tensor1d(values(c.co, 23).map((v) => v * 0.3)),
  ];
}

/** [y, dx, dW, db, d/dW ‖∂L/∂x‖²] of L = Σ y·sin(y) through conv2dBiasActivation on the active backend. */
function run(c: Case): Float32Array[] {
  return tf.tidy(() => {
    const [x, w, b] = tensors(c);
    const opts = { strides: c.strides, activation: c.activation, alpha: 0.2 };
    const f = (a: tf.Tensor, f: tf.Tensor, bs: tf.Tensor) =>
      conv2dBiasActivation(a as tf.Tensor4D, f as tf.Tensor4D, bs as tf.Tensor1D, opts);
    const loss = (a: tf.Tensor, fw: tf.Tensor, bs: tf.Tensor) => {
      const y = f(a, fw, bs);
      return tf.sum(tf.mul(y, tf.sin(y))) as tf.Scalar;
    };
    const grads = tf.grads(loss)([x, w, b]);
    const r1 = (fw: tf.Tensor) => tf.sum(tf.square(tf.grad((a: tf.Tensor) => loss(a, fw, b))(x)));
    return [f(x, w, b), ...grads, tf.grad(r1)(w)].map((t) => t.dataSync() as Float32Array);
  });
}

beforeAll(async () => {
  await initBackend('wasm');
  registerNativeKernels();
});
afterAll(() => unregisterNativeKernels());

describe('conv2dBiasActivation on the native kernels', () => {
  for (const c of CASES) {
    it(`[${c.x}] ${c.k}×${c.k}→${c.co} /${c.strides} ${c.activation}: y, dx, dW, db and a second-order gradient match cpu`, async () => {
      await tf.setBackend('cpu');
      const want = run(c);
      await tf.setBackend('wasm');
      expect(tf.getKernel(FUSED_KERNELS.biasActivationGrad, 'wasm')).toBeDefined();
      const got = run(c);
      const names = ['y', 'dx', 'dW', 'db', 'd/dW |dx|^2'];
      // dW and db sum B·H·W terms: their rounding grows with the count.
      const tol = [1e-5, 1e-4, 5e-4, 5e-4, 1e-3];
      names.forEach((name, i) => {
        expect(worst(got[i], want[i]), name).toBeLessThan(tol[i]);
      });
    });
  }

  it('FusedConv2D block by block (4 blocks of images) matches cpu, with and without bias', async () => {
    const c: Case = { x: [20, 28, 28, 4], k: 3, co: 64, strides: 1, activation: 'relu' };
    const fused = (activation: 'linear' | 'relu' | 'leakyrelu', withBias: boolean) =>
      tf.tidy(() => {
        const [x, w, b] = tensors(c);
        const bias = withBias ? b : undefined;
        const y = tf.fused.conv2d({
          x,
          filter: w,
          bias,
          strides: 1,
          pad: 'same',
          activation,
          leakyreluAlpha: 0.3,
        });
        return y.dataSync() as Float32Array;
      });
    for (const [activation, withBias] of [
      ['relu', true],
      ['leakyrelu', true],
      ['linear', true],
      ['relu', false],
    ] as const) {
      await tf.setBackend('cpu');
      const want = fused(activation, withBias);
      await tf.setBackend('wasm');
      await expectNoLeak(() => fused(activation, withBias));
      expect(
        worst(fused(activation, withBias), want),
        `${activation}${withBias ? ' + bias' : ''}`,
      ).toBeLessThan(1e-5);
    }
  });

  it('the kernel gives dz and db of the tfjs ops, leaks nothing, and names inputs it does not take', async () => {
    await tf.setBackend('wasm');
    const shape = [64, 14, 14, 32];
    const n = shape.reduce((a, b) => a * b, 1);
    const dy = tf.tensor(values(n, 31), shape);
    const y = tf.tensor(values(n, 32), shape);
    const [dz, db] = tf
      .engine()
      .runKernel(FUSED_KERNELS.biasActivationGrad, { dy, y }, { alpha: 0.2 }) as tf.Tensor[];
    const wantDz = tf.mul(dy, tf.step(y, 0.2));
    const wantDb = tf.sum(wantDz, [0, 1, 2]);
    expect(worst(dz.dataSync() as Float32Array, wantDz.dataSync() as Float32Array)).toBe(0);
    expect(worst(db.dataSync() as Float32Array, wantDb.dataSync() as Float32Array)).toBeLessThan(
      1e-4,
    );
    await expectNoLeak(() =>
      tf.engine().runKernel(FUSED_KERNELS.biasActivationGrad, { dy, y }, { alpha: 0 }),
    );
    const short = tf.zeros([64, 14, 14, 16]);
    const bad = () =>
      tf.engine().runKernel(FUSED_KERNELS.biasActivationGrad, { dy, y: short }, { alpha: 0 });
    expect(bad).toThrow(SculptError);
    expect(bad).toThrow(/got dy float32 \[64,14,14,32\], y float32 \[64,14,14,16\]/);
    tf.dispose([dy, y, dz, db, wantDz, wantDb, short]);
  });

  it('leaks no tensor through a training gradient', async () => {
    await tf.setBackend('wasm');
    const [x, w, b] = tensors(CASES[2]);
    const opts = { strides: 2, activation: 'leakyrelu' as const };
    await expectNoLeak(() =>
      tf.grads((a, f, bs) =>
        tf.sum(conv2dBiasActivation(a as tf.Tensor4D, f as tf.Tensor4D, bs as tf.Tensor1D, opts)),
      )([x, w, b]),
    );
    tf.dispose([x, w, b]);
  });
});
