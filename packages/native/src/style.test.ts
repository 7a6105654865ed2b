import { initBackend } from '@sculpt/backend';
import { FUSED_KERNELS, SculptError } from '@sculpt/core';
import { expectNoLeak } from '@sculpt/core/testing';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-core/dist/register_all_gradients'; // the Node build of tfjs-core registers none
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerNativeKernels, unregisterNativeKernels } from './index.js';
import { values, worst } from './test-values.js';

interface Case {
  shape: [number, number, number, number];
  noise: boolean;
}

// Channels not a multiple of 4 (5), batch 1, and one past the addon's grain (the bench's 28×28 layer).
const CASES: Case[] = [
  { shape: [2, 4, 3, 8], noise: true },
  { shape: [2, 4, 3, 8], noise: false },
  { shape: [1, 7, 7, 5], noise: true },
  { shape: [64, 28, 28, 16], noise: true },
];
const ATTRS = { alpha: 0.2, gain: Math.SQRT2 };

/** Inputs of one case: y centred near 0 (both sides of the leaky ReLU), d > 0, a dout. */
function inputs(c: Case): Record<string, tf.Tensor> {
  const [b, h, w, ch] = c.shape;
  const n = b * h * w * ch;
  const t: Record<string, tf.Tensor> = {
    y: tf.tensor(values(n, 21), c.shape),
    demod: tf.tensor(
      values(b * ch, 22).map((v) => 1.5 + v),
      [b, ch],
    ),
    bias: tf.tensor(
      values(ch, 23).map((v) => 0.3 * v),
      [ch],
    ),
    dout: tf.tensor(values(n, 24), c.shape),
  };
  if (c.noise) {
    t.noise = tf.tensor(values(b * h * w, 25), [b, h, w, 1]);
    t.strength = tf.tensor([0.4]);
  }
  return t;
}

/** The reference: the tfjs ops of gan's styled layer (demodulate, noise, bias, leaky ReLU, gain). */
function reference(t: Record<string, tf.Tensor>, strength?: tf.Tensor): tf.Tensor {
  const [b, , , c] = t.y.shape;
  let z = tf.mul(t.y, tf.reshape(t.demod, [b, 1, 1, c]));
  if (strength) z = tf.add(z, tf.mul(t.noise, strength));
  return tf.mul(tf.leakyRelu(tf.add(z, t.bias), ATTRS.alpha), ATTRS.gain);
}

/** [out, dy, ddemod, dbias, dstrength?] on cpu through the reference's autodiff. */
async function onCpu(c: Case): Promise<Float32Array[]> {
  await tf.setBackend('cpu');
  return tf.tidy(() => {
    const t = inputs(c);
    const xs = [t.y, t.demod, t.bias, ...(c.noise ? [t.strength] : [])];
    const f = (y: tf.Tensor, demod: tf.Tensor, bias: tf.Tensor, strength?: tf.Tensor) =>
      tf.sum(tf.mul(reference({ ...t, y, demod, bias }, strength), t.dout));
    const grads = tf.grads(f as (...a: tf.Tensor[]) => tf.Tensor)(xs);
    return [reference(t, t.strength), ...grads].map((g) => g.dataSync() as Float32Array);
  });
}

/** The same through the two native kernels. */
async function onNative(c: Case): Promise<Float32Array[]> {
  await tf.setBackend('wasm');
  return tf.tidy(() => {
    const { dout, ...forward } = inputs(c);
    const out = tf.engine().runKernel(FUSED_KERNELS.styleEpilogue, forward, ATTRS) as tf.Tensor;
    const { y, demod, noise } = forward;
    const gradInputs: tf.NamedTensorMap = { dout, out, y, demod, ...(noise ? { noise } : {}) };
    const grads = tf
      .engine()
      .runKernel(FUSED_KERNELS.styleEpilogueGrad, gradInputs, ATTRS) as tf.Tensor[];
    expect(grads.map((g) => g.shape)).toEqual([
      c.shape,
      [c.shape[0], c.shape[3]],
      [c.shape[3]],
      ...(c.noise ? [[1]] : []),
    ]);
    return [out, ...grads].map((g) => g.dataSync() as Float32Array);
  });
}

beforeAll(async () => {
  await initBackend('wasm');
  registerNativeKernels();
});
afterAll(() => unregisterNativeKernels());

describe('fused StyleGAN epilogue', () => {
  for (const c of CASES) {
    it(`[${c.shape}]${c.noise ? ' + noise' : ''}: out, dy, ddemod, dbias, dstrength match cpu`, async () => {
      const want = await onCpu(c);
      const got = await onNative(c);
      // out and dy round the same ops; the sums over H·W (ddemod) and B·H·W (dbias, dstrength) in other orders.
      const tol = [1e-6, 1e-6, 1e-5, 1e-4, 1e-4];
      const names = ['out', 'dy', 'ddemod', 'dbias', 'dstrength'];
      want.forEach((w, i) => {
        expect(worst(got[i], w), names[i]).toBeLessThan(tol[i]);
      });
    });
  }

  it('leaks no tensor, forward or backward', async () => {
    await tf.setBackend('wasm');
    const { dout, ...forward } = inputs(CASES[0]);
    await expectNoLeak(() => {
      const out = tf.engine().runKernel(FUSED_KERNELS.styleEpilogue, forward, ATTRS) as tf.Tensor;
      const { y, demod, noise } = forward;
      const grads = tf
        .engine()
        .runKernel(FUSED_KERNELS.styleEpilogueGrad, { dout, out, y, demod, noise }, ATTRS);
      return [out, ...(grads as tf.Tensor[])];
    });
    tf.dispose([dout, ...Object.values(forward)]);
  });

  it('names what it got and the fix for inputs it does not take', async () => {
    await tf.setBackend('wasm');
    const y = tf.ones([2, 3, 3, 6]);
    const bias = tf.zeros([6]);
    const demod = tf.ones([2, 5]);
    const run = (extra: Record<string, tf.Tensor>) => () =>
      tf.engine().runKernel(FUSED_KERNELS.styleEpilogue, { y, bias, ...extra }, ATTRS);
    expect(run({ demod })).toThrow(SculptError);
    expect(run({ demod })).toThrow(
      /demod \[B, C\].*got y float32 \[2,3,3,6\], demod float32 \[2,5\]/,
    );
    const good = tf.ones([2, 6]);
    const noise = tf.ones([2, 3, 3, 1]);
    expect(run({ demod: good, noise })).toThrow(
      /strength \[1\].*got bias \[6\], strength \[none\]/,
    );
    expect(() =>
      tf
        .engine()
        .runKernel(FUSED_KERNELS.styleEpilogueGrad, { dout: bias, out: y, y, demod: good }, ATTRS),
    ).toThrow(/dout and out shaped like y \[2,3,3,6\].*got dout \[6\]/);
    tf.dispose([y, bias, demod, good, noise]);
  });
});

