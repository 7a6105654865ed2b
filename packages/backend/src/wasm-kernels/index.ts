/**
 * Training kernels for tfjs's wasm backend (tfjs-backend-wasm 4.22).
 *
 * As shipped, wasm cannot train a conv net (no `Conv2DBackpropFilter`) or an
 * embedding (no `UnsortedSegmentSum`), runs transposed matMuls (every matMul
 * gradient) and `Conv2DBackpropInput` (every conv gradient and
 * `conv2dTranspose`) an order of magnitude slower than their forward
 * counterparts, returns int32 bit patterns for float one-hots and drops the
 * max-pool gradient of windows whose maximum is negative. The kernels
 * here are built from the fast forward kernels (XNNPACK convolutions and
 * matMuls) and are registered for backend `'wasm'` only.
 */
import * as tf from '@tensorflow/tfjs-core';
import { hasMark, WASM_KERNEL_MARK } from '../kernel-marks.js';
import { conv2dBackpropFilter } from './conv2d-backprop-filter.js';
import { makeConv2dBackpropInput } from './conv2d-backprop-input.js';
import { depthwiseBackpropFilter, depthwiseBackpropInput } from './depthwise-backprop.js';
import { makeTransposeFirstMatMul } from './matmul.js';
import { makeMaxPoolGrad } from './max-pool-grad.js';
import { makeOneHot } from './one-hot.js';
import { unsortedSegmentSum } from './unsorted-segment-sum.js';

const BACKEND = 'wasm';

interface SculptKernelConfig extends tf.KernelConfig {
  [WASM_KERNEL_MARK]: true;
}

function isSculptKernel(config: tf.KernelConfig | undefined): boolean {
  return hasMark(config, WASM_KERNEL_MARK);
}

/** Registers a kernel the wasm backend lacks, unless some kernel is already there. */
function fillMissing(
  kernelName: string,
  kernelFunc: tf.KernelFunc,
  only: ReadonlySet<string> | undefined,
): void {
  if (only && !only.has(kernelName)) return;
  if (tf.getKernel(kernelName, BACKEND) !== undefined) return;
  const config: SculptKernelConfig = {
    kernelName,
    backendName: BACKEND,
    kernelFunc,
    [WASM_KERNEL_MARK]: true,
  };
  tf.registerKernel(config);
}

/**
 * Replaces a shipped wasm kernel with `wrap(original)`. The shipped config's
 * `setupFunc`/`disposeFunc` are kept: they bind the wasm exports the original
 * kernel function calls. Skipped when the wasm backend package is not loaded
 * (nothing to wrap) or the kernel is already sculpt's.
 */
function replace(
  kernelName: string,
  wrap: (original: tf.KernelFunc) => tf.KernelFunc,
  only: ReadonlySet<string> | undefined,
): void {
  if (only && !only.has(kernelName)) return;
  const original = tf.getKernel(kernelName, BACKEND);
  if (original === undefined || isSculptKernel(original)) return;
  const config: SculptKernelConfig = {
    kernelName,
    backendName: BACKEND,
    kernelFunc: wrap(original.kernelFunc),
    setupFunc: original.setupFunc,
    disposeFunc: original.disposeFunc,
    [WASM_KERNEL_MARK]: true,
  };
  tf.unregisterKernel(kernelName, BACKEND);
  tf.registerKernel(config);
}

/** The kernels {@link registerWasmKernels} fills in or replaces, by tfjs kernel name. */
export const WASM_KERNEL_NAMES = [
  'Conv2DBackpropFilter',
  'Conv2DBackpropInput',
  'UnsortedSegmentSum',
  'BatchMatMul',
  '_FusedMatMul',
  'OneHot',
  'MaxPoolGrad',
  'DepthwiseConv2dNativeBackpropInput',
  'DepthwiseConv2dNativeBackpropFilter',
] as const;

/** Options of {@link registerWasmKernelsSubset}. */
export interface RegisterWasmKernelsOptions {
  /** Register only these kernels. Default: all of {@link WASM_KERNEL_NAMES}. */
  only?: readonly (typeof WASM_KERNEL_NAMES)[number][];
}

/**
 * Like {@link registerWasmKernels}, restricted to some kernels (benchmarks use
 * it to measure one kernel's effect). Idempotent.
 *
 * @param options - `only`: the kernel names to register (default all).
 * @example
 * ```ts
 * registerWasmKernelsSubset({ only: ['Conv2DBackpropFilter', 'UnsortedSegmentSum'] }); // fill gaps, keep shipped speed
 * ```
 */
export function registerWasmKernelsSubset(options: RegisterWasmKernelsOptions = {}): void {
  const only = options.only ? new Set<string>(options.only) : undefined;
  fillMissing('Conv2DBackpropFilter', conv2dBackpropFilter, only);
  fillMissing('UnsortedSegmentSum', unsortedSegmentSum, only);
  fillMissing('DepthwiseConv2dNativeBackpropInput', depthwiseBackpropInput, only);
  fillMissing('DepthwiseConv2dNativeBackpropFilter', depthwiseBackpropFilter, only);
  replace('Conv2DBackpropInput', makeConv2dBackpropInput, only);
  replace('BatchMatMul', makeTransposeFirstMatMul, only);
  replace('_FusedMatMul', makeTransposeFirstMatMul, only);
  replace('OneHot', makeOneHot, only);
  replace('MaxPoolGrad', makeMaxPoolGrad, only);
}

/**
 * Makes tfjs's wasm backend able to train, and fast at it, by registering
 * kernels for backend `'wasm'`:
 *
 * - fills in the missing `Conv2DBackpropFilter` (conv filter gradients),
 *   `UnsortedSegmentSum` (the gradient of `tf.gather` / embeddings) and the
 *   depthwise-conv backprops (`tf.depthwiseConv2d`, `tf.separableConv2d`);
 * - replaces `Conv2DBackpropInput` (conv input gradients and the forward pass
 *   of `conv2dTranspose`) with forward convolutions (sub-pixel decomposition);
 * - makes `BatchMatMul` / `_FusedMatMul` transpose explicitly before a plain
 *   product when `transposeA`/`transposeB` is set;
 * - fixes `OneHot` with a non-int32 dtype, and `MaxPoolGrad` for windows
 *   whose maximum is negative (the shipped kernel drops their gradient).
 *
 * Call it after importing `@tensorflow/tfjs-backend-wasm` (the replaced kernels
 * wrap the shipped ones; without the package only the missing ones are
 * registered). Idempotent: kernels already registered by sculpt are left alone,
 * so it is safe to call many times. Other backends are untouched.
 *
 * @returns nothing; the effect is on tfjs's global kernel registry.
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import '@tensorflow/tfjs-backend-wasm';
 * import { registerWasmKernels } from '@sculpt/backend';
 *
 * registerWasmKernels();
 * await tf.setBackend('wasm');
 * // tf.layers conv nets, conv2dTranspose and embeddings now train on wasm.
 * ```
 */
export function registerWasmKernels(): void {
  registerWasmKernelsSubset();
}
