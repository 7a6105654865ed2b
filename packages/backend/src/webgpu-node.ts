// WebGPU in Node through Dawn (the `webgpu` npm package), opt-in.
//
// What works on a GPU-less Linux machine (measured with Mesa's llvmpipe): Dawn's OpenGL ES
// backend on Mesa's llvmpipe, reached through a surfaceless EGL display, with
// the adapter requested at `featureLevel: 'compatibility'` (GL cannot offer
// core WebGPU). Dawn's Vulkan path on lavapipe is rejected. tfjs's own
// factory neither passes `featureLevel` nor lets us see why it failed, so the
// backend instance is built here and handed to `initBackend`.

import { BackendError } from '@sculpt/core';
import type * as tf from '@tensorflow/tfjs-core';
import { importOptional, messageOf } from './load.js';

/**
 * The Debian/Ubuntu packages WebGPU in Node needs: Dawn's OpenGL ES backend
 * runs on Mesa's EGL + llvmpipe (`libegl-dev` provides the unversioned
 * `libEGL.so` Dawn opens).
 *
 * @example
 * ```ts
 * console.log(`apt-get install -y ${NODE_WEBGPU_APT_PACKAGES.join(' ')}`);
 * ```
 */
export const NODE_WEBGPU_APT_PACKAGES = [
  'libegl1',
  'libegl-mesa0',
  'libgl1-mesa-dri',
  'libegl-dev',
] as const;

/** Options for WebGPU in Node. */
export interface NodeWebGpuOptions {
  /** Flags for Dawn's `create()`. Default: `['backend=opengles']`. */
  dawnFlags?: readonly string[];
  /** Passed to `requestAdapter`. Default: `'high-performance'`. */
  powerPreference?: 'low-power' | 'high-performance';
}

// Minimal structural views of the WebGPU objects we touch (the full types live
// in @webgpu/types, which core does not depend on).
interface AdapterLike {
  features: { has(name: string): boolean };
  limits: Record<string, number>;
  info?: { vendor?: string; architecture?: string; device?: string; description?: string };
  requestDevice(descriptor: {
    requiredFeatures: string[];
    requiredLimits: Record<string, number>;
  }): Promise<unknown>;
}
interface GpuLike {
  requestAdapter(options?: Record<string, unknown>): Promise<AdapterLike | null>;
}
interface DawnModule {
  create(flags: string[]): GpuLike;
  globals: Record<string, unknown>;
}
interface WebGpuBackendModule {
  WebGPUBackend: new (device: unknown, adapterInfo?: unknown) => tf.KernelBackend;
}

/** The result of {@link createNodeWebGpuBackend}: the backend and a one-line adapter description. */
export interface NodeWebGpuBackend {
  backend: tf.KernelBackend;
  adapter: string;
}

/** Where the adapter description is kept on a backend instance sculpt built. */
export const ADAPTER_KEY = Symbol.for('sculpt.webgpuAdapter');

const INSTALL_FIX = `npm install webgpu@0.6.2 @tensorflow/tfjs-backend-webgpu, and on Debian/Ubuntu apt-get install ${NODE_WEBGPU_APT_PACKAGES.join(' ')}`;

/**
 * Makes `navigator.gpu` and the WebGPU globals (`GPUBufferUsage`, …) exist in
 * Node, backed by Dawn's GL backend; idempotent. Must run before
 * `@tensorflow/tfjs-backend-webgpu` is imported for that package to register
 * itself. Sets `EGL_PLATFORM=surfaceless` unless already set.
 */
