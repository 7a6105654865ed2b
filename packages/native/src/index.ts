/**
 * @sculpt/native — native CPU kernels for Node under tfjs's wasm backend:
 * matMul and convolutions through OpenBLAS, elementwise ops, on every core.
 *
 * tfjs's wasm backend keeps every tensor in WebAssembly memory and runs its
 * kernels on one core with 128-bit SIMD. This package registers kernels for
 * that backend that work in place in the same memory through a Node addon:
 * matMuls and 2D convolutions with their gradients go to OpenBLAS's sgemm,
 * large elementwise ops, reductions and copies to the addon's own loops, all
 * split over every core. Everything else stays on wasm, so models,
 * checkpoints and numbers are the same (to float rounding); training steps
 * get several times faster ({@link NATIVE_KERNEL_NAMES} lists the kernels).
 *
 * ```ts
 * import { initBackend } from '@sculpt/backend';
 * import { registerNativeKernels } from '@sculpt/native';
 *
 * await initBackend('wasm');
 * const info = registerNativeKernels(); // { threads: 2, core: 'Haswell', … }
 * ```
 * @packageDocumentation
 */
import { claimWasmKernel } from '@sculpt/backend';
import { SculptError } from '@sculpt/core';
import * as tf from '@tensorflow/tfjs-core';
import { ADDON_PATH, loadAddon, type NativeAddon } from './addon.js';
import { makeArgReduce } from './arg-reduce.js';
import { makeCachedAttention, makeGptBlockDecode } from './attention.js';
import { makeBiasActivationGrad, makeFusedConv2D } from './bias-activation.js';
import { makeAdamUpdate, makeGelu, makeLayerNorm } from './fused.js';
import { makeGroupNorm, makeGroupNormGrad } from './group-norm.js';
import {
  BACKEND,
  makeBinary,
  makeConcat,
  makeConv2D,
  makeConv2DBackpropFilter,
  makeConv2DBackpropInput,
  makeGatherV2,
  makeMatMul,
  makeReduce,
  makeSplitV,
  makeUnary,
  makeUnpack,
} from './kernels.js';
import { makeGreater, makeSelect } from './masks.js';
import { makeResizeBilinear, makeResizeBilinearGrad } from './resize.js';
import {
  makeDemodulate,
  makeDemodulateGrad,
  makeModulateGrad,
  makeStyleEpilogue,
  makeStyleEpilogueGrad,
} from './style.js';
import { makeResizeNearestNeighbor, makeResizeNearestNeighborGrad } from './upsample.js';

/** The kernels {@link registerNativeKernels} registers for backend `'wasm'`: tfjs's, replaced, and sculpt's fused ones, added. */
export const NATIVE_KERNEL_NAMES = [
  'BatchMatMul',
  '_FusedMatMul',
  'Conv2D',
  'FusedConv2D',
  'Conv2DBackpropInput',
  'Conv2DBackpropFilter',
  'Add',
  'Sub',
  'Multiply',
  'RealDiv',
  'Sqrt',
  'Rsqrt',
  'Square',
  'Neg',
  'Abs',
  'Relu',
  'LeakyRelu',
  'Sigmoid',
  'Tanh',
  'Softplus',
  'Exp',
  'Sum',
  'Mean',
  'SplitV',
  'Concat',
  'Unpack',
  'GatherV2',
  'Greater',
  'Select',
  'ResizeBilinear',
  'ResizeBilinearGrad',
  'SculptLayerNorm',
  'SculptGelu',
  'SculptAdamUpdate',
  'SculptCachedAttention',
  'SculptGptBlockDecode',
  'SculptGroupNorm',
  'SculptGroupNormGrad',
  'SculptBiasActivationGrad',
  'ResizeNearestNeighbor',
  'ResizeNearestNeighborGrad',
  'ArgMin',
  'ArgMax',
  'SculptStyleEpilogue',
  'SculptStyleEpilogueGrad',
  'SculptModulateGrad',
  'SculptDemodulate',
  'SculptDemodulateGrad',
] as const;

/** What {@link registerNativeKernels} set up. */
export interface NativeInfo {
  /** Threads the addon splits work over (OpenBLAS itself runs single-threaded inside each). */
  threads: number;
  /** The OpenBLAS kernel family in use, e.g. `'SkylakeX'` (AVX-512) or `'Haswell'` (AVX2). */
  core: string;
  /** OpenBLAS's build description. */
  config: string;
  /** The tfjs kernel names now served natively on `'wasm'`. */
  kernels: string[];
  /** Whether the process's allocator now keeps freed memory (see {@link RegisterNativeKernelsOptions.keepFreedMemory}). */
  keepsFreedMemory: boolean;
  /** Whether products run on sculpt's AVX-512 sgemm (see {@link RegisterNativeKernelsOptions.avx512}). */
  avx512Gemm: boolean;
}

