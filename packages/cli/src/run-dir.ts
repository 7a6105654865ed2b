// A run folder, as `sculpt train` writes it:
//
//   <out>/checkpoint/        weights.safetensors + checkpoint.json (core's atomic saveCheckpoint)
//   <out>/log.jsonl          one JSON object per step (and per event)
//   <out>/loss.png           the loss curve
//   <out>/samples/           step-000500.png … (sample grids during training)
//   <out>/samples.png        the latest sample grid
//   <out>/metrics.json       what `sculpt eval` / `sculpt demo` measured
import { existsSync } from 'node:fs';
import { appendFile, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { type Checkpoint, CheckpointError, type JsonValue, loadCheckpoint } from '@sculpt/core';
import { UsageError } from './errors.js';

/** The paths of a run folder. */
export interface RunPaths {
  readonly dir: string;
  readonly checkpoint: string;
  readonly log: string;
  readonly lossPlot: string;
  readonly samplesDir: string;
  readonly latestSamples: string;
  readonly metrics: string;
}

/** The paths inside the run folder `dir`. */
export function runPaths(dir: string): RunPaths {
  const d = resolve(dir);
  return {
    dir: d,
    checkpoint: join(d, 'checkpoint'),
    log: join(d, 'log.jsonl'),
    lossPlot: join(d, 'loss.png'),
    samplesDir: join(d, 'samples'),
    latestSamples: join(d, 'samples.png'),
    metrics: join(d, 'metrics.json'),
  };
}

/** What the CLI stores beside the family's state in every checkpoint (`json.run`). */
export interface RunInfo {
  family: string;
  preset: string;
  data: string;
  seed: number;
  batchSize: number;
  /** The planned total: a step count or a time budget in minutes. */
  target: { steps: number } | { minutes: number };
  /** Training wall time so far, in seconds (summed over resumes). */
  trainSeconds: number;
  /** The tfjs backend that trained it. */
  backend: string;
  /** `--sample-every` of the run (a plain `--resume` keeps it). */
  sampleEvery?: number;
  /** `--checkpoint-every` of the run (a plain `--resume` keeps it). */
  checkpointEvery?: number;
}

/** The checkpoint document the CLI writes: `{ run, model }` plus tensors. */
export interface RunCheckpoint {
  run: RunInfo;
  model: Checkpoint;
}

/**
 * Finds the checkpoint a user named: a run folder (holding `checkpoint/`) or
 * the checkpoint folder itself.
 *
 * @returns `{ checkpointDir, runDir }`.
 * @throws UsageError when neither holds a checkpoint.
 */
export async function locateCheckpoint(
  path: string,
  where: string,
): Promise<{ checkpointDir: string; runDir: string }> {
  const p = resolve(path);
  const isDir = (await stat(p).catch(() => undefined))?.isDirectory() ?? false;
  if (isDir && existsSync(join(p, 'checkpoint.json')))
    return { checkpointDir: p, runDir: dirname(p) };
  if (isDir && existsSync(join(p, 'checkpoint', 'checkpoint.json')))
    return { checkpointDir: join(p, 'checkpoint'), runDir: p };
  throw new UsageError(
    where,
    `expected a run folder or a checkpoint folder at ${p}`,
    isDir ? 'got a folder without checkpoint.json' : 'got nothing there',
    "pass the --out folder of 'sculpt train' (e.g. runs/diffusion-tiny)",
  );
}

/** True when `dir/checkpoint` holds (or an interrupted save left) a checkpoint. */
export async function hasCheckpoint(paths: RunPaths): Promise<boolean> {
  if (existsSync(join(paths.checkpoint, 'checkpoint.json'))) return true;
  const { readdir } = await import('node:fs/promises');
  const names = await readdir(paths.dir).catch(() => [] as string[]);
  return names.some(
    (n) => n.startsWith(`.${basename(paths.checkpoint)}.tmp-`) && n.endsWith('.old'),
  );
}

function isObject(v: JsonValue | undefined): v is { [k: string]: JsonValue } {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** The backend label a run's checkpoint records (read from checkpoint.json, no tensors), if readable. */
export async function storedBackend(paths: RunPaths): Promise<string | undefined> {
  try {
    const text = await readFile(join(paths.checkpoint, 'checkpoint.json'), 'utf8');
    const doc = JSON.parse(text) as { json?: { run?: { backend?: unknown } } };
    const backend = doc.json?.run?.backend;
    return typeof backend === 'string' ? backend : undefined;
  } catch {
    return undefined; // the loader reports a damaged checkpoint with its own message
  }
}

/**
 * Loads a checkpoint written by `sculpt train` and checks the CLI's part of it.
 *
 * @returns the run info and the family's `{ tensors, json }` (the caller owns the tensors).
 * @throws CheckpointError for a corrupt or foreign checkpoint.
 */
export async function readRunCheckpoint(checkpointDir: string): Promise<RunCheckpoint> {
  const { tensors, json } = await loadCheckpoint(checkpointDir);
  const run = isObject(json) ? json.run : undefined;
  const ok =
    isObject(run) &&
    typeof run.family === 'string' &&
    typeof run.preset === 'string' &&
    typeof run.data === 'string' &&
    typeof run.seed === 'number' &&
    typeof run.batchSize === 'number' &&
    isObject(run.target) &&
    isObject(json) &&
    'model' in json;
  if (!ok) {
    const { dispose } = await import('@tensorflow/tfjs-core');
    dispose(Object.values(tensors));
    throw new CheckpointError(
      'sculpt',
      `a checkpoint written by 'sculpt train' in ${checkpointDir}`,
      'got one without its run information',
      'train it with sculpt train, or load it with loadCheckpoint from @sculpt/core',
    );
  }
  const r = run as unknown as RunInfo;
  return {
    run: {
      ...r,
      trainSeconds: typeof r.trainSeconds === 'number' ? r.trainSeconds : 0,
      backend: String(r.backend ?? ''),
    },
    model: { tensors, json: (json as { model: JsonValue }).model },
  };
}

/** One line of log.jsonl. */
export type LogRecord = { [key: string]: JsonValue };

/** Appends records to log.jsonl (one JSON object per line). */
export async function appendLog(paths: RunPaths, record: LogRecord): Promise<void> {
  await appendFile(paths.log, `${JSON.stringify(record)}\n`);
}

/** The records of log.jsonl (unparsable lines, e.g. a line cut by a crash, are skipped). */
export async function readLog(paths: RunPaths): Promise<LogRecord[]> {
  const text = await readFile(paths.log, 'utf8').catch(() => '');
  const out: LogRecord[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    try {
      const v = JSON.parse(line) as JsonValue;
      if (isObject(v)) out.push(v);
    } catch {
      // a partial last line from a killed process
    }
  }
  return out;
}

/**
 * Drops log records past `step` (written after the last checkpoint by a run
 * that was killed), so a resumed run's log reads as one uninterrupted run.
 */
export async function truncateLog(paths: RunPaths, step: number): Promise<void> {
  const kept = (await readLog(paths)).filter((r) => typeof r.step !== 'number' || r.step <= step);
  await writeFile(paths.log, kept.map((r) => `${JSON.stringify(r)}\n`).join(''));
}

/** Creates the run folder and its samples folder. */
export async function makeRunDirs(paths: RunPaths): Promise<void> {
  await mkdir(paths.samplesDir, { recursive: true });
}