async function installDawn(options: NodeWebGpuOptions): Promise<GpuLike> {
  const g = globalThis as { navigator?: { gpu?: GpuLike } };
  if (g.navigator?.gpu) return g.navigator.gpu;
  // EGL reads this when Dawn opens its display; headless machines have no X/Wayland.
  process.env.EGL_PLATFORM ??= 'surfaceless';
  let dawn: DawnModule;
  try {
    dawn = (await importOptional('webgpu')) as DawnModule;
  } catch (err) {
    throw new BackendError(
      'initBackend',
      "WebGPU in Node needs the 'webgpu' package (Dawn)",
      `got: ${messageOf(err)}`,
      INSTALL_FIX,
    );
  }
  for (const [key, value] of Object.entries(dawn.globals)) {
    if (!(key in globalThis))
      Object.defineProperty(globalThis, key, { value, configurable: true, writable: true });
  }
  const gpu = dawn.create([...(options.dawnFlags ?? ['backend=opengles'])]);
  // tfjs calls requestAdapter({ powerPreference }) only; GL adapters exist only at compatibility level.
  const request = gpu.requestAdapter.bind(gpu);
  gpu.requestAdapter = (opts = {}) => request({ featureLevel: 'compatibility', ...opts });
  if (g.navigator) {
    Object.defineProperty(g.navigator, 'gpu', { value: gpu, configurable: true });
  } else {
    Object.defineProperty(globalThis, 'navigator', {
      value: { gpu },
      configurable: true,
      writable: true,
    });
  }
  return gpu;
}

/**
 * Builds tfjs's WebGPU backend in Node on Dawn (software GL on machines
 * without a GPU). Called by `initBackend('webgpu')` in Node; exported for tests.
 *
 * @param options - Dawn flags and power preference (defaults above).
 * @returns the backend instance (owned by the tfjs engine once registered) and an adapter description.
 * @throws BackendError naming the package or Debian libraries to install.
 * @example
 * ```ts
 * const { backend, adapter } = await createNodeWebGpuBackend();
 * ```
 */
export async function createNodeWebGpuBackend(
  options: NodeWebGpuOptions = {},
): Promise<NodeWebGpuBackend> {
  const gpu = await installDawn(options);
  let mod: WebGpuBackendModule;
  try {
    mod = (await importOptional('@tensorflow/tfjs-backend-webgpu')) as WebGpuBackendModule;
  } catch (err) {
    throw new BackendError(
      'initBackend',
      "backend 'webgpu' needs '@tensorflow/tfjs-backend-webgpu'",
      `got: ${messageOf(err)}`,
      INSTALL_FIX,
    );
  }
  const adapter = await gpu.requestAdapter({
    powerPreference: options.powerPreference ?? 'high-performance',
  });
  if (!adapter) {
    throw new BackendError(
      'initBackend',
      "WebGPU in Node: Dawn found no adapter for 'backend=opengles'",
      'got null from requestAdapter',
      `install Mesa's EGL and GL drivers (apt-get install ${NODE_WEBGPU_APT_PACKAGES.join(' ')}) or set SCULPT_SKIP_WEBGPU=1 in tests`,
    );
  }
  // Same device request as tfjs's own factory (tfjs-backend-webgpu 4.22 base.ts).
  const requiredFeatures = adapter.features.has('timestamp-query') ? ['timestamp-query'] : [];
  const limits = adapter.limits;
  const requiredLimits: Record<string, number> = {};
  for (const key of [
    'maxComputeWorkgroupStorageSize',
    'maxComputeWorkgroupsPerDimension',
    'maxStorageBufferBindingSize',
    'maxBufferSize',
    'maxComputeWorkgroupSizeX',
    'maxComputeInvocationsPerWorkgroup',
  ]) {
    requiredLimits[key] = limits[key];
  }
  let device: unknown;
  try {
    device = await adapter.requestDevice({ requiredFeatures, requiredLimits });
  } catch (err) {
    throw new BackendError(
      'initBackend',
      'WebGPU in Node: requestDevice failed',
      `got: ${messageOf(err)}`,
      INSTALL_FIX,
    );
  }
  const info = adapter.info ?? {};
  const adapterName =
    [info.vendor, info.architecture, info.device, info.description].filter((s) => s).join(' ') ||
    'Dawn (opengles)';
  const backend = new mod.WebGPUBackend(device, adapter.info);
  // Kept on the instance so a later initBackend('webgpu') can still describe it.
  Object.defineProperty(backend, ADAPTER_KEY, { value: adapterName });
  return { backend, adapter: adapterName };
}
