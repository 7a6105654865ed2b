// Choosing and starting a tfjs backend. This is the only place in sculpt that
// calls `tf.setBackend`: libraries work on whatever backend is active; apps
// (and the CLI) choose it here.

import { BackendError } from '@sculpt/core';
import * as tf from '@tensorflow/tfjs-core';
import { registerCpuKernels } from './cpu-kernels.js';
import { registerFastGradients } from './gradients.js';
import { importOptional, isNodeRuntime, messageOf, resolvedDir } from './load.js';
import {
  type BackendModule,
  type BackendName,
  backendModule,
  ensureRegistered,
  installFix,
  PACKAGES,
  wasmStartFix,
} from './modules.js';
import { registerWasmBatchMatMul } from './wasm-batch-matmul.js';
import { registerWasmKernels } from './wasm-kernels/index.js';
import { registerWasmLayoutKernels } from './wasm-layout.js';
import { registerWasmMathKernels } from './wasm-math.js';
import { registerWasmSliceKernels } from './wasm-slice.js';
import { startWasmWithNodeThreads } from './wasm-threads.js';
import { ADAPTER_KEY, createNodeWebGpuBackend } from './webgpu-node.js';

export type { BackendModule, BackendName } from './modules.js';

/** What {@link initBackend} is asked for: a backend, or `'auto'` to take the best that starts. */
export type BackendPreference = 'auto' | BackendName;

/** Options for {@link initBackend}. */
export interface InitBackendOptions {
  /**
   * Where the wasm backend finds its `.wasm` files: a folder prefix or tfjs's
   * file map (as `setWasmPaths` takes). Default: in Node, the `dist/` folder
   * of the installed `@tensorflow/tfjs-backend-wasm`; in browsers, tfjs's
   * default (next to the page), which a bundler does not fill: pass the URLs
   * your bundler gives the files (Vite: `import simd from
   * '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm?url'`).
   * Pass this instead of calling `setWasmPaths` yourself.
   */
  wasmPaths?: string | Record<string, string>;
  /** Flags for Dawn's `create()` when WebGPU runs in Node. Default: `['backend=opengles']`. */
  dawnFlags?: readonly string[];
  /**
   * Backend modules the app imported, for bundled apps: `import * as wasm from
   * '@tensorflow/tfjs-backend-wasm'` then `{ backends: { wasm } }`. A bundler
   * sees these imports and bundles the packages; sculpt cannot import a
   * package by name in a bundled page. Default: none.
   */
  backends?: Partial<Record<BackendName, BackendModule>>;
  /**
   * Loaders for backend packages, for bundled apps that want them split out:
   * `{ webgl: () => import('@tensorflow/tfjs-backend-webgl') }`. Default: none
   * (a backend the app already imported is used; otherwise sculpt imports the
   * package by name, which works in Node).
   */
  loaders?: Partial<Record<BackendName, () => Promise<unknown>>>;
  /**
   * wasm only: XNNPACK threads. A number, or `'auto'` for one per CPU. tfjs
   * caps it at 8 and at the CPU count. In Node, more than 1 starts the
   * threaded SIMD build through real worker files (tfjs alone cannot start it
   * there; see `wasm-threads.ts`); results match the single-threaded build.
   * Fixed once the wasm backend has started. Default: 1 in Node; in browsers,
   * tfjs's choice (threads when the page is cross-origin isolated).
   */
  threads?: number | 'auto';
}

/** Why a backend was passed over by `'auto'`. */
export interface SkippedBackend {
  name: BackendName;
  reason: string;
}

/** What {@link initBackend} started: a plain object owned by the caller. */
export interface BackendInfo {
  /** The active backend (`tf.getBackend()`). */
  name: BackendName;
  /** What was asked for. */
  requested: BackendPreference;
  /** Whether this runs in Node. */
  isNode: boolean;
  /** wasm only: threads XNNPACK uses (see {@link InitBackendOptions.threads}). */
  threads?: number;
  /** wasm only: whether the SIMD build was loaded. */
  simd?: boolean;
  /** webgpu only: the adapter's description (in Node: Dawn on Mesa, e.g. llvmpipe). */
  adapter?: string;
  /** Backends `'auto'` tried first that failed, in order, with the reason. Empty otherwise. */
  skipped: SkippedBackend[];
}