/** Options of {@link registerNativeKernels}. */
export interface RegisterNativeKernelsOptions {
  /** Threads to split matMuls, convolutions and elementwise work over. Default: every core. */
  threads?: number;
  /**
   * Sets the process's allocator (glibc) to keep freed memory for reuse
   * instead of returning every block over 128 KiB to the kernel, so a tensor
   * read (`data()`, `dataSync()`) or a scratch buffer does not start on fresh
   * pages that fault one by one. Measured here (`pnpm --filter @sculpt/bench
   * start --modes=native --only=matMul512` with and without
   * `--malloc-default`, 3 alternating runs): the matMul 512 workload, which
   * reads each product, 6.1–6.4 → 4.2–4.8 ms; generation +2–12% tokens/s;
   * training steps (one loss read each) within the runs' noise; peak RSS
   * ~20 MB higher (up to 256 MiB freed at the top of the heap stays with the process).
   * Process-wide and not undone by {@link unregisterNativeKernels}. A no-op
   * off glibc. Default `true`.
   */
  keepFreedMemory?: boolean;
  /**
   * Runs matrix products (matMuls, and the products inside convolutions)
   * with B up to 4,096 columns on sculpt's own AVX-512 sgemm where the CPU has
   * AVX-512F, instead of OpenBLAS. OpenBLAS uses the kernels that the
   * environment selects (`OPENBLAS_CORETYPE`; a machine pinned to `Haswell`
   * gets AVX2 ones at about half the speed). Measured here on one thread
   * (`process.cpuUsage`, median of 15): 512×512×512 2.9 → 1.4 ms (~90 → ~190
   * GFLOP/s); a 3×3 convolution of [128, 14, 14, 32] to 32 channels 6.3 → 3.4 ms.
   * Products it does not take (no AVX-512F, wider B, a tiny M with B
   * transposed) stay on OpenBLAS. Process-wide. Default `true`.
   */
  avx512?: boolean;
}

/** Holds, on a native config, the config it replaced. */
const REPLACED = Symbol.for('sculpt.nativeReplaced');

type Marked = tf.KernelConfig & { [REPLACED]?: tf.KernelConfig | null };

/**
 * Whether the native addon is built and loads here.
 *
 * @returns `{ available: true }`, or `{ available: false, reason }` saying why not.
 * @example
 * ```ts
 * const status = nativeStatus();
 * if (status.available) registerNativeKernels();
 * else console.warn(status.reason);
 * ```
 */
export function nativeStatus(): { available: true } | { available: false; reason: string } {
  const loaded = loadAddon();
  return 'addon' in loaded ? { available: true } : { available: false, reason: loaded.error };
}

function addonOrThrow(where: string): NativeAddon {
  const loaded = loadAddon();
  if ('addon' in loaded) return loaded.addon;
  throw new SculptError(
    where,
    'expected the compiled native addon',
    loaded.error,
    'install g++, make, python3 and OpenBLAS headers (Debian/Ubuntu: `apt-get install g++ make python3 libopenblas-dev`), then run `node scripts/build-native.mjs` in @sculpt/native; or stay on wasm without registerNativeKernels()',
  );
}

function isNative(config: tf.KernelConfig | undefined): config is Marked {
  return config !== undefined && REPLACED in config;
}

