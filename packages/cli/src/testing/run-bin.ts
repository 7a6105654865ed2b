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
export function runBin(
  cwd: string,
  args: readonly string[],
  timeoutMs = 240_000,
  env: NodeJS.ProcessEnv = process.env,
): Run {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    cwd,
    encoding: 'utf8',
    timeout: timeoutMs,
    env,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/**
 * {@link runBin} with `SCULPT_REPORT_TENSORS=1`: `live` is the number of tfjs
 * tensors the binary reports alive at exit (null when it printed none).
 * @example `expect(runBinCountingTensors(root, ['sample', 'run']).live).toBe(0)`
 */
export function runBinCountingTensors(
  cwd: string,
  args: readonly string[],
): Run & { live: number | null } {
  const r = runBin(cwd, args, 240_000, { ...process.env, SCULPT_REPORT_TENSORS: '1' });
  const live = /sculpt: (\d+) live tensors/.exec(r.stderr);
  return { ...r, live: live && Number(live[1]) };
}
