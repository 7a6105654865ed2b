import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-layers'; // registers tfjs-core's gradients (the Node build ships none)
import { initBackend } from '@sculpt/backend';
import { FUSED_KERNELS, hasFusedKernel } from '@sculpt/core';
import { expectNoLeak } from '@sculpt/core/testing';
import { registerNativeKernels, unregisterNativeKernels } from '@sculpt/native';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demodulation, modulate, type StyleEpilogueInputs, styleEpilogue } from './style-ops.js';

beforeAll(async () => {
  await initBackend('wasm');
  registerNativeKernels();
});
afterAll(() => unregisterNativeKernels());

const SHAPE = [3, 5, 4, 6] as const;

/** Seeded inputs (y around 0: both sides of the leaky ReLU) and an upstream gradient. */
function fixture(noise: boolean) {
  const [b, h, w, c] = SHAPE;
  const e: StyleEpilogueInputs = {
    y: tf.randomNormal([b, h, w, c], 0, 1, 'float32', 1),
    demod: tf.randomUniform([b, c], 0.5, 2, 'float32', 2),
    bias: tf.randomUniform([c], -0.3, 0.3, 'float32', 3),
    noise: noise
      ? { values: tf.randomNormal([b, h, w, 1], 0, 1, 'float32', 4), strength: tf.tensor1d([0.7]) }
      : undefined,
  };
  return { e, dout: tf.randomNormal([b, h, w, c], 0, 1, 'float32', 5) };
}

/** [out, dy, ddemod, dbias, dstrength?] on the active backend. */
function run(noise: boolean): Float32Array[] {
  return tf.tidy(() => {
    const { e, dout } = fixture(noise);
    const xs = [e.y, e.demod, e.bias, ...(e.noise ? [e.noise.strength] : [])];
    const grads = tf.grads(lossOf(e, dout))(xs);
    return [styleEpilogue(e), ...grads].map((t) => t.dataSync() as Float32Array);
  });
}

/** Σ styleEpilogue(y, demod, bias, strength)·dout as a function of its differentiable inputs. */
function lossOf(e: StyleEpilogueInputs, dout: tf.Tensor) {
  return (y: tf.Tensor, demod: tf.Tensor, bias: tf.Tensor, strength?: tf.Tensor): tf.Tensor => {
    const values = e.noise?.values;
    const noise = values && strength ? { values, strength } : undefined;
    const out = styleEpilogue({ y: y as tf.Tensor4D, demod: demod as tf.Tensor2D, bias, noise });
    return tf.sum(tf.mul(out, dout));
  };
}

function worst(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  return b.reduce((w, v, i) => Math.max(w, Math.abs(a[i] - v) / (1 + Math.abs(v))), 0);
}

describe('styleEpilogue', () => {
  for (const noise of [true, false]) {
    it(`fused kernels on wasm match the tfjs ops on cpu${noise ? ' (with noise)' : ''}: values and gradients`, async () => {
      await tf.setBackend('cpu');
      expect(hasFusedKernel(FUSED_KERNELS.styleEpilogue)).toBe(false);
      const want = run(noise);
      await tf.setBackend('wasm');
      expect(hasFusedKernel(FUSED_KERNELS.styleEpilogue)).toBe(true);
      const profile = await tf.profile(() => run(noise));
      const kernels = new Set(profile.kernelNames);
      expect(kernels.has(FUSED_KERNELS.styleEpilogue)).toBe(true);
      expect(kernels.has(FUSED_KERNELS.styleEpilogueGrad)).toBe(true);
      const got = run(noise);
      expect(got.length).toBe(noise ? 5 : 4);
      got.forEach((g, i) => {
        expect(worst(g, want[i]), `output ${i}`).toBeLessThan(1e-5);
      });
    });
  }

  it('a gradient of its gradient (tfjs ops under an outer tape) matches the closed form', async () => {
    await tf.setBackend('wasm');
    tf.tidy(() => {
      const { e, dout } = fixture(true);
      const loss = lossOf(e, dout);
      const strength = e.noise?.strength as tf.Tensor;
      // ‖∂L/∂y‖² = Σ (dout·gain·m·d)², m = 1 where out > 0 else 0.2: its ∂/∂d is 2d·Σ_hw (dout·gain·m)².
      const got = tf.grad((demod: tf.Tensor) => {
        const dy = tf.grad((y: tf.Tensor) => loss(y, demod, e.bias, strength))(e.y);
        return tf.sum(tf.square(dy));
      })(e.demod);
      const m = tf.step(styleEpilogue(e), 0.2);
      const g = tf.sum(tf.square(tf.mul(tf.mul(dout, Math.SQRT2), m)), [1, 2]);
      const want = tf.mul(tf.mul(e.demod, 2), g);
      expect(worst(got.dataSync() as Float32Array, want.dataSync() as Float32Array)).toBeLessThan(
        1e-5,
      );
    });
  });

  it('leaks no tensor through a fused forward and backward pass', async () => {
    await tf.setBackend('wasm');
    const { e, dout } = fixture(true);
    const strength = e.noise?.strength as tf.Tensor;
    await expectNoLeak(() => styleEpilogue(e));
    await expectNoLeak(() =>
      tf.grads((y: tf.Tensor, d: tf.Tensor, b: tf.Tensor, s: tf.Tensor) => {
        const noise = { values: e.noise?.values as tf.Tensor4D, strength: s };
        const out = styleEpilogue({ y: y as tf.Tensor4D, demod: d as tf.Tensor2D, bias: b, noise });
        return tf.sum(tf.mul(out, dout));
      })([e.y, e.demod, e.bias, strength]),
    );
    tf.dispose([e.y, e.demod, e.bias, e.noise?.values as tf.Tensor, strength, dout]);
  });
});

