/**
 * Runs PyTorch's and sculpt's benchmarks back to back on this machine and
 * prints one Markdown table of the results and their ratios.
 *
 *   pnpm --filter @sculpt/bench compare [--quick] [--rounds=3] [--only=gpt,vae] [--json=out.json]
 *   pnpm --filter @sculpt/bench compare --from=sculpt.json,torch.json   # join saved outputs
 *
 * PyTorch runs through /usr/bin/python3 (Debian's python3-torch) with 2
 * threads and with 1 (on a busy machine its OpenMP threads can lose to one
 * thread); without python3-torch the torch columns say so. "best" is the
 * faster setting of each side; "best sculpt ÷ best PyTorch" is a time ratio
 * (below 1.5 meets the performance goal), the other ratios say how many times
 * faster sculpt is.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Result } from './result.js';

interface ModeReport {
  mode?: string;
  threads?: number;
  error?: string;
  results?: Record<string, Result>;
}
interface SculptReport {
  loadAverage?: number[];
  modes: Record<string, ModeReport>;
}
interface TorchReport extends ModeReport {
  torch?: string;
  blas?: string[];
  loadAverage?: number[];
}

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const flag = (name: string): string | undefined =>
  args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const passOn = args.filter((a) => a === '--quick' || a.startsWith('--only='));
const PYTHON = process.env.SCULPT_BENCH_PYTHON ?? '/usr/bin/python3';

function runTorch(threads: number): TorchReport {
  if (!existsSync(PYTHON)) return { error: `${PYTHON} not found (apt install python3-torch)` };
  try {
    const script = join(here, '..', 'torch_bench.py');
    const out = execFileSync(PYTHON, [script, `--threads=${threads}`, ...passOn], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      maxBuffer: 1 << 26,
    });
    return JSON.parse(out) as TorchReport;
  } catch (e) {
    const text = e instanceof Error ? e.message : String(e);
    return {
      error: text.includes('No module named')
        ? 'python3-torch is not installed'
        : text.split('\n')[0],
    };
  }
}

function runSculpt(extra: string[] = []): SculptReport {
  const out = execFileSync(
    process.execPath,
    [...process.execArgv, join(here, 'run.ts'), ...passOn, ...extra],
    {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
      maxBuffer: 1 << 26,
    },
  );
  return JSON.parse(out) as SculptReport;
}

const fmt = (ms: number | undefined): string =>
  ms === undefined ? '—' : ms >= 100 ? ms.toFixed(0) : ms >= 10 ? ms.toFixed(1) : ms.toFixed(2);

/** A cell for one workload in one column: ms (and GFLOP/s), or why there is none. */
function cell(result: Result | undefined, missing: string): string {
  if (!result) return missing;
  if (result.error) return `fails (${result.error.slice(0, 60)})`;
  if (result.imagesPerSecond !== undefined) return `${result.imagesPerSecond} img/s`;
  const gflops = result.gflops !== undefined ? ` (${result.gflops} GFLOP/s)` : '';
  return `${fmt(result.msPerStep)}${gflops}`;
}

function ratio(numerator: Result | undefined, denominator: Result | undefined): string {
  const a = numerator?.msPerStep;
  const b = denominator?.msPerStep;
  if (a === undefined || b === undefined || numerator?.error || denominator?.error) return '—';
  return `${(a / b).toFixed(2)}×`;
}

/** sculpt's fastest configuration for one workload (native or wasm, 1 or 2 threads). */
function bestSculpt(sculpt: SculptReport, name: string): Result | undefined {
  const col = (m: string) => sculpt.modes[m]?.results?.[name];
  return best(best(col('native'), col('native-1t')), best(col('sculpt'), col('sculpt-1t')));
}

/** The faster of two results (by median). */
function best(a: Result | undefined, b: Result | undefined): Result | undefined {
  if (a?.msPerStep === undefined || a.error) return b;
  if (b?.msPerStep === undefined || b.error) return a;
  return a.msPerStep <= b.msPerStep ? a : b;
}

interface Reports {
  sculpt: SculptReport;
  torch: TorchReport;
  torch1: TorchReport;
}

function table({ sculpt, torch, torch1 }: Reports): string {
  const col = (mode: string) => sculpt.modes[mode]?.results ?? {};
  const names = [
    ...new Set([
      ...Object.keys(col('native')),
      ...Object.keys(col('sculpt')),
      ...Object.keys(torch.results ?? {}),
    ]),
  ];
  const threads = (mode: string) => sculpt.modes[mode]?.threads ?? '?';
  const missing = (t: TorchReport) => (t.error ? `n/a (${t.error})` : 'not run');
  const lines = [
    `| workload | PyTorch ${torch.torch ?? ''} (${torch.threads ?? 2} thr) | PyTorch (1 thr) | sculpt native (${threads('native')} thr) | sculpt native (1 thr) | sculpt wasm (${threads('sculpt')} thr) | sculpt wasm (1 thr) | tfjs+fill | tfjs | best sculpt ÷ best PyTorch (time) | tfjs+fill ÷ best sculpt | native 1 thr ÷ ${threads('native')} thr |`,
    '|---|---|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const name of names) {
    const [n, n1] = [col('native')[name], col('native-1t')[name]];
    const [s, s1] = [col('sculpt')[name], col('sculpt-1t')[name]];
    const [t, t1] = [torch.results?.[name], torch1.results?.[name]];
    const fill = col('tfjs+fill')[name];
    const cells = [
      cell(t, missing(torch)),
      cell(t1, missing(torch1)),
      cell(n, '—'),
      cell(n1, '—'),
      cell(s, '—'),
      cell(s1, '—'),
      cell(fill, '—'),
      cell(col('tfjs')[name], '—'),
      ratio(bestSculpt(sculpt, name), best(t, t1)),
      ratio(fill, bestSculpt(sculpt, name)),
      ratio(n1, n),
    ];
    lines.push(`| ${name} | ${cells.join(' | ')} |`);
  }
  const load = (l?: number[]) => (l ? l.join(' / ') : '?');
  lines.push(
    '',
    `ms per train step (matMul: per product): medians of ${args.includes('--quick') ? '2 (quick)' : '10'} steps after warm-up${Number(flag('rounds') ?? 1) > 1 ? `, then the median of ${flag('rounds')} rounds` : ''}. ` +
      `sculpt ÷ PyTorch < 1.5: within the issue's goal; other ratios > 1: sculpt is faster. Machine: ${os.cpus().length}× ${os.cpus()[0]?.model ?? 'CPU'}; ` +
      `load averages (1/5/15 min) after PyTorch 2 thr ${load(torch.loadAverage)}, 1 thr ${load(torch1.loadAverage)}, ` +
      `sculpt ${load(sculpt.loadAverage)} (a shared machine: other processes compete for both cores).`,
  );
  const blas = torch.blas?.find((b) => b.includes('libopenblas')) ?? torch.blas?.[0];
  if (torch.blas) lines.push(`PyTorch BLAS: ${blas ?? 'none found'}.`);
  return lines.join('\n');
}

