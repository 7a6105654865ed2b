/**
 * The threaded SIMD build of tfjs-backend-wasm, started in Node.
 *
 * tfjs 4.22 pins `WASM_HAS_MULTITHREAD_SUPPORT` to false in Node
 * (tensorflow/tfjs#3830) and, when forced on, fails with ERR_WORKER_PATH:
 * Emscripten's pthread pool starts `new Worker(url)` with a `blob:` URL built
 * from the worker source, and each worker then `importScripts` the main
 * script, also a Blob. Node's `worker_threads` take file paths only.
 *
 * While the wasm backend starts, {@link startWasmWithNodeThreads}:
 * - records the text of every Blob tfjs builds (the worker source and
 *   `var WasmBackendModuleThreadedSimd = <factory>`),
 * - answers `URL.createObjectURL` for the worker Blob with a real file: the
 *   worker source behind a small prelude that defines what the factory text
 *   expects from tfjs's bundle scope (`require$$N`, tslib helpers,
 *   `commonjsGlobal`, `_scriptDir`) and points `importScripts` at the main
 *   script file;
 * - starts pool workers without the parent's `--input-type` flag (a worker
 *   started from a file refuses it);
 * - doubles `os.cpus()`: tfjs caps threads at `emscripten_num_logical_cores()
 *   / 2` (it assumes two hyper-threads per core; on a 2-vCPU machine that
 *   leaves 1);
 * and restores all of these afterwards. The files are content-addressed under
 * `os.tmpdir()`, so every process of one tfjs version shares them.
 *
 * Pool workers are `unref`'d once started: XNNPACK's threads live as long as
 * the backend and must not keep Node from exiting.
 */

import { BackendError } from '@sculpt/core';
import * as tf from '@tensorflow/tfjs-core';
import { importOptional, messageOf } from './load.js';

/** The identifiers tfjs 4.22's Node bundle leaves free in the factory text, and what defines them. */
const BUNDLE_SCOPE_PRELUDE = `'use strict';
Object.assign(globalThis, {
  require$$0: require('fs'),
  require$$1: require('path'),
  require$$3: require('perf_hooks'),
  require$$4: require('os'),
  commonjsGlobal: globalThis,
  __values: function (o) { var s = typeof Symbol === 'function' && Symbol.iterator, m = s && o[s], i = 0; if (m) return m.call(o); if (o && typeof o.length === 'number') return { next: function () { if (o && i >= o.length) o = void 0; return { value: o && o[i++], done: !o }; } }; throw new TypeError('Object is not iterable.'); },
  __read: function (o, n) { var m = typeof Symbol === 'function' && o[Symbol.iterator]; if (!m) return o; var i = m.call(o), r, ar = [], e; try { while ((n === void 0 || n-- > 0) && !(r = i.next()).done) ar.push(r.value); } catch (error) { e = { error: error }; } finally { try { if (r && !r.done && (m = i['return'])) m.call(i); } finally { if (e) throw e.error; } } return ar; },
  __spreadArray: function (to, from, pack) { if (pack || arguments.length === 2) for (var i = 0, l = from.length, ar; i < l; i++) { if (ar || !(i in from)) { if (!ar) ar = Array.prototype.slice.call(from, 0, i); ar[i] = from[i]; } } return to.concat(ar || Array.prototype.slice.call(from)); },
});
`;

/** Free names the prelude provides; a factory text using others is refused (a tfjs build this was not written for). */
const KNOWN_FREE = new Set([
  'require$$0',
  'require$$1',
  'require$$3',
  'require$$4',
  '__values',
  '__read',
  '__spreadArray',
]);

const MAIN_SCRIPT_PREFIX = 'var WasmBackendModuleThreadedSimd';

type NodeFs = typeof import('node:fs');
type NodePath = typeof import('node:path');
type NodeOs = typeof import('node:os');
type NodeCrypto = typeof import('node:crypto');
type NodeWorkerThreads = typeof import('node:worker_threads');

