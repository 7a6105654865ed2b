// What the commands print to and listen on; `process` by default, swapped in tests.
import type { ProgressStream } from './progress.js';

/** The command's streams and signals. */
export interface CliIo {
  /** Results and progress. */
  readonly stdout: ProgressStream;
  /** Messages and errors. */
  readonly stderr: { write(chunk: string): boolean };
  /** Subscribes to SIGINT; returns the unsubscribe function. */
  onInterrupt(handler: () => void): () => void;
}

/** The real process's streams and SIGINT. */
export function processIo(): CliIo {
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    onInterrupt(handler) {
      process.on('SIGINT', handler);
      return () => process.off('SIGINT', handler);
    },
  };
}
