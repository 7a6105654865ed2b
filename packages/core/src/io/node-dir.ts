// A checkpoint directory on a Node file system, replaced atomically:
//
//   1. write weights.safetensors + checkpoint.json into  <parent>/.<name>.tmp-XXXXXX/
//      and fsync both files and the directory;
//   2. rename <name> → .<name>.tmp-XXXXXX.old   (skipped when there is no <name> yet)
//   3. rename .<name>.tmp-XXXXXX → <name>, fsync <parent>, delete the .old.
//
// A failure in 1 leaves <name> untouched. POSIX cannot rename a directory over
// a non-empty one, hence the two renames; a crash between them leaves no
// <name> but an intact .old, which readDirectory falls back to.
//
// The file system comes in as an argument (the caller imports node:fs/promises
// dynamically), so browser bundles never load Node modules and tests can
// inject failures.
import type * as fsPromises from 'node:fs/promises';
import { CheckpointError } from '../errors.js';

/** `node:fs/promises`, or a test double of it. */
export type NodeFs = typeof fsPromises;

export const WEIGHTS_FILE = 'weights.safetensors';
export const DOCUMENT_FILE = 'checkpoint.json';
const OURS = new Set([WEIGHTS_FILE, DOCUMENT_FILE]);

function errorCode(error: unknown): string | undefined {
  return (error as { code?: string } | null)?.code;
}

function describe(error: unknown): string {
  return (error as Error)?.message ?? String(error);
}

/** `a/b/` → target `a/b`, parent `a`, base `b` (both separators understood). */
function splitPath(where: string, path: string): { target: string; parent: string; base: string } {
  if (typeof path !== 'string' || path.length === 0) {
    throw new CheckpointError(where, 'a directory path', `got ${JSON.stringify(path)}`);
  }
  let target = path;
  while (target.length > 1 && /[\\/]$/.test(target)) target = target.slice(0, -1);
  const cut = Math.max(target.lastIndexOf('/'), target.lastIndexOf('\\'));
  const base = target.slice(cut + 1);
  if (base === '' || base === '.' || base === '..') {
    throw new CheckpointError(
      where,
      'a path naming the checkpoint directory itself',
      `got ${JSON.stringify(path)}`,
      'use e.g. "runs/mnist/checkpoint"',
    );
  }
  const parent = cut < 0 ? '.' : cut === 0 ? target[0] : target.slice(0, cut);
  return { target, parent, base };
}

function join(dir: string, name: string): string {
  return /[\\/]$/.test(dir) ? `${dir}${name}` : `${dir}/${name}`;
}

