// Loading optional peer dependencies at run time.

/**
 * `import(specifier)` that bundlers leave alone: backends are optional peers,
 * so a bundler must not fail when one is missing. In a bundled browser app the
 * app imports the backend itself (or passes a loader to `initBackend`).
 */
export function importOptional(specifier: string): Promise<unknown> {
  return import(/* webpackIgnore: true */ /* @vite-ignore */ specifier);
}

/** The message of anything thrown. */
export function messageOf(err: unknown): string {
  if (err instanceof Error) return err.message;
  if (err !== null && typeof err === 'object' && 'message' in err)
    return String((err as { message: unknown }).message);
  return String(err);
}

/** True in Node (not in browsers, workers or Deno's browser-like globals). */
export function isNodeRuntime(): boolean {
  const p = (globalThis as { process?: { versions?: { node?: string } } }).process;
  return typeof p?.versions?.node === 'string';
}

/**
 * The folder (with a trailing slash) of the file `specifier` resolves to in
 * Node, or `undefined` where it cannot be resolved (e.g. bundled code).
 */
export async function resolvedDir(specifier: string): Promise<string | undefined> {
  try {
    const { createRequire } = (await importOptional('node:module')) as typeof import('node:module');
    const path = (await importOptional('node:path')) as typeof import('node:path');
    // ESM build: this module's URL; CJS build: __filename (import.meta is empty there).
    const base = typeof __filename === 'string' ? __filename : import.meta.url;
    const file = createRequire(base ?? `${process.cwd()}/`).resolve(specifier);
    return path.dirname(file) + path.sep;
  } catch {
    return undefined;
  }
}
