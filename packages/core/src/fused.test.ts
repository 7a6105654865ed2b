import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { FUSED_KERNELS, hasFusedKernel } from './index.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});
afterEach(() => {
  if (tf.getKernel(FUSED_KERNELS.layerNorm, 'cpu'))
    tf.unregisterKernel(FUSED_KERNELS.layerNorm, 'cpu');
});

describe('hasFusedKernel', () => {
  it('is false where no backend registered the kernel, true once the active backend has it', () => {
    expect(Object.isFrozen(FUSED_KERNELS)).toBe(true);
    expect(hasFusedKernel(FUSED_KERNELS.layerNorm)).toBe(false);
    tf.registerKernel({
      kernelName: FUSED_KERNELS.layerNorm,
      backendName: 'cpu',
      kernelFunc: () => [],
    });
    expect(hasFusedKernel(FUSED_KERNELS.layerNorm)).toBe(true);
    expect(hasFusedKernel(FUSED_KERNELS.gelu)).toBe(false);
  });
});
