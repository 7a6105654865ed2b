import { existsSync } from 'node:fs';
import { BackendError } from '@sculpt/core';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { skipWebGpu } from './backends.test-util.js';
import { initBackend } from './init.js';
import { resolvedDir } from './load.js';

/** [[1,2],[3,4]] · [[5,6],[7,8]] = [[19,22],[43,50]] on the active backend. */
async function matMulWorks(): Promise<number[]> {
  const y = tf.tidy(() =>
    tf.matMul(
      tf.tensor2d([
        [1, 2],
        [3, 4],
      ]),
      tf.tensor2d([
        [5, 6],
        [7, 8],
      ]),
    ),
  );
  const values = Array.from(await y.data());
  y.dispose();
  return values;
}

async function errorOf(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected a rejection');
}

describe('initBackend', () => {
  it("'auto' picks wasm in Node (tfjs-node is not installed) and says why it passed over tensorflow", async () => {
    const info = await initBackend();
    expect(info).toMatchObject({
      name: 'wasm',
      requested: 'auto',
      isNode: true,
      simd: true,
      threads: 1,
    });
    expect(info.skipped.map((s) => s.name)).toEqual(['tensorflow']);
    expect(info.skipped[0].reason).toContain('@tensorflow/tfjs-node');
    expect(tf.getBackend()).toBe('wasm');
    expect(await matMulWorks()).toEqual([19, 22, 43, 50]);
  });

  it("'wasm' loads the SIMD build from the installed package and registers sculpt's wasm kernels", async () => {
    const info = await initBackend('wasm');
    expect(info).toMatchObject({ name: 'wasm', requested: 'wasm', simd: true, skipped: [] });
    const dir = await resolvedDir('@tensorflow/tfjs-backend-wasm');
    expect(dir && existsSync(`${dir}tfjs-backend-wasm-simd.wasm`)).toBe(true);
    // registerWasmKernels() ran: the kernel conv training needs exists on wasm.
    expect(tf.getKernel('Conv2DBackpropFilter', 'wasm')).toBeDefined();
  });

  it("'cpu' starts, and replaces the cpu ResizeNearestNeighborGrad kernel", async () => {
    const info = await initBackend('cpu');
    expect(info).toEqual({ name: 'cpu', requested: 'cpu', isNode: true, skipped: [] });
    expect(tf.getBackend()).toBe('cpu');
    expect(await matMulWorks()).toEqual([19, 22, 43, 50]);
    const kernel = tf.getKernel('ResizeNearestNeighborGrad', 'cpu') as unknown as Record<
      symbol,
      unknown
    >;
    expect(kernel[Symbol.for('sculpt.cpuKernel')]).toBe(true);
  });

  it("'webgpu' runs in Node on Dawn (software GL)", async (ctx) => {
    if (skipWebGpu) ctx.skip('SCULPT_SKIP_WEBGPU=1');
    const info = await initBackend('webgpu');
    expect(info).toMatchObject({ name: 'webgpu', requested: 'webgpu', isNode: true, skipped: [] });
    expect(info.adapter).toMatch(/\S/);
    expect(tf.getBackend()).toBe('webgpu');
    expect(await matMulWorks()).toEqual([19, 22, 43, 50]);
    await initBackend('cpu');
    expect((await initBackend('webgpu')).adapter).toBe(info.adapter); // already started: described again
  });

  it('switches back and forth without losing tensors, reusing started backends', async () => {
    await initBackend('wasm');
    const wasmBackend = tf.findBackend('wasm');
    const x = tf.tensor1d([1, 2, 3]);
    await initBackend('cpu');
    expect(Array.from(await x.data())).toEqual([1, 2, 3]);
    await initBackend('wasm');
    expect(tf.findBackend('wasm')).toBe(wasmBackend);
    const y = tf.mul(x, 2);
    expect(Array.from(await y.data())).toEqual([2, 4, 6]);
    tf.dispose([x, y]);
  });

  it('rejects an unknown name with a BackendError listing the choices', async () => {
    const err = await errorOf(initBackend('tpu' as 'cpu'));
    expect(err).toBeInstanceOf(BackendError);
    expect(err.message).toBe(
      `initBackend: preference must be 'auto' or one of 'webgpu', 'webgl', 'wasm', 'cpu', 'tensorflow', got "tpu".`,
    );
  });

  it('names the package to install when a requested backend is not installed', async () => {
    const before = tf.getBackend();
    const err = await errorOf(initBackend('tensorflow'));
    expect(err).toBeInstanceOf(BackendError);
    expect(err.message).toMatch(
      /^initBackend: backend 'tensorflow' needs the package @tensorflow\/tfjs-node or @tensorflow\/tfjs-node-gpu, got: /,
    );
    expect(err.message).toContain('Fix: npm install @tensorflow/tfjs-node@4.22.0');
    expect(tf.getBackend()).toBe(before); // a failed request leaves the active backend alone
  });

  it('says webgl needs a browser when asked for in Node', async () => {
    const err = await errorOf(initBackend('webgl'));
    expect(err).toBeInstanceOf(BackendError);
    expect(err.message).toBe(
      "initBackend: backend 'webgl' needs a browser (a WebGL2 context), got Node. Fix: webgl needs a browser; in Node use 'wasm' or 'webgpu'.",
    );
  });

  it('takes the backend modules the app imported (bundled apps) and reads the wasm one', async () => {
    const wasm = await import('@tensorflow/tfjs-backend-wasm');
    const info = await initBackend('wasm', { backends: { wasm } });
    expect(info).toMatchObject({ name: 'wasm', threads: wasm.getThreadsCount() });
    expect(await matMulWorks()).toEqual([19, 22, 43, 50]);
  });

  it('says when a passed module did not register its backend', async () => {
    const err = await errorOf(initBackend('tensorflow', { backends: { tensorflow: {} } }));
    expect(err).toBeInstanceOf(BackendError);
    expect(err.message).toContain(
      "got a module that did not register 'tensorflow' (is it a different copy of @tensorflow/tfjs-core?)",
    );
  });

  it('reports a failing loader', async () => {
    const err = await errorOf(
      initBackend('tensorflow', {
        loaders: { tensorflow: () => Promise.reject(new Error('no native build')) },
      }),
    );
    expect(err).toBeInstanceOf(BackendError);
    expect(err.message).toContain('got: loader: no native build');
  });
});