/** The result whose median is the median of the rounds' (the lower one for an even count). */
function medianResult(results: (Result | undefined)[]): Result | undefined {
  const ok = results.filter((r): r is Result => r?.msPerStep !== undefined && !r.error);
  if (ok.length === 0) return results.find((r) => r !== undefined);
  const sorted = [...ok].sort((a, b) => (a.msPerStep as number) - (b.msPerStep as number));
  const mid = sorted[Math.floor((sorted.length - 1) / 2)];
  return { ...mid, rounds: ok.map((r) => r.msPerStep as number) };
}

function mergeModes<T extends ModeReport>(reports: T[]): T {
  const names = [...new Set(reports.flatMap((r) => Object.keys(r.results ?? {})))];
  const results: Record<string, Result> = {};
  for (const name of names) {
    const merged = medianResult(reports.map((r) => r.results?.[name]));
    if (merged) results[name] = merged;
  }
  return { ...reports[0], results };
}

/**
 * Rounds of PyTorch (2 and 1 threads) then sculpt, one after the other, so a
 * machine whose speed drifts slows both sides alike; each cell is the median
 * of the rounds' medians. Round 1 runs every sculpt configuration, later
 * rounds only the native ones (the others are 3–30× slower and not close).
 */
function runRounds(rounds: number): Reports & { perRound: Reports[] } {
  const perRound: Reports[] = [];
  for (let r = 0; r < rounds; r++) {
    if (rounds > 1) process.stderr.write(`[bench:compare] round ${r + 1} of ${rounds}\n`);
    const torch = runTorch(2);
    const torch1 = runTorch(1);
    const sculpt = runSculpt(r === 0 ? [] : ['--modes=native,native-1t']);
    perRound.push({ torch, torch1, sculpt });
  }
  const modes = [...new Set(perRound.flatMap((p) => Object.keys(p.sculpt.modes)))];
  const sculpt: SculptReport = {
    loadAverage: perRound.at(-1)?.sculpt.loadAverage,
    modes: Object.fromEntries(
      modes.map((m) => [
        m,
        mergeModes(perRound.map((p) => p.sculpt.modes[m]).filter((x) => x !== undefined)),
      ]),
    ),
  };
  return {
    torch: mergeModes(perRound.map((p) => p.torch)),
    torch1: mergeModes(perRound.map((p) => p.torch1)),
    sculpt,
    perRound,
  };
}

/** Per round: best sculpt ÷ best PyTorch for each workload. */
function roundRatios(perRound: Reports[]): string {
  const names = Object.keys(perRound[0]?.sculpt.modes.native?.results ?? {});
  const parts = names.map((name) => {
    const ratios = perRound.map((p) => {
      return ratio(
        bestSculpt(p.sculpt, name),
        best(p.torch.results?.[name], p.torch1.results?.[name]),
      );
    });
    return `${name} ${ratios.join(', ')}`;
  });
  return `Best sculpt ÷ best PyTorch in each round: ${parts.join('; ')}.`;
}

function main(): void {
  const from = flag('from');
  let reports: Reports;
  if (from) {
    // --from=sculpt.json,torch.json[,torch1.json]: join saved outputs.
    const [sculptFile, torchFile, torch1File] = from.split(',');
    const read = <T>(file: string | undefined, fallback: T): T =>
      file ? (JSON.parse(readFileSync(file, 'utf8')) as T) : fallback;
    reports = {
      sculpt: read<SculptReport>(sculptFile, { modes: {} }),
      torch: read<TorchReport>(torchFile, { error: 'no file given' }),
      torch1: read<TorchReport>(torch1File, { error: 'no file given' }),
    };
  } else {
    // PyTorch first in each round (its threads suffer most from a busy machine), then sculpt.
    reports = runRounds(Math.max(1, Number(flag('rounds') ?? 1)));
  }
  const json = flag('json');
  if (json) writeFileSync(json, `${JSON.stringify(reports, null, 2)}\n`);
  process.stdout.write(`${table(reports)}\n`);
  const perRound = (reports as { perRound?: Reports[] }).perRound;
  if (perRound && perRound.length > 1) process.stdout.write(`${roundRatios(perRound)}\n`);
}

main();
