// How a command talks: people read stderr, scripts read stdout. Three modes:
// `human` (messages and progress on stderr, the command's data on stdout),
// `json` (one JSON object per line on stdout, messages still on stderr) and
// `quiet` (only errors, and the data a command exists to print).
import type { CliStreams } from './io.js';
import {
  createProgress,
  type Progress,
  type ProgressTarget,
  throttledProgress,
} from './progress.js';

/** How much a command prints, and in which form. */
export type OutputMode = 'human' | 'json' | 'quiet';

/**
 * One line of `--json` output. `event` names its kind; the schema of each
 * kind is in the package README ("Output for scripts").
 */
export interface CliEvent {
  readonly event: string;
  readonly [field: string]: unknown;
}

/** What commands print through: the mode decides where each call goes. */
export interface Reporter {
  readonly mode: OutputMode;
  /** A message for people: stderr, unless quiet. */
  say(text: string): void;
  /**
   * An event for scripts: one JSON line on stdout in json mode. In human
   * mode `human` (if given) goes to stdout as data; quiet prints nothing.
   */
  emit(event: CliEvent, human?: string): void;
  /**
   * The data a command exists to print (generated text, a metrics report, a
   * table): on stdout in human and quiet mode, as `event` (if given) in json mode.
   */
  data(text: string, event?: CliEvent): void;
  /** Training progress: a bar or lines on stderr, `step` events in json mode, nothing when quiet. */
  progress(target: ProgressTarget): Progress;
}

/**
 * The reporter of a command run with `mode`.
 *
 * @param io - the streams (stdout for data, stderr for people).
 * @param mode - from `--json` / `--quiet`. Default `'human'`.
 * @returns a {@link Reporter}.
 * @example
 * ```ts
 * const report = createReporter(processIo(), 'json');
 * report.emit({ event: 'sample', path: 'out.png' }); // {"event":"sample","path":"out.png"}
 * ```
 */
export function createReporter(io: CliStreams, mode: OutputMode = 'human'): Reporter {
  const line = (e: CliEvent) => io.stdout.write(`${JSON.stringify(e)}\n`);
  return {
    mode,
    say(text) {
      if (mode !== 'quiet') io.stderr.write(text.endsWith('\n') ? text : `${text}\n`);
    },
    emit(event, human) {
      if (mode === 'json') line(event);
      else if (mode === 'human' && human !== undefined) io.stdout.write(human);
    },
    data(text, event) {
      if (mode !== 'json') io.stdout.write(text);
      else if (event) line(event);
    },
    progress(target) {
      if (mode === 'quiet') return { update() {}, stop() {} };
      if (mode === 'json') return jsonProgress(line, target);
      return createProgress(io.stderr, target);
    },
  };
}

/** `step` events at the cadence of the plain-line progress (the first step, then every 5%, then the last). */
function jsonProgress(line: (e: CliEvent) => void, target: ProgressTarget): Progress {
  return throttledProgress(target, (u, { rate, eta }) =>
    line({
      event: 'step',
      step: u.step,
      ...('steps' in target ? { totalSteps: target.steps } : {}),
      loss: u.loss,
      stepsPerSecond: Number(rate.toFixed(3)),
      elapsedSeconds: Number(u.elapsedSeconds.toFixed(3)),
      etaSeconds: Number.isFinite(eta) ? Number(eta.toFixed(1)) : null,
    }),
  );
}

/**
 * `--json` / `--quiet` as a mode; `--json` wins when both are given.
 *
 * @example
 * ```ts
 * outputMode({ json: true }); // 'json'
 * ```
 */
export function outputMode(flags: { json?: boolean; quiet?: boolean }): OutputMode {
  if (flags.json) return 'json';
  return flags.quiet ? 'quiet' : 'human';
}