async function writeSynced(fs: NodeFs, path: string, bytes: Uint8Array): Promise<void> {
  const handle = await fs.open(path, 'w');
  try {
    await handle.writeFile(bytes);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** fsync a directory so renames in it are durable; not possible on Windows, where it is skipped. */
async function syncDirectory(fs: NodeFs, path: string): Promise<void> {
  let handle: Awaited<ReturnType<NodeFs['open']>> | undefined;
  try {
    handle = await fs.open(path, 'r');
    await handle.sync();
  } catch {
    // EISDIR/EPERM on Windows: directory entries are durable there without it.
  } finally {
    await handle?.close().catch(() => undefined);
  }
}

/** Refuses to replace anything that is not a checkpoint directory: a save must never delete user files. */
async function checkReplaceable(where: string, fs: NodeFs, target: string): Promise<void> {
  let names: string[];
  try {
    const stat = await fs.stat(target);
    if (!stat.isDirectory()) {
      throw new CheckpointError(
        where,
        `${target} to be a checkpoint directory`,
        'got a file',
        'choose another path',
      );
    }
    names = await fs.readdir(target);
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return;
    throw error;
  }
  const foreign = names.filter((n) => !OURS.has(n));
  if (foreign.length > 0) {
    throw new CheckpointError(
      where,
      `${target} to be absent or hold only ${DOCUMENT_FILE} and ${WEIGHTS_FILE}`,
      `got ${foreign.slice(0, 3).join(', ')}${foreign.length > 3 ? ', …' : ''}`,
      'save into a directory of its own, e.g. join(runDir, "checkpoint")',
    );
  }
}

/** Removes leftovers of interrupted saves (best effort, after a successful swap). */
async function removeStale(fs: NodeFs, parent: string, base: string): Promise<void> {
  const prefix = `.${base}.tmp-`;
  const names = await fs.readdir(parent).catch(() => [] as string[]);
  for (const name of names) {
    if (name.startsWith(prefix))
      await fs.rm(join(parent, name), { recursive: true, force: true }).catch(() => undefined);
  }
}

async function swap(fs: NodeFs, tmp: string, target: string, parent: string): Promise<void> {
  const old = `${tmp}.old`;
  let moved = false;
  try {
    await fs.rename(target, old);
    moved = true;
  } catch (error) {
    if (errorCode(error) !== 'ENOENT') throw error;
  }
  try {
    await fs.rename(tmp, target);
  } catch (error) {
    if (moved) await fs.rename(old, target).catch(() => undefined); // put the previous one back
    throw error;
  }
  await syncDirectory(fs, parent);
  if (moved) await fs.rm(old, { recursive: true, force: true }).catch(() => undefined);
}

/**
 * @internal Writes `bytes` (weights.safetensors) and `document` (checkpoint.json)
 * to the directory `path`, atomically (see the file header).
 */
export async function saveDirectory(
  where: string,
  fs: NodeFs,
  path: string,
  bytes: Uint8Array,
  document: unknown,
): Promise<void> {
  const { target, parent, base } = splitPath(where, path);
  let tmp: string | undefined;
  try {
    await checkReplaceable(where, fs, target);
    await fs.mkdir(parent, { recursive: true });
    tmp = await fs.mkdtemp(join(parent, `.${base}.tmp-`));
    await writeSynced(fs, join(tmp, WEIGHTS_FILE), bytes);
    await writeSynced(
      fs,
      join(tmp, DOCUMENT_FILE),
      new TextEncoder().encode(`${JSON.stringify(document, null, 2)}\n`),
    );
    await syncDirectory(fs, tmp);
    await swap(fs, tmp, target, parent);
  } catch (error) {
    if (tmp !== undefined)
      await fs.rm(tmp, { recursive: true, force: true }).catch(() => undefined);
    if (error instanceof CheckpointError) throw error;
    throw new CheckpointError(
      where,
      `to write the checkpoint ${target}`,
      `got ${describe(error)}`,
      'check that the path is writable and the disk not full; the previous checkpoint there is untouched',
    );
  }
  await removeStale(fs, parent, base);
}

/** The `.old` directory an interrupted swap left behind, newest first. */
async function findRecovered(
  fs: NodeFs,
  parent: string,
  base: string,
): Promise<string | undefined> {
  const prefix = `.${base}.tmp-`;
  const names = await fs.readdir(parent).catch(() => [] as string[]);
  const candidates: { path: string; time: number }[] = [];
  for (const name of names) {
    if (!name.startsWith(prefix) || !name.endsWith('.old')) continue;
    const path = join(parent, name);
    const stat = await fs.stat(join(path, DOCUMENT_FILE)).catch(() => undefined);
    if (stat) candidates.push({ path, time: stat.mtimeMs });
  }
  candidates.sort((a, b) => b.time - a.time);
  return candidates[0]?.path;
}

async function readOrThrow(where: string, fs: NodeFs, path: string): Promise<Uint8Array> {
  try {
    const buffer = await fs.readFile(path);
    return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  } catch (error) {
    const what = errorCode(error) === 'ENOENT' ? 'got no such file' : `got ${describe(error)}`;
    throw new CheckpointError(
      where,
      `a readable ${path}`,
      what,
      'the checkpoint is incomplete; save it again',
    );
  }
}

/** @internal Reads both files of a checkpoint directory (or of the `.old` an interrupted save left). */
export async function readDirectory(
  where: string,
  fs: NodeFs,
  path: string,
): Promise<{ weights: Uint8Array; documentText: string; dir: string }> {
  const { target, parent, base } = splitPath(where, path);
  let dir = target;
  const exists = await fs.stat(target).then(
    () => true,
    (error) => errorCode(error) !== 'ENOENT',
  );
  if (!exists) {
    const recovered = await findRecovered(fs, parent, base);
    if (recovered === undefined) {
      throw new CheckpointError(
        where,
        `a checkpoint directory at ${target}`,
        'got nothing there',
        'check the path, or save one first with saveCheckpoint',
      );
    }
    dir = recovered;
  }
  const documentText = new TextDecoder().decode(
    await readOrThrow(where, fs, join(dir, DOCUMENT_FILE)),
  );
  const weights = await readOrThrow(where, fs, join(dir, WEIGHTS_FILE));
  return { weights, documentText, dir };
}

export { join as joinPath };
