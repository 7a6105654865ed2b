import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { expectNoLeak } from '../testing/index.js';
import { clipByGlobalNorm, globalNorm } from './clip.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('clipByGlobalNorm', () => {
  // ‖[3, 4]‖² + ‖[[12]]‖² = 25 + 144 = 169: global norm 13.
  const make = () => ({ a: tf.tensor1d([3, 4]), b: tf.tensor2d([[12]]) });

  it('scales every gradient by maxNorm / norm when the norm is larger', () => {
    const grads = make();
    const { grads: out, norm } = clipByGlobalNorm(grads, 6.5);
    expect(norm.dataSync()[0]).toBeCloseTo(13, 5);
    const f = 6.5 / (13 + 1e-6);
    expect(Math.abs(out.a.dataSync()[0] - 3 * f)).toBeLessThan(1e-6);
    expect(Math.abs(out.a.dataSync()[1] - 4 * f)).toBeLessThan(1e-6);
    expect(out.b.shape).toEqual([1, 1]);
    expect(Math.abs(out.b.dataSync()[0] - 12 * f)).toBeLessThan(1e-6);
    expect(globalNorm(Object.values(out)).dataSync()[0]).toBeCloseTo(6.5, 5);
    tf.dispose([grads.a, grads.b, out.a, out.b, norm]);
  });

  it('leaves gradients alone when the norm is within maxNorm', () => {
    const grads = make();
    const { grads: out, norm } = clipByGlobalNorm(grads, 20);
    expect(Array.from(out.a.dataSync())).toEqual([3, 4]);
    expect(Array.from(out.b.dataSync())).toEqual([12]);
    tf.dispose([grads.a, grads.b, out.a, out.b, norm]);
  });

  it('propagates a non-finite norm', () => {
    const g = { a: tf.tensor1d([1, Infinity]) };
    const { grads: out, norm } = clipByGlobalNorm(g, 1);
    expect(norm.dataSync()[0]).toBe(Infinity);
    // factor = min(1, 1/∞) = 0: the finite entry becomes 0, the infinite one 0·∞ = NaN (the Trainer's guard reports it).
    expect(out.a.dataSync()[0]).toBe(0);
    expect(Number.isNaN(out.a.dataSync()[1])).toBe(true);
    tf.dispose([g.a, out.a, norm]);
  });

  it('rejects maxNorm ≤ 0 or non-finite', () => {
    const grads = make();
    for (const bad of [0, -1, Number.NaN, Infinity]) {
      expect(() => clipByGlobalNorm(grads, bad)).toThrow(
        /clipByGlobalNorm: maxNorm must be a finite number > 0/,
      );
    }
    tf.dispose(Object.values(grads));
  });

  it('leaks nothing and does not dispose its inputs', async () => {
    const grads = make();
    await expectNoLeak(() => clipByGlobalNorm(grads, 1));
    expect(grads.a.isDisposed).toBe(false);
    tf.dispose(Object.values(grads));
  });
});

describe('globalNorm', () => {
  it('adds at most 7 squared norms per AddN (WebGPU: 8 storage buffers per shader)', () => {
    const tensors = Array.from({ length: 50 }, (_, i) => tf.tensor1d([i, 1]));
    const spy = vi.spyOn(tf.engine(), 'runKernel');
    const norm = globalNorm(tensors);
    const widths = spy.mock.calls
      .filter(([name]) => name === 'AddN')
      .map(([, inputs]) => Object.keys(inputs).length);
    spy.mockRestore();
    // Σ (i² + 1) for i < 50 = 40,425 + 50
    expect(norm.dataSync()[0]).toBeCloseTo(Math.sqrt(40_475), 3);
    expect(widths.length).toBeGreaterThan(1);
    expect(Math.max(...widths)).toBeLessThanOrEqual(7);
    tf.dispose([...tensors, norm]);
  });
});