describe('fused modulation gradient', () => {
  const shapes: [number, number, number, number][] = [
    [2, 3, 4, 5],
    [64, 14, 14, 32],
  ];
  for (const shape of shapes) {
    it(`[${shape}]: dx and dstyles match the gradient of x·s on cpu`, async () => {
      const [b, h, w, c] = shape;
      const make = () => ({
        x: tf.tensor(values(b * h * w * c, 31), shape),
        styles: tf.tensor(values(b * c, 32), [b, c]),
        dy: tf.tensor(values(b * h * w * c, 33), shape),
      });
      await tf.setBackend('cpu');
      const want = tf.tidy(() => {
        const { x, styles, dy } = make();
        const f = (a: tf.Tensor, s: tf.Tensor) =>
          tf.sum(tf.mul(tf.mul(a, tf.reshape(s, [b, 1, 1, c])), dy));
        return tf
          .grads(f)([x, styles])
          .map((t) => t.dataSync() as Float32Array);
      });
      await tf.setBackend('wasm');
      const t = make();
      await expectNoLeak(() => tf.engine().runKernel(FUSED_KERNELS.modulateGrad, t) as tf.Tensor[]);
      const got = tf.tidy(() =>
        (tf.engine().runKernel(FUSED_KERNELS.modulateGrad, t) as tf.Tensor[]).map(
          (g) => g.dataSync() as Float32Array,
        ),
      );
      expect(worst(got[0], want[0]), 'dx').toBeLessThan(1e-6);
      expect(worst(got[1], want[1]), 'dstyles').toBeLessThan(1e-5);
      tf.dispose(Object.values(t));
    });
  }

  it('names what it got and the fix for inputs it does not take', async () => {
    await tf.setBackend('wasm');
    const x = tf.ones([2, 3, 3, 6]);
    const styles = tf.ones([2, 5]);
    expect(() => tf.engine().runKernel(FUSED_KERNELS.modulateGrad, { dy: x, x, styles })).toThrow(
      /styles \[B, C\].*got dy \[2,3,3,6\], x \[2,3,3,6\], styles \[2,5\].*tfjs ops/,
    );
    tf.dispose([x, styles]);
  });
});

describe('fused demodulation', () => {
  it('d and its gradients (dstyles, dfilter) match the tfjs ops on cpu; leaks nothing', async () => {
    const [b, k, cin, cout] = [5, 3, 6, 7];
    const make = () => ({
      styles: tf.tensor(values(b * cin, 41), [b, cin]),
      filter: tf.tensor(values(k * k * cin * cout, 42), [k, k, cin, cout]),
      dd: tf.tensor(values(b * cout, 43), [b, cout]),
    });
    const demod = (s: tf.Tensor, w: tf.Tensor) =>
      tf.rsqrt(
        tf.add(
          tf.matMul(tf.square(s) as tf.Tensor2D, tf.sum(tf.square(w), [0, 1]) as tf.Tensor2D),
          1e-8,
        ),
      );
    await tf.setBackend('cpu');
    const want = tf.tidy(() => {
      const { styles, filter, dd } = make();
      const grads = tf.grads((s: tf.Tensor, w: tf.Tensor) => tf.sum(tf.mul(demod(s, w), dd)))([
        styles,
        filter,
      ]);
      return [demod(styles, filter), ...grads].map((t) => t.dataSync() as Float32Array);
    });
    await tf.setBackend('wasm');
    const { styles, filter, dd } = make();
    const run = () => {
      const d = tf
        .engine()
        .runKernel(FUSED_KERNELS.demodulate, { styles, filter }, { epsilon: 1e-8 }) as tf.Tensor;
      const grads = tf
        .engine()
        .runKernel(FUSED_KERNELS.demodulateGrad, { dd, styles, filter, d }) as tf.Tensor[];
      return [d, ...grads];
    };
    await expectNoLeak(run);
    const got = tf.tidy(() => run().map((t) => t.dataSync() as Float32Array));
    ['d', 'dstyles', 'dfilter'].forEach((name, i) => {
      expect(worst(got[i], want[i]), name).toBeLessThan(1e-5);
    });
    expect(() =>
      tf.engine().runKernel(FUSED_KERNELS.demodulate, { styles: dd, filter }, { epsilon: 1e-8 }),
    ).toThrow(/styles \[B, Cin\].*got styles float32 \[5,7\], filter float32 \[3,3,6,7\]/);
    tf.dispose([styles, filter, dd]);
  });
});
