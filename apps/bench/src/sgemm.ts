/**
 * The limit for matMul 512 on this machine: builds `sgemm/sgemm.c` (OpenBLAS's
 * sgemm called straight from C, the same library @sculpt/native links) with
 * the system's C compiler, runs it on 1 and 2 threads, then times sculpt's
 * matMul512 workload (native kernels) in this process and prints one JSON
 * object with both and their ratio.
 *
 *   pnpm --filter @sculpt/bench sgemm [--reps=50]
 *
 * Run it once as the environment sets OPENBLAS_CORETYPE and once with it
 * unset (`env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE …`) to see what the
 * pinned kernel costs; tests and CI leave the variable as the machine sets it.
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
  core: string;
}

const here = dirname(fileURLToPath(import.meta.url));
const reps = Number(process.argv.find((a) => a.startsWith('--reps='))?.slice(7) ?? 50);

/** Compiles and runs the C harness; one parsed line per thread count. */
function runHarness(): SgemmLine[] {
  const dir = mkdtempSync(join(os.tmpdir(), 'sculpt-sgemm-'));
  try {
    const bin = join(dir, 'sgemm');
    execFileSync('cc', ['-O2', '-o', bin, join(here, '..', 'sgemm', 'sgemm.c'), '-lopenblas']);
    const out = execFileSync(bin, ['512', String(reps)], { encoding: 'utf8' });
    return out
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as SgemmLine);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Median ms of sculpt's matMul 512 (wasm + native kernels), each read back with `dataSync` as the bench's steps are. */
async function timeSculpt(): Promise<number> {
  await initBackend('wasm');
  registerNativeKernels({ threads: os.cpus().length });
  const rng = new Rng(0);
  const a = rng.normal([512, 512]);
  const b = rng.normal([512, 512]);
  const once = (): number => {
    const t0 = performance.now();
    const c = tf.matMul(a, b);
    c.dataSync();
    c.dispose();
    return performance.now() - t0;
  };
  for (let i = 0; i < 5; i++) once();
  const ms: number[] = [];
  for (let i = 0; i < reps; i++) ms.push(once());
  tf.dispose([a, b]);
  return ms.sort((x, y) => x - y)[Math.floor(reps / 2)] as number;
}

const harness = runHarness();
const best = harness.reduce((p, q) => (q.ms < p.ms ? q : p));
const sculptMs = await timeSculpt();
const sculptGflops = (2 * 512 ** 3) / (sculptMs * 1e6);
console.log(
  JSON.stringify(
    {
      openblasCoretype: process.env.OPENBLAS_CORETYPE ?? null,
      harness,
      sculpt: { ms: sculptMs, gflops: Number(sculptGflops.toFixed(1)) },
      sculptOfLimit: Number((sculptGflops / best.gflops).toFixed(3)),
      loadAverage: os.loadavg().map((x) => Number(x.toFixed(2))),
    },
    null,
    2,
  ),
);
