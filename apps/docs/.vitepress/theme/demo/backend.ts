// Starting tfjs in the docs site: webgpu → webgl → wasm → cpu, the first that
// starts (core's `initBackend('auto')`). The backends are imported here, so
// Vite bundles them as separate chunks; the wasm files are copied into
// public/tfjs-wasm/ by scripts/prepare.mjs. `?backend=webgl` forces one.
import { type BackendInfo, type BackendPreference, initBackend } from '@sculpt/backend';
import { withBase } from 'vitepress';

let started: Promise<BackendInfo> | undefined;

const PREFERENCES: readonly BackendPreference[] = ['auto', 'webgpu', 'webgl', 'wasm', 'cpu'];

/** The backend asked for in the page URL (`?backend=…`), else `'auto'`. */
export function requestedBackend(): BackendPreference {
  const asked = new URLSearchParams(window.location.search).get('backend') ?? 'auto';
  return (PREFERENCES as readonly string[]).includes(asked) ? (asked as BackendPreference) : 'auto';
}

/** Starts the page's backend once; every demo on the page shares it. */
export function startBackend(): Promise<BackendInfo> {
  started ??= initBackend(requestedBackend(), {
    wasmPaths: withBase('/tfjs-wasm/'),
    loaders: {
      webgpu: () => import('@tensorflow/tfjs-backend-webgpu'),
      webgl: () => import('@tensorflow/tfjs-backend-webgl'),
      wasm: () => import('@tensorflow/tfjs-backend-wasm'),
      cpu: () => import('@tensorflow/tfjs-backend-cpu'),
    },
  });
  return started;
}

/** One line for the page: which backend runs, and what 'auto' skipped. */
export function describeBackend(info: BackendInfo): string {
  const extra: string[] = [];
  if (info.adapter) extra.push(info.adapter);
  if (info.name === 'wasm')
    extra.push(`${info.simd ? 'SIMD' : 'no SIMD'}, ${info.threads ?? 1} thread(s)`);
  if (info.skipped.length) extra.push(`skipped ${info.skipped.map((s) => s.name).join(', ')}`);
  return extra.length ? `${info.name} (${extra.join('; ')})` : info.name;
}
