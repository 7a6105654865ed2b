/**
 * Registers sculpt's training kernels for the wasm backend (idempotent).
 * Placeholder: filled in by the wasm-kernels work.
 */
export function registerWasmKernels(): void {}