interface NodeModules {
  fs: NodeFs;
  path: NodePath;
  os: NodeOs;
  crypto: NodeCrypto;
  workerThreads: NodeWorkerThreads;
}

async function nodeModules(): Promise<NodeModules> {
  const [fs, path, os, crypto, workerThreads] = await Promise.all([
    importOptional('node:fs'),
    importOptional('node:path'),
    importOptional('node:os'),
    importOptional('node:crypto'),
    importOptional('node:worker_threads'),
  ]);
  const unwrap = <T>(m: unknown): T => ((m as { default?: T }).default ?? m) as T;
  return {
    fs: unwrap<NodeFs>(fs),
    path: unwrap<NodePath>(path),
    os: unwrap<NodeOs>(os),
    crypto: unwrap<NodeCrypto>(crypto),
    workerThreads: unwrap<NodeWorkerThreads>(workerThreads),
  };
}

/**
 * Node options a worker must not inherit: a process started with
 * `--input-type=module -e …` passes `--input-type` on, and a worker started
 * from a file then refuses to run (ERR_INPUT_TYPE_NOT_ALLOWED).
 */
function workerExecArgv(execArgv: readonly string[]): string[] {
  return execArgv.filter((arg) => !arg.startsWith('--input-type'));
}

/** Checks that the factory text uses only the bundle-scope names the prelude defines. */
function checkFreeNames(mainText: string): void {
  const used = new Set(mainText.match(/\brequire\$\$\d+\b|\b__[a-zA-Z]+(?=\()/g) ?? []);
  const unknown = [...used].filter((n) => !KNOWN_FREE.has(n) && !mainText.includes(`${n} =`));
  if (unknown.length > 0) {
    throw new BackendError(
      'initBackend',
      'the threaded wasm build of @tensorflow/tfjs-backend-wasm 4.22',
      `got a build whose worker needs ${unknown.join(', ')}`,
      'pass threads: 1, or install @tensorflow/tfjs-backend-wasm@4.22.0',
    );
  }
}

/** Writes `text` to `dir/name` unless an identical file is there (atomic: temp file + rename). */
function writeOnce(m: NodeModules, dir: string, name: string, text: string): string {
  const file = m.path.join(dir, name);
  if (m.fs.existsSync(file) && m.fs.readFileSync(file, 'utf8') === text) return file;
  const temp = `${file}.${process.pid}.${Date.now()}.tmp`;
  m.fs.writeFileSync(temp, text);
  m.fs.renameSync(temp, file);
  return file;
}

/** Writes the main script and the worker (with its prelude); returns the worker's path. */
function writeWorkerFiles(m: NodeModules, mainText: string, workerText: string): string {
  checkFreeNames(mainText);
  const hash = m.crypto
    .createHash('sha256')
    .update(mainText)
    .update(workerText)
    .digest('hex')
    .slice(0, 16);
  const dir = m.path.join(m.os.tmpdir(), `sculpt-wasm-threads-${hash}`);
  m.fs.mkdirSync(dir, { recursive: true });
  const mainFile = writeOnce(m, dir, 'main.cjs', mainText);
  const prelude =
    BUNDLE_SCOPE_PRELUDE +
    `globalThis._scriptDir = ${JSON.stringify(mainFile)};\n` +
    // The worker imports the main script through a Blob URL; hand it the file instead.
    `URL.createObjectURL = function () { return ${JSON.stringify(mainFile)}; };\n` +
    'URL.revokeObjectURL = function () {};\n';
  return writeOnce(m, dir, 'worker.cjs', prelude + workerText);
}

/** An Emscripten pthread-pool worker (a Node `Worker` with the fields Emscripten adds). */
interface PoolWorker {
  ref?: () => void;
  unref?: () => void;
}

/** The wasm backend's Emscripten module, as far as the pool is concerned. */
interface ThreadedModule {
  PThread?: { unusedWorkers: PoolWorker[]; runningWorkers: PoolWorker[] };
}

/** Lets Node exit while pool workers live: unref them now and whenever Emscripten would ref them. */
function unrefPool(backend: tf.KernelBackend): void {
  const pool = (backend as { wasm?: ThreadedModule }).wasm?.PThread;
  if (!pool) return;
  for (const worker of [...pool.unusedWorkers, ...pool.runningWorkers]) {
    worker.ref = () => {};
    worker.unref?.();
  }
}

/**
 * Starts the wasm backend through `start` (tfjs's backend factory) with the
 * threaded SIMD build working in Node, using `threads` XNNPACK threads
 * (capped by tfjs at 8 and at the number of CPUs).
 *
 * Must run before anything else has started the wasm backend (the thread
 * count and build are fixed when the backend starts). Not for browsers: there
 * tfjs starts threads itself when the page is cross-origin isolated.
 *
 * @param threads - XNNPACK threads wanted (≥ 1).
 * @param start - starts the backend (`tf.findBackendFactory('wasm')`).
 * @returns the started backend (owned by the caller, normally registered with tfjs right away).
 * @throws BackendError if the threaded build fails to start.
 * @example
 * ```ts
 * const backend = await startWasmWithNodeThreads(2, () => tf.findBackendFactory('wasm')());
 * tf.registerBackend('wasm', () => backend, 2);
 * ```
 */
export async function startWasmWithNodeThreads(
  threads: number,
  start: () => tf.KernelBackend | Promise<tf.KernelBackend>,
): Promise<tf.KernelBackend> {
  const m = await nodeModules();
  const wasmPackage = (await importOptional('@tensorflow/tfjs-backend-wasm')) as {
    setThreadsCount?: (n: number) => void;
  };
  wasmPackage.setThreadsCount?.(threads);
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', true);

  const OriginalBlob = globalThis.Blob;
  const originalCreateObjectURL = URL.createObjectURL;
  const originalCpus = m.os.cpus;
  const OriginalWorker = m.workerThreads.Worker;
  const texts = new WeakMap<Blob, string>();
  let mainText: string | undefined;
  let workerFile: string | undefined;
  let failure: unknown;

  function RecordingBlob(parts?: BlobPart[], options?: BlobPropertyBag): Blob {
    const blob = new OriginalBlob(parts, options);
    if (parts?.every((p) => typeof p === 'string')) {
      const text = parts.join('');
      texts.set(blob, text);
      if (text.startsWith(MAIN_SCRIPT_PREFIX)) mainText = text;
    }
    return blob;
  }
  globalThis.Blob = RecordingBlob as unknown as typeof Blob;
  URL.createObjectURL = (object: Blob | MediaSource): string => {
    const text = object instanceof OriginalBlob ? texts.get(object) : undefined;
    if (
      text === undefined ||
      mainText === undefined ||
      !text.includes('WasmBackendModuleThreadedSimd(Module)')
    )
      return originalCreateObjectURL(object as Blob);
    try {
      workerFile ??= writeWorkerFiles(m, mainText, text);
    } catch (err) {
      failure = err;
      throw err;
    }
    return workerFile;
  };
  // Emscripten reads worker_threads.Worker when the module starts.
  m.workerThreads.Worker = class PoolWorker extends OriginalWorker {
    constructor(file: string | URL, options: import('node:worker_threads').WorkerOptions = {}) {
      super(file, { execArgv: workerExecArgv(process.execArgv), ...options });
    }
  };
  m.os.cpus = () => {
    const cpus = originalCpus();
    return [...cpus, ...cpus];
  };
  try {
    const backend = await start();
    if (failure) throw failure;
    unrefPool(backend);
    return backend;
  } catch (err) {
    if (err instanceof BackendError) throw err;
    throw new BackendError(
      'initBackend',
      'the threaded wasm build to start in Node',
      `got: ${messageOf(failure ?? err)}`,
      'pass threads: 1',
    );
  } finally {
    globalThis.Blob = OriginalBlob;
    URL.createObjectURL = originalCreateObjectURL;
    m.os.cpus = originalCpus;
    m.workerThreads.Worker = OriginalWorker;
  }
}
