// The fault harness: runs a family's smoke training through the real `sculpt`
// binary and breaks it — SIGKILL at a random moment (training or saving),
// SIGINT, a read-only folder, a full disk — then checks what a user would:
// `--resume` ends bit-identical to an uninterrupted run, Ctrl-C exits 130,
// and a refused write gives one clear line, exit 2, and the previous
// checkpoint untouched.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { join, resolve } from 'node:path';
import { loadCheckpoint, type Rng } from '@sculpt/core';
import * as tf from '@tensorflow/tfjs-core';
import type { FamilyAdapter } from '../../src/family.js';

/** The built binary. */
export const BIN = resolve(new URL('../../dist/bin.js', import.meta.url).pathname);

/** How a `sculpt` process ended. */
export interface Exit {
  status: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
  ms: number;
}

/** When to stop a run: once its log holds `steps` steps, plus `jitterMs` (a moment inside a step or a save). */
export interface KillAt {
  log: string;
  steps: number;
  jitterMs: number;
  signal: NodeJS.Signals;
}

function loggedSteps(log: string): number {
  if (!existsSync(log)) return 0;
  return readFileSync(log, 'utf8')
    .split('\n')
    .filter((l) => l.includes('"loss"')).length;
}

async function stopWhen(child: ChildProcess, at: KillAt, exited: () => boolean): Promise<void> {
  while (!exited() && loggedSteps(at.log) < at.steps) await new Promise((w) => setTimeout(w, 2));
  await new Promise((w) => setTimeout(w, at.jitterMs));
  if (!exited()) child.kill(at.signal);
}

