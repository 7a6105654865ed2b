// Test helper: runs the built `sculpt` binary as a child process, as a user would.
import { spawnSync } from 'node:child_process';
import { join, resolve } from 'node:path';

/** The built executable. */
export const BIN = join(resolve(__dirname, '..', '..'), 'dist', 'bin.js');

/** What a run printed and its exit status. */
export interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs `node dist/bin.js ...args` in `cwd` and waits for it.
 *
 * @example
 * ```ts
 * const r = runBin(root, ['samplers', '--json']);
 * ```
 */
export function runBin(cwd: string, args: readonly string[], timeoutMs = 240_000): Run {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    cwd,
    encoding: 'utf8',
    timeout: timeoutMs,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}
