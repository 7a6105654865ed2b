/**
 * The limit for matMul 512 on this machine: builds `sgemm/sgemm.c` (OpenBLAS's
 * sgemm called straight from C, with the optimisation flags and the OpenBLAS
 * that @sculpt/native's binding.gyp uses) with the system's C compiler, runs
 * it on 1 and 2 threads, then times sculpt's matMul 512 (wasm backend +
 * native kernels on every core) and prints one JSON object with both and
 * their ratio (best of `reps` calls, and medians).
 *
 *   pnpm --filter @sculpt/bench sgemm [--reps=50]
 *
 * Each is measured twice: with OPENBLAS_CORETYPE as the environment sets it,
 * and with the variable removed (OpenBLAS then picks its kernels for the CPU
 * it detects), each in its own process since OpenBLAS reads it once at load.
 * Tests and CI leave the variable as the machine sets it.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import '@tensorflow/tfjs-layers';
import { initBackend } from '@sculpt/backend';
import { Rng } from '@sculpt/core';
import { registerNativeKernels } from '@sculpt/native';
import * as tf from '@tensorflow/tfjs-core';

interface SgemmLine {
  n: number;
  threads: number;
  ms: number;
  gflops: number;
  bestMs: number;
  bestGflops: number;
  core: string;
}

interface Timing {
  ms: number;
  gflops: number;
  bestMs: number;
  bestGflops: number;
}

const script = fileURLToPath(import.meta.url);
const here = dirname(script);
const reps = Number(process.argv.find((a) => a.startsWith('--reps='))?.slice(7) ?? 50);
const FLOPS = 2 * 512 ** 3;
const gflops = (ms: number): number => Number((FLOPS / (ms * 1e6)).toFixed(1));

/** The environment without the OpenBLAS pin. */
function unpinned(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.OPENBLAS_CORETYPE;
  return env;
}

/** Compiles the C harness once; returns its path and a cleanup. */
function buildHarness(): { bin: string; cleanup: () => void } {
  const dir = mkdtempSync(join(os.tmpdir(), 'sculpt-sgemm-'));
  const bin = join(dir, 'sgemm');
  const flags = ['-O3', '-fno-math-errno', '-fno-trapping-math'];
  execFileSync('cc', [...flags, '-o', bin, join(here, '..', 'sgemm', 'sgemm.c'), '-lopenblas']);
  return { bin, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Runs the harness; one parsed line per thread count. */
function runHarness(bin: string, env: NodeJS.ProcessEnv): SgemmLine[] {
  const out = execFileSync(bin, ['512', String(reps)], { encoding: 'utf8', env });
  return out
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as SgemmLine);
}

/**
 * sculpt's matMul 512 (wasm + native kernels). Kernels on wasm run synchronously, so the product is
 * done when `tf.matMul` returns; like the C harness, nothing is read back (a 1 MB `dataSync` costs
 * ~0.07 ms at best but ~3 ms at the median: a new ArrayBuffer per read).
 */
async function timeSculpt(): Promise<Timing> {
  await initBackend('wasm');
  registerNativeKernels({ threads: os.cpus().length });
  const rng = new Rng(0);
  const a = rng.normal([512, 512]);
  const b = rng.normal([512, 512]);
  const once = (): number => {
    const t0 = performance.now();
    tf.matMul(a, b).dispose();
    return performance.now() - t0;
  };
  for (let i = 0; i < 5; i++) once();
  const ms: number[] = [];
  for (let i = 0; i < reps; i++) ms.push(once());
  tf.dispose([a, b]);
  ms.sort((x, y) => x - y);
  const median = ms[Math.floor(reps / 2)] as number;
  const best = ms[0] as number;
  return { ms: median, gflops: gflops(median), bestMs: best, bestGflops: gflops(best) };
}

/** sculpt's timing in a fresh process with `env` (OpenBLAS reads its variables at load). */
function sculptIn(env: NodeJS.ProcessEnv): Timing {
  const args = [...process.execArgv, script, '--child', `--reps=${reps}`];
  return JSON.parse(execFileSync(process.execPath, args, { encoding: 'utf8', env })) as Timing;
}

/** Harness and sculpt under one environment; sculpt ÷ the harness's best thread count. */
function measureUnder(bin: string, env: NodeJS.ProcessEnv) {
  const harness = runHarness(bin, env);
  const top = harness.reduce((p, q) => (q.bestGflops > p.bestGflops ? q : p));
  const sculpt = sculptIn(env);
  return {
    core: top.core,
    harness,
    sculpt,
    sculptOfLimitBest: Number((sculpt.bestGflops / top.bestGflops).toFixed(3)),
    sculptOfLimitMedian: Number(
      (sculpt.gflops / Math.max(...harness.map((h) => h.gflops))).toFixed(3),
    ),
  };
}

function main(): void {
  const { bin, cleanup } = buildHarness();
  try {
    const pinned = measureUnder(bin, process.env);
    const free = measureUnder(bin, unpinned());
    const report = {
      openblasCoretype: process.env.OPENBLAS_CORETYPE ?? null,
      reps,
      pinned,
      unpinned: free,
      pinCost: Number(
        (
          Math.max(...free.harness.map((h) => h.bestGflops)) /
          Math.max(...pinned.harness.map((h) => h.bestGflops))
        ).toFixed(2),
      ),
      loadAverage: os.loadavg().map((x) => Number(x.toFixed(2))),
    };
    console.log(JSON.stringify(report, null, 2));
  } finally {
    cleanup();
  }
}

if (process.argv.includes('--child')) console.log(JSON.stringify(await timeSculpt()));
else main();