/**
 * Registers native kernels for backend `'wasm'`: `BatchMatMul`, `_FusedMatMul`,
 * `Conv2D`, `FusedConv2D`, `Conv2DBackpropInput`, `Conv2DBackpropFilter` run
 * through OpenBLAS on every core, and `Add`, `Sub`, `Multiply`, `RealDiv`
 * (with broadcasting), `Sqrt`, `Rsqrt`, `Square`, `Neg`, `Abs`, `Relu`,
 * `LeakyRelu`, `Exp`, `Sigmoid`, `Tanh`, `Softplus`,
 * `Sum`, `Mean`, `SplitV`, `Concat`, `Unpack`, `GatherV2`, `Greater`, `Select`,
 * `ResizeBilinear`, `ResizeBilinearGrad`, `ResizeNearestNeighbor` and
 * `ResizeNearestNeighborGrad`, `ArgMin` and `ArgMax` (last axis) on the addon's threads, in place
 * in the wasm memory; and adds sculpt's fused `SculptLayerNorm`, `SculptGelu`,
 * `SculptAdamUpdate`, `SculptCachedAttention`, `SculptGptBlockDecode` and
 * `SculptBiasActivationGrad` (`FUSED_KERNELS`
 * of @sculpt/core), which model code uses when they are registered. Cases they do
 * not cover (non-float32, NCHW, empty tensors) go to the kernels registered
 * before, so call it after `initBackend('wasm')` to keep sculpt's wasm kernels
 * as that fallback. Idempotent; {@link unregisterNativeKernels} undoes it.
 *
 * @param options - `threads`: sgemm threads (default: every core).
 * @returns the threads, the OpenBLAS kernel family and the kernels registered.
 * @throws SculptError when the addon is not built or `@tensorflow/tfjs-backend-wasm` is not loaded.
 * @example
 * ```ts
 * await initBackend('wasm');
 * registerNativeKernels({ threads: 2 });
 * ```
 */
export function registerNativeKernels(options: RegisterNativeKernelsOptions = {}): NativeInfo {
  const where = 'registerNativeKernels';
  const addon = addonOrThrow(where);
  if (tf.getKernel('BatchMatMul', BACKEND) === undefined) {
    throw new SculptError(
      where,
      "expected tfjs's wasm backend to be loaded",
      "got no 'wasm' kernels in tfjs's registry",
      "call `await initBackend('wasm')` from @sculpt/backend (or import '@tensorflow/tfjs-backend-wasm') first",
    );
  }
  if (options.threads !== undefined) {
    if (!Number.isInteger(options.threads) || options.threads < 1) {
      throw new SculptError(
        where,
        'expected threads to be a positive integer',
        `got ${String(options.threads)}`,
        'pass e.g. { threads: 2 }, or leave it out to use every core',
      );
    }
    addon.setThreads(options.threads);
  }
  const keepsFreedMemory = options.keepFreedMemory !== false && addon.keepFreedMemory();
  addon.avx512Gemm(options.avx512 !== false);
  const makers: Record<
    (typeof NATIVE_KERNEL_NAMES)[number],
    (fallback: tf.KernelFunc | undefined) => tf.KernelFunc
  > = {
    BatchMatMul: (f) => makeMatMul(addon, required(f, 'BatchMatMul'), false),
    _FusedMatMul: (f) => makeMatMul(addon, required(f, '_FusedMatMul'), true),
    Conv2D: (f) => makeConv2D(addon, required(f, 'Conv2D'), false),
    FusedConv2D: (f) => makeFusedConv2D(addon, makeConv2D(addon, required(f, 'FusedConv2D'), true)),
    Conv2DBackpropInput: (f) => makeConv2DBackpropInput(addon, required(f, 'Conv2DBackpropInput')),
    Conv2DBackpropFilter: (f) => makeConv2DBackpropFilter(addon, f),
    Add: (f) => makeBinary(addon, required(f, 'Add'), 'Add'),
    Sub: (f) => makeBinary(addon, required(f, 'Sub'), 'Sub'),
    Multiply: (f) => makeBinary(addon, required(f, 'Multiply'), 'Multiply'),
    RealDiv: (f) => makeBinary(addon, required(f, 'RealDiv'), 'RealDiv'),
    Sqrt: (f) => makeUnary(addon, required(f, 'Sqrt'), 'Sqrt'),
    Rsqrt: (f) => makeUnary(addon, required(f, 'Rsqrt'), 'Rsqrt'),
    Square: (f) => makeUnary(addon, required(f, 'Square'), 'Square'),
    Neg: (f) => makeUnary(addon, required(f, 'Neg'), 'Neg'),
    Abs: (f) => makeUnary(addon, required(f, 'Abs'), 'Abs'),
    Relu: (f) => makeUnary(addon, required(f, 'Relu'), 'Relu'),
    LeakyRelu: (f) => makeUnary(addon, required(f, 'LeakyRelu'), 'LeakyRelu'),
    Sigmoid: (f) => makeUnary(addon, required(f, 'Sigmoid'), 'Sigmoid'),
    Tanh: (f) => makeUnary(addon, required(f, 'Tanh'), 'Tanh'),
    Softplus: (f) => makeUnary(addon, required(f, 'Softplus'), 'Softplus'),
    Exp: (f) => makeUnary(addon, required(f, 'Exp'), 'Exp'),
    Sum: (f) => makeReduce(addon, required(f, 'Sum'), false),
    Mean: (f) => makeReduce(addon, required(f, 'Mean'), true),
    SplitV: (f) => makeSplitV(addon, required(f, 'SplitV')),
    Concat: (f) => makeConcat(addon, required(f, 'Concat')),
    Unpack: (f) => makeUnpack(addon, required(f, 'Unpack')),
    GatherV2: (f) => makeGatherV2(addon, required(f, 'GatherV2')),
    Greater: (f) => makeGreater(addon, required(f, 'Greater')),
    Select: (f) => makeSelect(addon, required(f, 'Select')),
    ResizeBilinear: (f) => makeResizeBilinear(addon, required(f, 'ResizeBilinear')),
    ResizeBilinearGrad: (f) => makeResizeBilinearGrad(addon, required(f, 'ResizeBilinearGrad')),
    // New: sculpt's fused kernels (FUSED_KERNELS of @sculpt/core).
    SculptLayerNorm: () => makeLayerNorm(addon),
    SculptGelu: () => makeGelu(addon),
    SculptAdamUpdate: () => makeAdamUpdate(addon),
    SculptCachedAttention: () => makeCachedAttention(addon),
    SculptGptBlockDecode: () => makeGptBlockDecode(addon),
    SculptGroupNorm: () => makeGroupNorm(addon),
    SculptGroupNormGrad: () => makeGroupNormGrad(addon),
    SculptBiasActivationGrad: () => makeBiasActivationGrad(addon),
    ResizeNearestNeighbor: (f) =>
      makeResizeNearestNeighbor(addon, required(f, 'ResizeNearestNeighbor')),
    ResizeNearestNeighborGrad: (f) =>
      makeResizeNearestNeighborGrad(addon, required(f, 'ResizeNearestNeighborGrad')),
    ArgMin: (f) => makeArgReduce(addon, required(f, 'ArgMin'), false),
    ArgMax: (f) => makeArgReduce(addon, required(f, 'ArgMax'), true),
    SculptStyleEpilogue: () => makeStyleEpilogue(addon),
    SculptStyleEpilogueGrad: () => makeStyleEpilogueGrad(addon),
    SculptModulateGrad: () => makeModulateGrad(addon),
    SculptDemodulate: () => makeDemodulate(addon),
    SculptDemodulateGrad: () => makeDemodulateGrad(addon),
  };
  for (const name of NATIVE_KERNEL_NAMES) {
    const previous = tf.getKernel(name, BACKEND);
    if (isNative(previous)) continue;
    const config: Marked = {
      kernelName: name,
      backendName: BACKEND,
      kernelFunc: makers[name](previous?.kernelFunc),
      setupFunc: previous?.setupFunc,
      disposeFunc: previous?.disposeFunc,
      [REPLACED]: previous ?? null,
    };
    if (previous) tf.unregisterKernel(name, BACKEND);
    // Claimed: a later initBackend('wasm') leaves the native kernel in place.
    tf.registerKernel(claimWasmKernel(config));
  }
  return { ...addon.info(), kernels: [...NATIVE_KERNEL_NAMES], keepsFreedMemory };
}