const BACKEND_NAMES: readonly BackendName[] = ['webgpu', 'webgl', 'wasm', 'cpu', 'tensorflow'];

/** tfjs's own registration priorities, used when sculpt re-registers a started instance. */
const PRIORITY: Record<BackendName, number> = {
  tensorflow: 3,
  webgpu: 3,
  webgl: 2,
  wasm: 2,
  cpu: 1,
};

/** `'auto'` order: browsers take the GPU first; Node takes native TensorFlow, else wasm (fastest here). */
function autoOrder(isNode: boolean): BackendName[] {
  return isNode ? ['tensorflow', 'wasm', 'cpu'] : ['webgpu', 'webgl', 'wasm', 'cpu'];
}

/** The thread count `options.threads` asks for; `undefined` leaves tfjs's default. */
async function wantedThreads(
  options: InitBackendOptions,
  isNode: boolean,
): Promise<number | undefined> {
  const { threads } = options;
  if (threads === undefined) return isNode ? 1 : undefined;
  if (threads === 'auto') {
    if (!isNode)
      return (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator
        ?.hardwareConcurrency;
    const os = (await importOptional('node:os')) as typeof import('node:os');
    return Math.max(1, os.availableParallelism?.() ?? os.cpus().length);
  }
  return threads;
}

/** Throws unless `threads` is absent, `'auto'` or a positive integer. */
function checkThreads(threads: InitBackendOptions['threads']): void {
  if (threads === undefined || threads === 'auto') return;
  if (!Number.isInteger(threads) || threads < 1) {
    throw new BackendError(
      'initBackend',
      "threads must be a positive integer or 'auto'",
      `got ${JSON.stringify(threads)}`,
      "pass e.g. threads: 2, or 'auto' for one per CPU",
    );
  }
}

/**
 * In Node, load the SIMD build from the installed package. Plain Node finds it
 * without help (the package's CJS build looks next to itself) but bundled code
 * does not, so the path is set explicitly. tfjs pins threads off in Node (its
 * workers are blob URLs: ERR_WORKER_PATH); with `threads` > 1 sculpt starts
 * the threaded build itself ({@link startWasmWithNodeThreads}).
 */
async function configureWasm(options: InitBackendOptions, isNode: boolean): Promise<void> {
  // A bundled page cannot import the bare name at run time: the app gives the module.
  const mod = (await backendModule('wasm', options)) as
    | {
        setWasmPaths?: (paths: string | Record<string, string>) => void;
        setThreadsCount?: (n: number) => void;
      }
    | undefined;
  const threads = await wantedThreads(options, isNode);
  if (isNode && mod) tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
  if (threads !== undefined) mod?.setThreadsCount?.(threads);
  if (!mod?.setWasmPaths) {
    if (options.wasmPaths === undefined) return;
    throw new BackendError(
      'initBackend',
      "wasmPaths to reach @tensorflow/tfjs-backend-wasm's setWasmPaths",
      'got no module to call it on (a bundled page cannot import the package by name)',
      "import * as wasm from '@tensorflow/tfjs-backend-wasm' and pass { backends: { wasm }, wasmPaths }",
    );
  }
  const paths =
    options.wasmPaths ?? (isNode ? await resolvedDir('@tensorflow/tfjs-backend-wasm') : undefined);
  try {
    if (paths !== undefined) mod.setWasmPaths(paths);
  } catch (err) {
    throw new BackendError(
      'initBackend',
      "backend 'wasm' could not be configured",
      `got: ${messageOf(err)}`,
      'call initBackend before anything else starts the wasm backend',
    );
  }
}

/**
 * Builds the backend instance ourselves (instead of letting `tf.setBackend`
 * call the factory) so a failure surfaces as a BackendError with its cause,
 * and tfjs does not print a warning.
 */
async function startInstance(
  name: BackendName,
  options: InitBackendOptions,
  isNode: boolean,
): Promise<{ backend: tf.KernelBackend; adapter?: string }> {
  if (name === 'webgpu' && isNode) return createNodeWebGpuBackend({ dawnFlags: options.dawnFlags });
  if (name === 'webgl' && isNode) {
    throw new BackendError(
      'initBackend',
      "backend 'webgl' needs a browser (a WebGL2 context)",
      'got Node',
      installFix('webgl'),
    );
  }
  if (name === 'webgpu' && !(globalThis as { navigator?: { gpu?: unknown } }).navigator?.gpu) {
    throw new BackendError(
      'initBackend',
      "backend 'webgpu' needs navigator.gpu",
      'got a browser without WebGPU',
      installFix('webgpu'),
    );
  }
  await ensureRegistered(name, options);
  if (name === 'wasm') await configureWasm(options, isNode);
  const factory = tf.findBackendFactory(name);
  const threads = name === 'wasm' && isNode ? await wantedThreads(options, isNode) : undefined;
  if (threads !== undefined && threads > 1) {
    return { backend: await startWasmWithNodeThreads(threads, () => factory()) };
  }
  try {
    const backend = await factory();
    // tfjs's cpu backend prints an "install tfjs-node" banner on its first
    // write in Node; sculpt never prints, and 'auto' already tried tfjs-node.
    if (name === 'cpu' && 'firstUse' in backend)
      (backend as { firstUse: boolean }).firstUse = false;
    return { backend };
  } catch (err) {
    const fix =
      name === 'webgpu'
        ? installFix(name)
        : name === 'wasm' && !isNode
          ? wasmStartFix(options.wasmPaths)
          : `check that ${PACKAGES[name][0]} matches @tensorflow/tfjs-core 4.22, or choose another backend`;
    throw new BackendError(
      'initBackend',
      `backend '${name}' failed to start`,
      `got: ${messageOf(err)}`,
      fix,
    );
  }
}

/** Starts `name` (if not yet started) and makes it the active backend. */
async function activate(
  name: BackendName,
  options: InitBackendOptions,
  isNode: boolean,
): Promise<{ adapter?: string }> {
  let adapter: string | undefined;
  // Not tf.findBackend: it starts the backend through tfjs's factory as a side effect.
  if (!(name in tf.engine().registry)) {
    const started = await startInstance(name, options, isNode);
    adapter = started.adapter;
    if (tf.findBackendFactory(name) != null) tf.removeBackend(name);
    tf.registerBackend(name, () => started.backend, PRIORITY[name]);
  }
  const ok = await tf.setBackend(name);
  if (!ok || tf.getBackend() !== name) {
    throw new BackendError(
      'initBackend',
      `tf.setBackend('${name}') should succeed`,
      `got ${String(ok)}`,
      'choose another backend',
    );
  }
  await tf.ready();
  return { adapter };
}

/** The adapter description of a running webgpu backend: sculpt's (Node) or tfjs's adapter info (browsers). */
function webGpuAdapterOf(backend: tf.KernelBackend): string | undefined {
  const b = backend as {
    [ADAPTER_KEY]?: string;
    adapterInfo?: { vendor?: string; architecture?: string };
  };
  if (b[ADAPTER_KEY]) return b[ADAPTER_KEY];
  const text = [b.adapterInfo?.vendor, b.adapterInfo?.architecture].filter((s) => s).join(' ');
  return text || undefined;
}

async function describe(
  name: BackendName,
  requested: BackendPreference,
  options: InitBackendOptions,
  adapter: string | undefined,
  skipped: SkippedBackend[],
): Promise<BackendInfo> {
  const isNode = isNodeRuntime();
  const info: BackendInfo = { name, requested, isNode, skipped };
  if (name === 'wasm') {
    const mod = (await backendModule('wasm', options)) as
      | { getThreadsCount?: () => number }
      | undefined;
    info.threads = mod?.getThreadsCount?.();
    info.simd = Boolean(await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT'));
  }
  if (name === 'webgpu') info.adapter = adapter ?? webGpuAdapterOf(tf.backend());
  return info;
}

/**
 * Chooses, starts and activates a TensorFlow.js backend. Backend packages are
 * optional peer dependencies: in Node imported on demand by name; in a bundled
 * browser app passed in by the app (`backends`), since a bundler cannot see a
 * package name known only at run time.
 *
 * - `'auto'` (default): in browsers webgpu → webgl → wasm → cpu, the first
 *   that starts; in Node `tensorflow` (tfjs-node) when installed, else wasm,
 *   else cpu.
 * - A named backend starts that one or throws a {@link BackendError} naming
 *   the package to install.
 * - `'webgpu'` in Node is opt-in: it runs on Dawn (the `webgpu` package) over
 *   Mesa's software GL, needing Debian `libegl1 libegl-mesa0 libgl1-mesa-dri libegl-dev`.
 * - `'wasm'` also registers sculpt's training kernels (`registerWasmKernels`)
 *   and faster layout kernels (`registerWasmLayoutKernels`: rank-5 transposes,
 *   reductions over non-innermost axes) and a batched `BatchMatMul` that
 *   reaches XNNPACK (`registerWasmBatchMatMul`), and faster `Tanh` and
 *   `Pow` (`registerWasmMathKernels`), and `Slice`, `SplitV`, `Unpack` that
 *   copy only the slice (`registerWasmSliceKernels`; the shipped ones copy the
 *   whole input first);
 *   `'cpu'` replaces tfjs-backend-cpu kernels that give wrong numbers
 *   (`ResizeNearestNeighborGrad` for batch > 1).
 *
 * Calling it again switches backends; tensors move lazily, but dispose what you
 * can first.
 *
 * @param preference - which backend; default `'auto'`.
 * @param options - wasm file paths, Dawn flags, package loaders (see {@link InitBackendOptions}).
 * @returns a plain {@link BackendInfo} describing what started (owned by the caller).
 * @throws BackendError for an unknown name, a missing package or a backend that fails to start.
 * @example
 * ```ts
 * import { initBackend } from '@sculpt/core';
 * const info = await initBackend();          // Node: { name: 'wasm', simd: true, threads: 1, … }
 * await initBackend('wasm', { threads: 'auto' }); // Node: the threaded SIMD build, one thread per CPU
 * await initBackend('webgpu');               // Node, opt-in: Dawn on software GL
 * ```
 * In a bundled browser app (Vite), hand sculpt the modules and the wasm files' URLs:
 * ```ts
 * import * as wasm from '@tensorflow/tfjs-backend-wasm';
 * import plain from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm?url';
 * import simd from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm?url';
 * import threaded from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm?url';
 * const wasmPaths = { 'tfjs-backend-wasm.wasm': plain, 'tfjs-backend-wasm-simd.wasm': simd,
 *   'tfjs-backend-wasm-threaded-simd.wasm': threaded }; // tfjs wants all three
 * await initBackend('wasm', { backends: { wasm }, wasmPaths });
 * ```
 */
export async function initBackend(
  preference: BackendPreference = 'auto',
  options: InitBackendOptions = {},
): Promise<BackendInfo> {
  if (preference !== 'auto' && !BACKEND_NAMES.includes(preference)) {
    throw new BackendError(
      'initBackend',
      `preference must be 'auto' or one of ${BACKEND_NAMES.map((n) => `'${n}'`).join(', ')}`,
      `got ${JSON.stringify(preference)}`,
    );
  }
  checkThreads(options.threads);
  const isNode = isNodeRuntime();
  const candidates = preference === 'auto' ? autoOrder(isNode) : [preference];
  const skipped: SkippedBackend[] = [];
  for (const name of candidates) {
    try {
      const { adapter } = await activate(name, options, isNode);
      if (name === 'wasm') {
        registerWasmKernels();
        registerWasmLayoutKernels();
        registerWasmBatchMatMul();
        registerWasmMathKernels();
        registerWasmSliceKernels();
      }
      if (name === 'cpu') registerCpuKernels();
      registerFastGradients();
      return await describe(name, preference, options, adapter, skipped);
    } catch (err) {
      if (preference !== 'auto') throw err;
      skipped.push({ name, reason: messageOf(err) });
    }
  }
  throw new BackendError(
    'initBackend',
    `some backend to start (tried ${candidates.join(', ')})`,
    `got: ${skipped.map((s) => s.reason).join(' | ')}`,
    isNode
      ? 'npm install @tensorflow/tfjs-backend-wasm@4.22.0'
      : 'npm install @tensorflow/tfjs-backend-webgl@4.22.0',
  );
}
