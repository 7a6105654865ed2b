// Training progress: a cli-progress bar on a terminal, plain lines otherwise
// (logs, CI, pipes), with loss, steps/s and ETA in both.
import cliProgress from 'cli-progress';

/** Where progress goes: a stream with `write` (and `isTTY` when it is a terminal). */
export interface ProgressStream {
  write(chunk: string): boolean;
  isTTY?: boolean;
  columns?: number;
}

/** One update: what the trainer just finished. */
export interface ProgressUpdate {
  /** The trainer's step count. */
  step: number;
  /** The step's loss. */
  loss: number;
  /** Seconds since this process started training. */
  elapsedSeconds: number;
  /** Of those, the seconds spent in training steps (not saving or sampling): the rate is measured over these. Default `elapsedSeconds`. */
  activeSeconds?: number;
  /** Steps run by this process (the rate is measured over these). */
  stepsThisRun: number;
}

/** The target: steps, or a time budget. */
export type ProgressTarget =
  | { steps: number; startStep: number }
  | { seconds: number; startStep: number };

/** A progress display; `stop()` ends the bar (or prints the last line). */
export interface Progress {
  update(u: ProgressUpdate): void;
  stop(): void;
}

/** `83` → `1m23s`, `3700` → `1h01m`. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

function formatLoss(loss: number): string {
  return Number.isFinite(loss) ? loss.toPrecision(4) : String(loss);
}

/** Rate, ETA and fraction done. */
function measure(
  target: ProgressTarget,
  u: ProgressUpdate,
): { rate: number; eta: number; fraction: number } {
  const active = u.activeSeconds ?? u.elapsedSeconds;
  const rate = active > 0 ? u.stepsThisRun / active : 0;
  if ('steps' in target) {
    const left = target.steps - u.step;
    const fraction = target.steps > 0 ? u.step / target.steps : 1;
    return { rate, eta: rate > 0 ? left / rate : Number.NaN, fraction };
  }
  const eta = Math.max(0, target.seconds - u.elapsedSeconds);
  return { rate, eta, fraction: Math.min(1, u.elapsedSeconds / target.seconds) };
}

/**
 * A progress display on `stream`: a bar when it is a TTY, otherwise a plain
 * line about every 5% of the run.
 *
 * @param stream - usually `process.stdout`.
 * @param target - `{ steps, startStep }` or `{ seconds, startStep }`.
 * @returns a {@link Progress}.
 */
export function createProgress(stream: ProgressStream, target: ProgressTarget): Progress {
  return stream.isTTY ? barProgress(stream, target) : lineProgress(stream, target);
}

function stepLabel(target: ProgressTarget, step: number): string {
  return 'steps' in target ? `${step}/${target.steps}` : String(step);
}

function barProgress(stream: ProgressStream, target: ProgressTarget): Progress {
  const bar = new cliProgress.SingleBar(
    {
      format:
        ' {bar} {percentage}% | step {stepLabel} | loss {loss} | {rate} steps/s | ETA {etaText}',
      stream: stream as NodeJS.WritableStream,
      hideCursor: true,
      barsize: 24,
      etaBuffer: 50,
      fps: 5,
    },
    cliProgress.Presets.shades_classic,
  );
  bar.start(1000, 0, {
    stepLabel: stepLabel(target, target.startStep),
    loss: '…',
    rate: '…',
    etaText: '…',
  });
  return {
    update(u) {
      const { rate, eta, fraction } = measure(target, u);
      bar.update(Math.round(fraction * 1000), {
        stepLabel: stepLabel(target, u.step),
        loss: formatLoss(u.loss),
        rate: rate.toFixed(rate < 10 ? 2 : 1),
        etaText: formatDuration(eta),
      });
    },
    stop() {
      bar.stop();
    },
  };
}

function lineProgress(stream: ProgressStream, target: ProgressTarget): Progress {
  return throttledProgress(target, (u, { rate, eta }) => {
    stream.write(
      `step ${stepLabel(target, u.step)}  loss ${formatLoss(u.loss)}  ${rate.toFixed(2)} steps/s  ETA ${formatDuration(eta)}\n`,
    );
  });
}

/**
 * Calls `print` on the first update, about every 5% of the run, and for the
 * last update at `stop()` (for logs, pipes and JSON lines).
 *
 * @param target - `{ steps, startStep }` or `{ seconds, startStep }`.
 * @param print - receives the update with its rate (steps/s) and ETA (seconds).
 * @returns a {@link Progress}.
 */
export function throttledProgress(
  target: ProgressTarget,
  print: (u: ProgressUpdate, m: { rate: number; eta: number }) => void,
): Progress {
  let lastBucket = -1;
  let last: ProgressUpdate | undefined;
  let printed: ProgressUpdate | undefined;
  const show = (u: ProgressUpdate) => {
    print(u, measure(target, u));
    printed = u;
  };
  return {
    update(u) {
      last = u;
      const bucket = Math.floor(measure(target, u).fraction * 20);
      if (u.stepsThisRun === 1 || bucket > lastBucket) {
        lastBucket = bucket;
        show(u);
      }
    },
    stop() {
      if (last && last !== printed) show(last);
    },
  };
}