/** Runs `sculpt args…`; with `killAt`, sends its signal at that moment. */
export function sculpt(
  args: string[],
  options: { cwd: string; killAt?: KillAt } = { cwd: '.' },
): Promise<Exit> {
  const t0 = performance.now();
  const child: ChildProcess = spawn(process.execPath, [BIN, ...args], {
    cwd: options.cwd,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (d) => {
    stderr += String(d);
  });
  let closed = false;
  const result = new Promise<Exit>((done) =>
    child.on('close', (status, signal) => {
      closed = true;
      done({ status, signal, stderr, ms: performance.now() - t0 });
    }),
  );
  const at = options.killAt;
  if (at) void stopWhen(child, { ...at, log: resolve(options.cwd, at.log) }, () => closed);
  return result;
}

/** The smoke run's `sculpt train` arguments (preset, data and batch from `family.smoke`), writing to `out`. */
export function trainArgs(
  family: FamilyAdapter,
  out: string,
  options: { steps: number; checkpointEvery?: number; sampleEvery?: number },
): string[] {
  const { preset, data, batchSize } = family.smoke;
  const { steps, checkpointEvery = 2, sampleEvery = 0 } = options;
  const flags = {
    preset,
    data,
    batch: batchSize,
    steps,
    'checkpoint-every': checkpointEvery,
    'sample-every': sampleEvery,
    out,
  };
  return [
    'train',
    family.name,
    ...Object.entries(flags).flatMap(([k, v]) => [`--${k}`, String(v)]),
  ];
}

/** The run's saved tensors as bytes, by name (undefined when no checkpoint loads). */
export async function savedTensors(runDir: string): Promise<Map<string, Uint8Array> | undefined> {
  const dir = join(runDir, 'checkpoint');
  if (!existsSync(dir)) return undefined;
  const { tensors } = await loadCheckpoint(dir);
  const out = new Map<string, Uint8Array>();
  for (const [k, t] of Object.entries(tensors).sort(([a], [b]) => (a < b ? -1 : 1))) {
    const v = await t.data();
    out.set(k, new Uint8Array(v.buffer, v.byteOffset, v.byteLength).slice());
  }
  tf.dispose(Object.values(tensors));
  return out;
}

/** Names of tensors that differ between two runs' checkpoints ([] = bit-identical). */
export function differences(
  a: Map<string, Uint8Array>,
  b: Map<string, Uint8Array> | undefined,
): string[] {
  if (!b) return ['<no checkpoint>'];
  const names = new Set([...a.keys(), ...b.keys()]);
  return [...names].filter((n) => {
    const [x, y] = [a.get(n), b.get(n)];
    return !x || !y || x.length !== y.length || x.some((v, i) => v !== y[i]);
  });
}

/** What one kill trial saw. */
export interface KillTrial {
  /** Killed once this many steps were logged, plus `jitterMs`. */
  afterStep: number;
  jitterMs: number;
  /** Whether a checkpoint existed after the kill, and whether it loaded. */
  checkpointAfterKill: 'none' | 'loaded' | 'corrupt';
  /** Whether the kill landed inside a save (the save's temporary folder was left behind). */
  midSave: boolean;
  /** Killed between the save's two renames: only the previous checkpoint's `.old` folder remained. */
  onlyOld: boolean;
  resumes: number;
  identical: boolean;
  differing: string[];
}

/** Kills a run with SIGKILL at `moment`, resumes to the end, and compares with `reference`. */
export async function killTrial(
  family: FamilyAdapter,
  cwd: string,
  out: string,
  steps: number,
  moment: { afterStep: number; jitterMs: number },
  reference: Map<string, Uint8Array>,
): Promise<KillTrial> {
  rmSync(join(cwd, out), { recursive: true, force: true });
  const killAt: KillAt = {
    log: join(out, 'log.jsonl'),
    steps: moment.afterStep,
    jitterMs: moment.jitterMs,
    signal: 'SIGKILL',
  };
  await sculpt(trainArgs(family, out, { steps }), { cwd, killAt });
  let after: KillTrial['checkpointAfterKill'] = 'none';
  if (existsSync(join(cwd, out, 'checkpoint')))
    after = await savedTensors(join(cwd, out)).then(
      () => 'loaded' as const,
      () => 'corrupt' as const,
    );
  const run = join(cwd, out);
  const leftovers = existsSync(run)
    ? readdirSync(run).filter((n) => n.startsWith('.checkpoint.tmp-'))
    : [];
  const onlyOld = !existsSync(join(run, 'checkpoint')) && leftovers.some((n) => n.endsWith('.old'));
  let resumes = 0;
  let last: Exit | undefined;
  const lost: string[] = [];
  for (; resumes < 3 && last?.status !== 0; resumes++) {
    // A previous checkpoint kept only as `.old` must resume too (core's loader falls back to it).
    const resumable =
      existsSync(join(run, 'checkpoint', 'checkpoint.json')) || (onlyOld && resumes === 0);
    if (!resumable) rmSync(run, { recursive: true, force: true });
    last = await sculpt(
      resumable
        ? ['train', family.name, '--out', out, '--resume']
        : trainArgs(family, out, { steps }),
      { cwd },
    );
    if (onlyOld && resumes === 0 && last.status !== 0)
      lost.push(`the .old checkpoint did not resume: ${last.stderr.trim().split('\n').pop()}`);
  }
  const differing =
    last?.status === 0
      ? [...lost, ...differences(reference, await savedTensors(run))]
      : [`exit ${last?.status}: ${last?.stderr.trim().split('\n').pop()}`];
  return {
    ...moment,
    checkpointAfterKill: after,
    midSave: leftovers.length > 0,
    onlyOld,
    resumes,
    identical: differing.length === 0,
    differing,
  };
}

/** Stops a run with SIGINT once it has logged a few steps; returns the exit status and whether a resume matches. */
export async function interruptTrial(
  family: FamilyAdapter,
  cwd: string,
  out: string,
  steps: number,
  reference: Map<string, Uint8Array>,
): Promise<{ status: number | null; identical: boolean }> {
  rmSync(join(cwd, out), { recursive: true, force: true });
  const killAt: KillAt = { log: join(out, 'log.jsonl'), steps: 3, jitterMs: 0, signal: 'SIGINT' };
  const stopped = await sculpt(trainArgs(family, out, { steps }), { cwd, killAt });
  const resumed = await sculpt(['train', family.name, '--out', out, '--resume'], { cwd });
  const identical =
    resumed.status === 0 && differences(reference, await savedTensors(join(cwd, out))).length === 0;
  return { status: stopped.status, identical };
}

/** Whether this process may mount a tmpfs (root on Linux). */
export function canMount(dir: string): boolean {
  mkdirSync(dir, { recursive: true });
  const ok = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', dir]).status === 0;
  if (ok) spawnSync('umount', [dir]);
  return ok;
}

/** What a refused write did. */
export interface DiskTrial {
  fault: 'read-only' | 'full';
  status: number | null;
  /** The last line on stderr. */
  line: string;
  linesOnStderr: number;
  checkpointUntouched: boolean;
}

function checkpointBytes(runDir: string): Buffer {
  return Buffer.concat(
    ['checkpoint.json', 'weights.safetensors'].map((f) =>
      readFileSync(join(runDir, 'checkpoint', f)),
    ),
  );
}

/** Copies a finished run onto a small tmpfs, makes it read-only or full, and asks for more steps. */
export async function diskTrial(
  family: FamilyAdapter,
  mountDir: string,
  finishedRun: string,
  steps: number,
  fault: DiskTrial['fault'],
): Promise<DiskTrial> {
  mkdirSync(mountDir, { recursive: true });
  const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=8m', 'tmpfs', mountDir]);
  if (mounted.status !== 0) throw new Error(`mount failed: ${mounted.stderr}`);
  try {
    const run = join(mountDir, 'run');
    cpSync(finishedRun, run, { recursive: true });
    const before = checkpointBytes(run);
    if (fault === 'read-only') spawnSync('mount', ['-o', 'remount,ro', mountDir]);
    else fill(join(mountDir, 'filler'));
    // --quiet: progress and notes stay off stderr, so what is left is the error alone.
    const exit = await sculpt(
      ['train', family.name, '--out', run, '--resume', '--steps', String(steps + 4), '--quiet'],
      { cwd: mountDir },
    );
    const lines = exit.stderr.trim().split('\n').filter(Boolean);
    return {
      fault,
      status: exit.status,
      line: lines.at(-1) ?? '',
      linesOnStderr: lines.length,
      checkpointUntouched: checkpointBytes(run).equals(before),
    };
  } finally {
    spawnSync('umount', [mountDir]);
  }
}

/** Writes zeros to `path` until the file system is full. */
function fill(path: string): void {
  // Large chunks first, then smaller ones, so not even a small file still fits.
  for (const n of [64 * 1024, 4096, 512, 1]) {
    try {
      for (;;) writeFileSync(path, Buffer.alloc(n), { flag: 'a' });
    } catch {
      // ENOSPC: this chunk size no longer fits.
    }
  }
}

/** A random moment of a run of `steps` steps: after a logged step in `[0, steps)`, plus up to 40 ms (inside a step or a save). */
export function randomMoment(rng: Rng, steps: number): { afterStep: number; jitterMs: number } {
  const [u, v] = rng.uniformArray(2);
  return { afterStep: Math.floor(u * steps), jitterMs: Math.round(v * 400) / 10 };
}
