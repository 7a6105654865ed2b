// How the sculpt command fails: one line on stderr, a status code a script
// can branch on, never a stack trace for something the user can fix.
import { SculptError } from '@sculpt/core';

/**
 * Exit statuses of the `sculpt` command.
 *
 * @example
 * ```ts
 * if (status === EXIT.interrupted) console.log('resume with --resume');
 * ```
 */
export const EXIT = Object.freeze({
  /** Finished. */
  ok: 0,
  /** A bug in sculpt (the message says how to get the stack trace). */
  internal: 1,
  /** Bad input: an unknown name, a flag out of range, a missing path, a corrupt checkpoint. */
  usage: 2,
  /** Stopped by Ctrl-C (SIGINT) after saving a checkpoint: 128 + SIGINT's number, as shells report it. */
  interrupted: 130,
});

/**
 * An error the user can fix (a flag, a path, a checkpoint): printed as one
 * line, exit status 2. Same message shape as every sculpt error:
 * `"where: expected…, got…. Fix: …"`.
 *
 * @example
 * ```ts
 * throw new UsageError('sculpt train', "a known family", "got 'vea'", 'use one of: diffusion');
 * ```
 */
export class UsageError extends SculptError {
  override name = 'UsageError';
}

/** True for errors that come from the user's input or files rather than a bug in sculpt. */
export function isUserError(error: unknown): error is SculptError {
  // Every SculptError names what was expected and the fix; library checks
  // (a sampler name, a checkpoint's CRC, a backend that will not start) are
  // all answers to what the user asked for.
  return error instanceof SculptError;
}

/** Node's codes for a file the machine will not let us write: a disk, a mount or a permission problem. */
const FILE_SYSTEM_CODES: Readonly<Record<string, string>> = {
  ENOSPC: 'the disk is full',
  EDQUOT: 'the disk quota is used up',
  EROFS: 'the file system is read-only',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
};

/** A failed write of a run file (log, plot, samples) as a user error: the machine refused, sculpt did not fail. */
function fileSystemFailure(error: unknown): string | undefined {
  if (!(error instanceof Error)) return undefined;
  const { code, path } = error as NodeJS.ErrnoException;
  const what = code ? FILE_SYSTEM_CODES[code] : undefined;
  if (!what) return undefined;
  return `sculpt: could not write ${path ?? 'a file'}: ${what} (${code}). Fix: free space or choose a writable --out folder; the last checkpoint saved there is untouched.`;
}

/**
 * The one line printed for `error`, and the exit status.
 *
 * @param error - anything thrown.
 * @param debug - include the stack trace (set by `SCULPT_DEBUG=1`). Default `false`.
 * @returns `{ line, status }`; `line` has no trailing newline.
 * @example
 * ```ts
 * const { line, status } = describeFailure(error);
 * process.stderr.write(`${line}\n`);
 * process.exitCode = status;
 * ```
 */
export function describeFailure(error: unknown, debug = false): { line: string; status: number } {
  const message = error instanceof Error ? error.message : String(error);
  const oneLine = message.replace(/\s*\n\s*/g, ' ').trim();
  if (isUserError(error)) {
    // Messages from the CLI itself already start with the command ("sculpt train: …").
    const line = oneLine.startsWith('sculpt') ? oneLine : `sculpt: ${oneLine}`;
    return { line: debug && error.stack ? `${line}\n${error.stack}` : line, status: EXIT.usage };
  }
  const stack = error instanceof Error && error.stack ? `\n${error.stack}` : '';
  const disk = fileSystemFailure(error);
  if (disk) return { line: debug ? `${disk}${stack}` : disk, status: EXIT.usage };
  return {
    line: debug
      ? `sculpt: internal error: ${oneLine}${stack}`
      : `sculpt: internal error: ${oneLine} (run again with SCULPT_DEBUG=1 to see the stack trace, and report it)`,
    status: EXIT.internal,
  };
}
