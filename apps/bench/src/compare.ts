/**
 * Runs PyTorch's and sculpt's benchmarks in alternating rounds on this machine
 * and prints one Markdown table: every workload, sculpt's best configuration
 * against PyTorch's best thread count, their time ratio, and peak memory.
 *
 *   pnpm --filter @sculpt/bench compare [--quick] [--rounds=3] [--only=gpt,vae] [--all-modes] [--json=out.json]
 *   pnpm --filter @sculpt/bench compare --from=out.json   # print the table of a saved run
 *
 * PyTorch runs through /usr/bin/python3 (Debian's python3-torch) with 2
 * threads and with 1 (on a busy machine its OpenMP threads can lose to one
 * thread); sculpt with @sculpt/native on 2 threads and on 1 (`--all-modes`
 * adds the wasm-only configurations). Round 1 runs every workload in its own
 * process on both sides, so each process's peak RSS is that workload's; later
 * rounds run all workloads of a configuration in one process (speed only).
 * Each time is the median of the rounds' medians.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Result } from './result.js';
import { WORKLOADS } from './workloads.js';

interface ModeReport {
  mode?: string;
  threads?: number;
  torch?: string;
  blas?: string[];
  loadAverage?: number[];
  error?: string;
  results?: Record<string, Result>;
}

/** One round: each configuration's results (PyTorch as `torch-2t`, `torch-1t`). */
type Round = Record<string, ModeReport>;

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const flag = (name: string): string | undefined =>
  args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const quick = args.includes('--quick');
const PYTHON = process.env.SCULPT_BENCH_PYTHON ?? '/usr/bin/python3';
const INFERENCE = ['sampling', 'latentSampling', 'generation'];
const TORCH_MODES = ['torch-2t', 'torch-1t'];
const SCULPT_MODES = args.includes('--all-modes')
  ? ['native', 'native-1t', 'sculpt', 'sculpt-1t']
  : ['native', 'native-1t'];

const errorText = (e: unknown): string =>
  (e instanceof Error ? e.message : String(e)).split('\n')[0].slice(0, 200);

/** PyTorch on `threads` threads, for the workloads in `only`. */
function runTorch(threads: number, only: string[]): ModeReport {
  if (!existsSync(PYTHON)) return { error: `${PYTHON} not found (apt install python3-torch)` };
  try {
    const script = join(here, '..', 'torch_bench.py');
    const flags = [
      `--threads=${threads}`,
      `--only=${only.join(',')}`,
      ...(quick ? ['--quick'] : []),
    ];
    const out = execFileSync(PYTHON, [script, ...flags], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      maxBuffer: 1 << 26,
    });
    return JSON.parse(out) as ModeReport;
  } catch (e) {
    const text = errorText(e);
    return { error: text.includes('No module named') ? 'python3-torch is not installed' : text };
  }
}

/** One sculpt configuration in its own process, for the workloads in `only`. */
function runSculpt(mode: string, only: string[]): ModeReport {
  try {
    const flags = ['--child', mode, `--only=${only.join(',')}`, '--cached-only'];
    if (quick) flags.push('--quick');
    const out = execFileSync(
      process.execPath,
      [...process.execArgv, join(here, 'run.ts'), ...flags],
      {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'inherit'],
        maxBuffer: 1 << 26,
      },
    );
    return JSON.parse(out.trim().split('\n').at(-1) ?? '{}') as ModeReport;
  } catch (e) {
    return { error: errorText(e) };
  }
}

/** Every configuration over `only`, PyTorch first (its threads suffer most from a busy machine). */
function runAll(only: string[]): Round {
  const round: Round = {};
  round['torch-2t'] = runTorch(2, only);
  round['torch-1t'] = runTorch(1, only);
  for (const mode of SCULPT_MODES) round[mode] = runSculpt(mode, only);
  return round;
}

