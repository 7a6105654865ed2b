import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-layers'; // registers tfjs-core's gradients (the Node build of tfjs-core ships none)
import { Rng } from '@sculpt/core';
import { expectNoLeak } from '@sculpt/core/testing';
import { beforeAll, describe, expect, it } from 'vitest';
import { registerCpuKernels } from './cpu-kernels.js';
import { initBackend } from './init.js';

/**
 * Adjoint check: the forward resize is linear, R(x), so its gradient kernel
 * must satisfy ⟨R(x), r⟩ = ⟨x, Rᵀ(r)⟩ for every x, r. Both sides are summed in
 * float64 from the two kernels' outputs: it holds only if the gradient kernel
 * is the exact adjoint of the forward kernel.
 */
async function adjointGap(
  shape: [number, number, number, number],
  size: [number, number],
  alignCorners: boolean,
  halfPixelCenters: boolean,
): Promise<{ lhs: number; rhs: number }> {
  const rng = new Rng(shape[0] * 1000 + size[0] * 10 + size[1]);
  const [lhsT, xT, gT] = tf.tidy(() => {
    const x = rng.normal(shape) as tf.Tensor4D;
    const y = tf.image.resizeNearestNeighbor(x, size, alignCorners, halfPixelCenters);
    const r = rng.normal(y.shape);
    const g = tf.grad((v: tf.Tensor) =>
      tf.sum(
        tf.mul(
          tf.image.resizeNearestNeighbor(v as tf.Tensor4D, size, alignCorners, halfPixelCenters),
          r,
        ),
      ),
    )(x);
    return [tf.mul(y, r), x, g];
  });
  const [prod, xs, gs] = await Promise.all([lhsT.data(), xT.data(), gT.data()]);
  tf.dispose([lhsT, xT, gT]);
  let lhs = 0;
  for (const v of prod) lhs += v;
  let rhs = 0;
  for (let i = 0; i < xs.length; i++) rhs += xs[i] * gs[i];
  return { lhs, rhs };
}

describe('registerCpuKernels: ResizeNearestNeighborGrad', () => {
  let shipped: tf.KernelConfig;
  beforeAll(async () => {
    shipped = tf.getKernel(tf.ResizeNearestNeighborGrad, 'cpu'); // tfjs-backend-cpu's own kernel
    await initBackend('cpu'); // replaces it
  });

  it.each([
    { shape: [3, 4, 4, 2], size: [8, 8], alignCorners: false, halfPixelCenters: false },
    { shape: [2, 5, 3, 3], size: [7, 8], alignCorners: false, halfPixelCenters: false },
    { shape: [2, 5, 3, 3], size: [7, 8], alignCorners: true, halfPixelCenters: false },
    { shape: [2, 5, 3, 3], size: [7, 8], alignCorners: false, halfPixelCenters: true },
    { shape: [2, 6, 6, 1], size: [4, 3], alignCorners: false, halfPixelCenters: false },
  ] as const)(
    'is the adjoint of the forward resize: $shape → $size, alignCorners=$alignCorners, halfPixelCenters=$halfPixelCenters',
    async (c) => {
      const { lhs, rhs } = await adjointGap(
        [...c.shape],
        [...c.size],
        c.alignCorners,
        c.halfPixelCenters,
      );
      expect(Math.abs(lhs - rhs)).toBeLessThan(1e-4 * (1 + Math.abs(lhs)));
    },
  );

  it('replaces a kernel that fails the same check for batch > 1 (tfjs-backend-cpu 4.22)', async () => {
    const ours = tf.getKernel(tf.ResizeNearestNeighborGrad, 'cpu');
    expect(ours).not.toBe(shipped);
    tf.unregisterKernel(tf.ResizeNearestNeighborGrad, 'cpu');
    tf.registerKernel(shipped);
    try {
      const { lhs, rhs } = await adjointGap([2, 4, 4, 2], [8, 8], false, false);
      expect(Math.abs(lhs - rhs)).toBeGreaterThan(1e-2);
    } finally {
      tf.unregisterKernel(tf.ResizeNearestNeighborGrad, 'cpu');
      tf.registerKernel(ours);
    }
  });

  it('is idempotent and does not leak', async () => {
    registerCpuKernels();
    const first = tf.getKernel(tf.ResizeNearestNeighborGrad, 'cpu');
    registerCpuKernels();
    expect(tf.getKernel(tf.ResizeNearestNeighborGrad, 'cpu')).toBe(first);
    const x = tf.ones([2, 3, 3, 1]);
    await expectNoLeak(() =>
      tf.grad((v: tf.Tensor) => tf.sum(tf.image.resizeNearestNeighbor(v as tf.Tensor4D, [6, 6])))(
        x,
      ),
    );
    x.dispose();
  });
});