function required(fallback: tf.KernelFunc | undefined, name: string): tf.KernelFunc {
  return (
    fallback ??
    (() => {
      throw new Error(`${name} (native): this case needs the wasm kernel, which is not registered`);
    })
  );
}

/**
 * Puts back the kernels {@link registerNativeKernels} replaced. Idempotent.
 *
 * @example
 * ```ts
 * registerNativeKernels();
 * // … train …
 * unregisterNativeKernels(); // back to wasm alone
 * ```
 */
export function unregisterNativeKernels(): void {
  for (const name of NATIVE_KERNEL_NAMES) {
    const current = tf.getKernel(name, BACKEND);
    if (!isNative(current)) continue;
    tf.unregisterKernel(name, BACKEND);
    const previous = current[REPLACED];
    if (previous) tf.registerKernel(previous);
  }
}

/**
 * Sets the number of threads OpenBLAS runs sgemm on.
 *
 * @param threads - a positive integer.
 * @throws SculptError when the addon is not built.
 */
export function setNativeThreads(threads: number): void {
  const addon = addonOrThrow('setNativeThreads');
  if (!Number.isInteger(threads) || threads < 1) {
    throw new SculptError(
      'setNativeThreads',
      'expected a positive integer',
      `got ${String(threads)}`,
      'pass e.g. 2',
    );
  }
  addon.setThreads(threads);
}

export { ADDON_PATH };