/** Joins per-workload reports of one configuration into one. */
function joinReports(reports: ModeReport[]): ModeReport {
  const results: Record<string, Result> = {};
  for (const r of reports) Object.assign(results, r.results ?? {});
  const withInfo = reports.find((r) => !r.error) ?? reports[0] ?? {};
  return { ...withInfo, results };
}

/** Round 1: each workload in its own processes (peak RSS per workload); later rounds: one process per configuration. */
function runRound(names: string[], isolated: boolean): Round {
  if (!isolated) return runAll(names);
  const parts = names.map((name) => {
    process.stderr.write(`[bench:compare]   ${name}\n`);
    return runAll([name]);
  });
  return Object.fromEntries(
    [...TORCH_MODES, ...SCULPT_MODES].map((m) => [m, joinReports(parts.map((p) => p[m] ?? {}))]),
  );
}

/** Time of one unit of work (ms per step; for throughputs ms per image or token), to compare. */
function cost(r: Result | undefined): number | undefined {
  if (!r || r.error) return undefined;
  if (r.tokensPerSecondCached !== undefined) return 1000 / r.tokensPerSecondCached;
  if (r.imagesPerSecond !== undefined) return 1000 / r.imagesPerSecond;
  return r.msPerStep;
}

/** The configuration with the lowest cost for `name`, and its result. */
function best(round: Round, modes: string[], name: string): [string, Result] | undefined {
  let out: [string, Result] | undefined;
  for (const m of modes) {
    const r = round[m]?.results?.[name];
    const c = cost(r);
    if (r && c !== undefined && (out === undefined || c < (cost(out[1]) as number))) out = [m, r];
  }
  return out;
}

/** The result whose cost is the median of the rounds' (the lower one for an even count). */
function medianResult(results: (Result | undefined)[]): Result | undefined {
  const ok = results.filter((r): r is Result => cost(r) !== undefined);
  if (ok.length === 0) return results.find((r) => r !== undefined);
  const sorted = [...ok].sort((a, b) => (cost(a) as number) - (cost(b) as number));
  const mid = sorted[Math.floor((sorted.length - 1) / 2)];
  // Memory comes from round 1, where each workload had its own process.
  const first = results[0];
  return { ...mid, peakRssMB: first?.peakRssMB, rounds: ok.map((r) => cost(r) as number) };
}

/** The rounds merged: per configuration and workload, the median round. */
function mergeRounds(rounds: Round[], names: string[]): Round {
  const modes = [...TORCH_MODES, ...SCULPT_MODES];
  return Object.fromEntries(
    modes.map((m) => {
      const results: Record<string, Result> = {};
      for (const name of names) {
        const merged = medianResult(rounds.map((r) => r[m]?.results?.[name]));
        if (merged) results[name] = merged;
      }
      return [m, { ...(rounds[0]?.[m] ?? {}), results }];
    }),
  );
}

const fmt = (x: number): string =>
  x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2);

/** A speed cell: ms per step (GFLOP/s), img/s or tokens/s, and the configuration. */
function speedCell(entry: [string, Result] | undefined, missing: string): string {
  if (!entry) return missing;
  const [mode, r] = entry;
  const value =
    r.tokensPerSecondCached !== undefined
      ? `${r.tokensPerSecondCached} tok/s`
      : r.imagesPerSecond !== undefined
        ? `${r.imagesPerSecond} img/s`
        : `${fmt(r.msPerStep as number)} ms${r.gflops !== undefined ? ` (${r.gflops} GFLOP/s)` : ''}`;
  return `${value} (${mode})`;
}

