// What the commands print to and listen on; `process` by default, swapped in tests.
import type { ProgressStream } from './progress.js';
import { createReporter, type OutputMode, type Reporter } from './report.js';

/** The streams a command writes to. */
export interface CliStreams {
  /** Data for scripts: results, JSON lines. */
  readonly stdout: ProgressStream;
  /** Messages, progress and errors for people. */
  readonly stderr: ProgressStream;
}

/** The command's streams, reporter and signals. */
export interface CliIo extends CliStreams {
  /** Where each kind of output goes under `--json` / `--quiet`. */
  readonly report: Reporter;
  /** Subscribes to SIGINT; returns the unsubscribe function. */
  onInterrupt(handler: () => void): () => void;
}

/**
 * The real process's streams and SIGINT.
 *
 * @param mode - `'human'` (default), `'json'` or `'quiet'`.
 * @example
 * ```ts
 * const io = processIo('json');
 * io.report.emit({ event: 'done' });
 * ```
 */
export function processIo(mode: OutputMode = 'human'): CliIo {
  return withMode(
    {
      stdout: process.stdout,
      stderr: process.stderr,
      report: createReporter({ stdout: process.stdout, stderr: process.stderr }),
      onInterrupt(handler) {
        process.on('SIGINT', handler);
        return () => process.off('SIGINT', handler);
      },
    },
    mode,
  );
}

/** `io` with a reporter for `mode` (a new object; `io` is left as it is). */
export function withMode(io: CliIo, mode: OutputMode): CliIo {
  return {
    stdout: io.stdout,
    stderr: io.stderr,
    report: createReporter(io, mode),
    onInterrupt: (handler) => io.onInterrupt(handler),
  };
}
