// Marks on the kernel configs that sculpt's wasm registrations own, so that a
// second registration is a no-op and other packages can claim a kernel slot.
import * as tf from '@tensorflow/tfjs-core';
import type { KernelFn } from './wasm-layout.js';

// Symbol.for, not Symbol(): the ESM and CJS builds of this package (and two
// installed copies of it) must agree on the marks.
/** On configs registered by `registerWasmKernels`. */
export const WASM_KERNEL_MARK = Symbol.for('sculpt.wasmKernel');
/** On configs registered by `registerWasmBatchMatMul`. */
export const WASM_BATCH_MATMUL_MARK = Symbol.for('sculpt.wasmBatchMatMul');

/**
 * Marks a kernel config as one that sculpt's wasm registrations
 * (`registerWasmKernels`, `registerWasmBatchMatMul`, hence `initBackend('wasm')`)
 * must leave in place: a package that registers its own kernels for `'wasm'`
 * (e.g. `@sculpt/native`) calls it so a later `initBackend` does not wrap or
 * replace them.
 *
 * @param config - the config about to be registered; marked in place.
 * @returns the same config.
 * @example
 * ```ts
 * tf.registerKernel(claimWasmKernel({ kernelName: 'BatchMatMul', backendName: 'wasm', kernelFunc }));
 * ```
 */
export function claimWasmKernel<T extends tf.KernelConfig>(config: T): T {
  const marked = config as unknown as Record<symbol, boolean>;
  marked[WASM_KERNEL_MARK] = true;
  marked[WASM_BATCH_MATMUL_MARK] = true;
  return config;
}

/** Whether `config` carries `mark`. */
export function hasMark(config: tf.KernelConfig | undefined, mark: symbol): boolean {
  return config !== undefined && (config as unknown as Record<symbol, unknown>)[mark] === true;
}

/**
 * Replaces the wasm backend's `kernelName` with `wrap(original)`, keeping its
 * setup and dispose functions, once: a config already carrying `mark` is left
 * in place (so registration is idempotent). A no-op when the kernel is absent.
 *
 * @example
 * ```ts
 * wrapWasmKernel('Tanh', Symbol.for('my.mark'), (original) => (params) => original(params));
 * ```
 */
export function wrapWasmKernel(
  kernelName: string,
  mark: symbol,
  wrap: (original: KernelFn) => tf.KernelFunc,
): void {
  const config = tf.getKernel(kernelName, 'wasm');
  if (config === undefined || hasMark(config, mark)) return;
  tf.unregisterKernel(kernelName, 'wasm');
  tf.registerKernel({
    kernelName,
    backendName: 'wasm',
    kernelFunc: wrap(config.kernelFunc as KernelFn),
    setupFunc: config.setupFunc,
    disposeFunc: config.disposeFunc,
    [mark]: true,
  } as tf.KernelConfig);
}