describe('modulate', () => {
  /** [x·s, dx, dstyles] and a second-order gradient on the active backend. */
  const run = () =>
    tf.tidy(() => {
      const x = tf.randomNormal([3, 5, 4, 6], 0, 1, 'float32', 6);
      const styles = tf.randomUniform([3, 6], 0.5, 2, 'float32', 7);
      const dout = tf.randomNormal([3, 5, 4, 6], 0, 1, 'float32', 8);
      const loss = (a: tf.Tensor, s: tf.Tensor) =>
        tf.sum(tf.mul(modulate(a as tf.Tensor4D, s as tf.Tensor2D), dout));
      // ‖∂L/∂x‖² = Σ (dout·s)², differentiated in s: under an outer tape the gradient is tfjs ops.
      const second = tf.grad((s: tf.Tensor) =>
        tf.sum(tf.square(tf.grad((a: tf.Tensor) => loss(a, s))(x))),
      )(styles);
      const out = modulate(x as tf.Tensor4D, styles as tf.Tensor2D);
      return [out, ...tf.grads(loss)([x, styles]), second].map((t) => t.dataSync() as Float32Array);
    });

  it('is one fused gradient kernel on wasm and matches tfjs ops on cpu: values, gradients, a second-order gradient', async () => {
    await tf.setBackend('cpu');
    const want = run();
    await tf.setBackend('wasm');
    const profile = await tf.profile(() => run());
    expect(profile.kernelNames).toContain(FUSED_KERNELS.modulateGrad);
    const got = run();
    got.forEach((g, i) => {
      expect(worst(g, want[i]), `output ${i}`).toBeLessThan(1e-5);
    });
  });

  it('broadcasts x [1, H, W, C] over the batch: the same values and gradients as a tiled x', async () => {
    await tf.setBackend('wasm');
    tf.tidy(() => {
      const x = tf.randomNormal([1, 4, 4, 5], 0, 1, 'float32', 9);
      const styles = tf.randomUniform([3, 5], 0.5, 2, 'float32', 10);
      const dout = tf.randomNormal([3, 4, 4, 5], 0, 1, 'float32', 11);
      const loss = (tile: boolean) => (a: tf.Tensor, s: tf.Tensor) => {
        const input = (tile ? tf.tile(a, [3, 1, 1, 1]) : a) as tf.Tensor4D;
        return tf.sum(tf.mul(modulate(input, s as tf.Tensor2D), dout));
      };
      const got = tf.grads(loss(false))([x, styles]);
      const want = tf.grads(loss(true))([x, styles]);
      expect(modulate(x as tf.Tensor4D, styles as tf.Tensor2D).shape).toEqual([3, 4, 4, 5]);
      got.forEach((g, i) => {
        const a = g.dataSync() as Float32Array;
        expect(worst(a, want[i].dataSync() as Float32Array), `gradient ${i}`).toBeLessThan(1e-5);
      });
    });
  });

  it('leaks no tensor through a fused forward and backward pass', async () => {
    await tf.setBackend('wasm');
    const x = tf.randomNormal([2, 3, 3, 4]);
    const styles = tf.ones([2, 4]);
    await expectNoLeak(() =>
      tf.grads((a: tf.Tensor, s: tf.Tensor) =>
        tf.sum(modulate(a as tf.Tensor4D, s as tf.Tensor2D)),
      )([x, styles]),
    );
    tf.dispose([x, styles]);
  });
});

describe('demodulation', () => {
  /** [d, dstyles, dfilter, a second-order gradient] on the active backend. */
  const run = () =>
    tf.tidy(() => {
      const styles = tf.randomNormal([4, 5], 0, 1, 'float32', 12) as tf.Tensor2D;
      const filter = tf.randomNormal([3, 3, 5, 6], 0, 0.3, 'float32', 13) as tf.Tensor4D;
      const dd = tf.randomNormal([4, 6], 0, 1, 'float32', 14);
      const loss = (s: tf.Tensor, w: tf.Tensor) =>
        tf.sum(tf.mul(demodulation(s as tf.Tensor2D, w as tf.Tensor4D), dd));
      // ‖∂L/∂s‖² differentiated in w: under an outer tape the gradient is tfjs ops.
      const second = tf.grad((w: tf.Tensor) =>
        tf.sum(tf.square(tf.grad((s: tf.Tensor) => loss(s, w))(styles))),
      )(filter);
      const d = demodulation(styles, filter);
      return [d, ...tf.grads(loss)([styles, filter]), second].map(
        (t) => t.dataSync() as Float32Array,
      );
    });

  it('is one fused kernel each way on wasm and matches tfjs ops on cpu: values, gradients, a second-order gradient', async () => {
    await tf.setBackend('cpu');
    const want = run();
    await tf.setBackend('wasm');
    const profile = await tf.profile(() => run());
    expect(profile.kernelNames).toContain(FUSED_KERNELS.demodulate);
    expect(profile.kernelNames).toContain(FUSED_KERNELS.demodulateGrad);
    const got = run();
    got.forEach((g, i) => {
      expect(worst(g, want[i]), `output ${i}`).toBeLessThan(1e-4);
    });
  });

  it('leaks no tensor through a fused forward and backward pass', async () => {
    await tf.setBackend('wasm');
    const styles = tf.randomNormal([2, 3]);
    const filter = tf.randomNormal([3, 3, 3, 4]);
    await expectNoLeak(() =>
      tf.grads((s: tf.Tensor, w: tf.Tensor) =>
        tf.sum(demodulation(s as tf.Tensor2D, w as tf.Tensor4D)),
      )([styles, filter]),
    );
    tf.dispose([styles, filter]);
  });
});
