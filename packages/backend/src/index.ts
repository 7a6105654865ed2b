/**
 * @sculpt/backend — backends that can train: `initBackend` picks WebGPU,
 * WebGL, wasm (with sculpt's training kernels and threads) or cpu, and runs
 * WebGPU in Node through Dawn.
 * @packageDocumentation
 */

export type {
  BackendInfo,
  BackendModule,
  BackendName,
  BackendPreference,
  InitBackendOptions,
  SkippedBackend,
} from './init.js';
export { initBackend } from './init.js';
export { claimWasmKernel } from './kernel-marks.js';
export type { RegisterWasmKernelsOptions } from './wasm-kernels/index.js';
export {
  registerWasmKernels,
  registerWasmKernelsSubset,
  WASM_KERNEL_NAMES,
} from './wasm-kernels/index.js';
export { NODE_WEBGPU_APT_PACKAGES } from './webgpu-node.js';
