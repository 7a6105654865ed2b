// Finding the module of a backend package. Three ways, in order: the module the
// app passed (`backends`), the app's loader (`loaders`), or an import by name.
// The last one works in Node only: a bundler cannot see a package name that is
// only known at run time, so a bundled page must pass the module itself.

import { BackendError } from '@sculpt/core';
import * as tf from '@tensorflow/tfjs-core';
import { importOptional, isNodeRuntime, messageOf } from './load.js';

/** A tfjs backend sculpt can start. `'tensorflow'` is tfjs-node (native TensorFlow). */
export type BackendName = 'webgpu' | 'webgl' | 'wasm' | 'cpu' | 'tensorflow';

/**
 * A backend package's module, as `import * as wasm from '@tensorflow/tfjs-backend-wasm'`
 * gives it. Importing it registers the backend with tfjs; sculpt also uses the
 * wasm module's `setWasmPaths` and `setThreadsCount`.
 */
export type BackendModule = object;

/** Where a backend module may come from (the part of `InitBackendOptions` read here). */
export interface BackendSources {
  backends?: Partial<Record<BackendName, BackendModule>>;
  loaders?: Partial<Record<BackendName, () => Promise<unknown>>>;
}

/** The npm packages that provide each backend (tried in order). */
export const PACKAGES: Record<BackendName, readonly string[]> = {
  webgpu: ['@tensorflow/tfjs-backend-webgpu'],
  webgl: ['@tensorflow/tfjs-backend-webgl'],
  wasm: ['@tensorflow/tfjs-backend-wasm'],
  cpu: ['@tensorflow/tfjs-backend-cpu'],
  tensorflow: ['@tensorflow/tfjs-node', '@tensorflow/tfjs-node-gpu'],
};

/** The module of `name`'s package and, when none was found, why each way failed. */
async function findModule(
  name: BackendName,
  sources: BackendSources,
): Promise<{ module?: unknown; errors: string[] }> {
  const given = sources.backends?.[name];
  if (given) return { module: given, errors: [] };
  const loader = sources.loaders?.[name];
  if (loader) {
    try {
      return { module: await loader(), errors: [] };
    } catch (err) {
      return { errors: [`loader: ${messageOf(err)}`] };
    }
  }
  const errors: string[] = [];
  for (const pkg of PACKAGES[name]) {
    try {
      return { module: await importOptional(pkg), errors };
    } catch (err) {
      errors.push(`${pkg}: ${messageOf(err)}`);
    }
  }
  return { errors };
}

/**
 * The module of `name`'s package, or `undefined` where it cannot be had (in a
 * bundled page without `backends`/`loaders`). Used for the wasm module's setters.
 */
export async function backendModule(
  name: BackendName,
  sources: BackendSources,
): Promise<unknown | undefined> {
  return (await findModule(name, sources)).module;
}

/**
 * Makes sure tfjs has a factory for `name`: one the app registered by
 * importing the package, else the package's module found as above.
 * @throws BackendError naming what to install, or (in browsers) what to pass.
 */
export async function ensureRegistered(name: BackendName, sources: BackendSources): Promise<void> {
  if (tf.findBackendFactory(name) != null) return;
  const { module, errors } = await findModule(name, sources);
  if (tf.findBackendFactory(name) != null) return;
  const why = errors.length
    ? `got: ${errors.join('; ')}`
    : module
      ? `got a module that did not register '${name}' (is it a different copy of @tensorflow/tfjs-core?)`
      : `got a package that did not register '${name}'`;
  const bundled = !isNodeRuntime() && !sources.backends?.[name] && !sources.loaders?.[name];
  throw new BackendError(
    'initBackend',
    bundled
      ? `backend '${name}' to be imported by the app (a bundled page cannot import ${PACKAGES[name][0]} by name)`
      : `backend '${name}' needs the package ${PACKAGES[name].join(' or ')}`,
    why,
    bundled ? bundledFix(name) : installFix(name),
  );
}

/** What a bundled browser app should do to hand sculpt a backend. */
function bundledFix(name: BackendName): string {
  const id = name === 'tensorflow' ? 'tfjsNode' : name;
  return `import * as ${id} from '${PACKAGES[name][0]}' and pass initBackend('${name}', { backends: { ${name}: ${id} } }) (install it first if it is missing; see @sculpt/backend's README, "Browser setup")`;
}

/** What to install (or use instead) when `name` is missing. */
export function installFix(name: BackendName): string {
  if (name === 'webgl' && isNodeRuntime())
    return "webgl needs a browser; in Node use 'wasm' or 'webgpu'";
  if (name === 'webgpu' && !isNodeRuntime())
    return 'use a browser with WebGPU enabled, or choose another backend';
  return `npm install ${PACKAGES[name][0]}@4.22.0 (the version of @tensorflow/tfjs-core), or choose another backend`;
}

/**
 * The fix for a wasm backend that did not start in a browser: almost always
 * its `.wasm` file was not served where tfjs looked.
 */
export function wasmStartFix(paths: string | Record<string, string> | undefined): string {
  const where =
    paths === undefined
      ? 'next to the page (tfjs looks there when wasmPaths is not given)'
      : typeof paths === 'string'
        ? `under ${paths}`
        : `at ${Object.values(paths).join(', ')}`;
  return `the .wasm files were not found ${where}: pass wasmPaths with their URLs (Vite: import each file from '@tensorflow/tfjs-backend-wasm/dist/…wasm?url'; see @sculpt/backend's README, "Browser setup")`;
}