function table(round: Round, names: string[], perRound: Round[]): string {
  const torchMissing = round['torch-2t']?.error ? `n/a (${round['torch-2t'].error})` : 'no twin';
  const lines = [
    `| workload | PyTorch ${round['torch-2t']?.torch ?? ''} (best of 2, 1 thr) | sculpt (best configuration) | sculpt ÷ PyTorch (time) | per round | PyTorch peak RSS | sculpt peak RSS | RSS ratio | sculpt live tensors |`,
    '|---|---|---|---|---|---|---|---|---|',
  ];
  for (const name of names) {
    const t = best(round, TORCH_MODES, name);
    const s = best(round, SCULPT_MODES, name);
    const ct = cost(t?.[1]);
    const cs = cost(s?.[1]);
    const ratio = ct !== undefined && cs !== undefined ? `${(cs / ct).toFixed(2)}×` : '—';
    const each = perRound.map((r) => {
      const [a, b] = [
        cost(best(r, SCULPT_MODES, name)?.[1]),
        cost(best(r, TORCH_MODES, name)?.[1]),
      ];
      return a !== undefined && b !== undefined ? (a / b).toFixed(2) : '—';
    });
    const [mt, ms] = [t?.[1].peakRssMB, s?.[1].peakRssMB];
    const mb = (x: number | undefined) => (x === undefined ? '—' : `${x} MB`);
    const memRatio = mt && ms ? `${(ms / mt).toFixed(2)}×` : '—';
    const tensors = s?.[1].tensorMB !== undefined ? `${s[1].tensorMB} MB` : '—';
    const sculptErr = SCULPT_MODES.map((m) => round[m]?.results?.[name]?.error).find(Boolean);
    const cells = [
      speedCell(t, torchMissing),
      speedCell(s, sculptErr ? `fails (${sculptErr.slice(0, 60)})` : '—'),
      ratio,
      each.join(', '),
      mb(mt),
      mb(ms),
      memRatio,
      tensors,
    ];
    lines.push(`| ${name} | ${cells.join(' | ')} |`);
  }
  const load = (m: string) => round[m]?.loadAverage?.join(' / ') ?? '?';
  const blas = round['torch-2t']?.blas?.find((b) => b.includes('libopenblas'));
  lines.push(
    '',
    `Training: ms per step, median of ${quick ? '2 (quick)' : '10'} steps after warm-up; sampling: images/s (20 DPM++ 2M steps, CFG, batch ${quick ? 16 : 64}); ` +
      `generation: tokens/s (batch 1, 256 new tokens, KV cache)${perRound.length > 1 ? `; each cell the median of ${perRound.length} rounds` : ''}. ` +
      'sculpt ÷ PyTorch is a time ratio (below 1: sculpt is faster; for throughputs, PyTorch ÷ sculpt throughput). ' +
      'Peak RSS: each workload in its own process (round 1). ' +
      `Machine: ${os.cpus().length}× ${os.cpus()[0]?.model ?? 'CPU'}, shared; load averages (1/5/15 min) at the end of PyTorch 2 thr ${load('torch-2t')}, sculpt native ${load('native')}.` +
      (blas ? ` PyTorch BLAS: ${blas}.` : ''),
  );
  return lines.join('\n');
}

function main(): void {
  const from = flag('from');
  const only = flag('only')?.split(',');
  const all = [...WORKLOADS.map((w) => w.name), ...INFERENCE];
  const names = only ? all.filter((n) => only.includes(n)) : all;
  const json = flag('json');
  // Written after every round: a run cut short keeps the rounds it finished.
  const save = (rounds: Round[]) => {
    const report = { date: new Date().toISOString(), perRound: rounds };
    if (json) writeFileSync(json, `${JSON.stringify(report, null, 2)}\n`);
  };
  let perRound: Round[];
  if (from) {
    perRound = (JSON.parse(readFileSync(from, 'utf8')) as { perRound: Round[] }).perRound;
  } else {
    const rounds = Math.max(1, Number(flag('rounds') ?? 1));
    perRound = [];
    for (let r = 0; r < rounds; r++) {
      process.stderr.write(`[bench:compare] round ${r + 1} of ${rounds}\n`);
      perRound.push(runRound(names, r === 0));
      save(perRound);
    }
  }
  process.stdout.write(`${table(mergeRounds(perRound, names), names, perRound)}\n`);
}

main();
