/**
 * sculpt's train-step benchmark on the wasm backend, in six configurations:
 *
 *   native     initBackend('wasm') + registerNativeKernels() from @sculpt/native:
 *              matMuls and convolutions in OpenBLAS on every core, the rest on wasm
 *   native-1t  the same with OpenBLAS on one thread
 *   sculpt     initBackend('wasm', { threads: 'auto' }): sculpt's kernels, both cores
 *   sculpt-1t  initBackend('wasm'): sculpt's kernels, one thread (what threads add)
 *   tfjs       tf.setBackend('wasm') as shipped (conv and embedding training throw)
 *   tfjs+fill  as shipped plus only the kernels wasm lacks (Conv2DBackpropFilter,
 *              UnsortedSegmentSum), so every model trains at tfjs's own speed
 *
 * Each configuration runs in its own process (kernels and threads are global).
 * Prints one JSON object: ms per step (median of 10 after 3 warm-up steps,
 * and the fastest step; `--quick`: 2 after 1, without tfjs+fill), GFLOP/s
 * where it applies, memory (live tensor MB, peak RSS, the wasm heap, tensors leaked), and
 * with `--profile` the kernels that take the time in
 * one sculpt step of each workload.
 *
 *   pnpm --filter @sculpt/bench start [--quick] [--profile [--top=N]] [--modes=sculpt,tfjs] [--only=gpt,vae] [--unfused[=adamUpdate,…]] [--cached-only] [--malloc-default] [--no-avx512] [--tfjs-adam]
 *
 * `--unfused` leaves out sculpt's fused kernels (native LayerNorm, GELU, GroupNorm and
 * the Adam update) to measure what they gain, `--unfused=adamUpdate` (keys of
 * `FUSED_KERNELS`, comma-separated) only those named; `--cached-only` times generation with the KV cache
 * only; `--malloc-default` registers the native kernels with
 * `keepFreedMemory: false` (glibc's default allocator settings), to measure
 * what keeping freed memory gains; `--no-avx512` keeps every product on
 * OpenBLAS (`avx512: false`), to measure sculpt's AVX-512 sgemm; `--tfjs-adam` trains sculpt's modes with
 * tfjs's `tf.train.adam` (as plain tfjs's modes do) instead of sculpt's
 * `adam()`/`adamW()`.
 */
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import '@tensorflow/tfjs-layers'; // registers tfjs-core's gradients in Node
import { initBackend, registerWasmKernelsSubset } from '@sculpt/backend';
import { FUSED_KERNELS, Rng } from '@sculpt/core';
import { registerNativeKernels } from '@sculpt/native';
import { generationTokensPerSecond, type ProfileInfo, profileGeneration } from './generation.js';
import { latentSamplingImagesPerSecond } from './latent-workloads.js';
import { useAdam } from './optim.js';
import type { Result } from './result.js';
import { samplingImagesPerSecond } from './sampling.js';
import { WORKLOADS, type Workload } from './workloads.js';

export const MODES = ['native', 'native-1t', 'sculpt', 'sculpt-1t', 'tfjs', 'tfjs+fill'] as const;
export type Mode = (typeof MODES)[number];

const args = process.argv.slice(2);
const flag = (name: string): string | undefined =>
  args.find((a) => a.startsWith(`--${name}=`))?.split('=')[1];
const quick = args.includes('--quick');
const profile = args.includes('--profile');
const profileTop = Number(flag('top') ?? 15);
const warmup = quick ? 1 : 3;
const iterations = quick ? 2 : 10;

const round = (x: number, digits = 2): number => Number(x.toFixed(digits));

function median(sorted: number[]): number {
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** The wasm backend's memory, MB: it grows to the largest step so far and never shrinks (undefined off wasm). */
function wasmHeapMB(): number | undefined {
  const wasm = (tf.backend() as unknown as { wasm?: { HEAPU8?: Uint8Array } }).wasm;
  return wasm?.HEAPU8 ? Math.round(wasm.HEAPU8.buffer.byteLength / 2 ** 20) : undefined;
}

/** Times `workload`: warm-up steps, then `iterations` timed steps, each ending with a read-back. */
function measure(workload: Workload, rng: Rng): Result {
  const tensorsBefore = tf.memory().numTensors;
  const session = workload.build(rng);
  const runStep = (): void => {
    const out = session.step();
    out.dataSync();
    out.dispose();
  };
  let result: Result;
  try {
    for (let i = 0; i < warmup; i++) runStep();
    const samples: number[] = [];
    const reps = workload.flops ? iterations * 3 : iterations; // matMul: a few ms each
    for (let i = 0; i < reps; i++) {
      const start = performance.now();
      runStep();
      samples.push(performance.now() - start);
    }
    samples.sort((a, b) => a - b);
    const ms = median(samples);
    result = {
      msPerStep: round(ms, 3),
      minMs: round(samples[0], 3),
      samples: samples.map((s) => round(s, 2)),
    };
    if (workload.flops) result.gflops = round(workload.flops / (ms * 1e6), 1);
    result.tensorMB = round(tf.memory().numBytes / 2 ** 20, 1);
    result.peakRssMB = Math.round(process.resourceUsage().maxRSS / 1024);
    const heap = wasmHeapMB();
    if (heap !== undefined) result.wasmHeapMB = heap;
  } finally {
    session.dispose();
  }
  result.leakedTensors = tf.memory().numTensors - tensorsBefore;
  return result;
}

/**
 * Kernel times (ms) of one profiled call (divided by `per`: e.g. per token),
 * summed by kernel name and input shapes, largest first (top 15), with the
 * number of kernel calls (`--top=N` keeps N). sculpt's kernels built from other ops count their
 * inner kernels too (e.g. Conv2DBackpropInput includes the Conv2Ds it runs).
 */
function summarize(info: ProfileInfo, per = 1): Record<string, number> {
  const byKernel = new Map<string, number>();
  let total = 0;
  for (const k of info.kernels) {
    const ms = typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0;
    const key = `${k.name} ${JSON.stringify(k.inputShapes)}`;
    byKernel.set(key, (byKernel.get(key) ?? 0) + ms);
    total += ms;
  }
  const top = [...byKernel.entries()].sort((a, b) => b[1] - a[1]).slice(0, profileTop);
  return Object.fromEntries([
    ['(kernel calls)', round(info.kernels.length / per, 1)],
    ['(all kernels, nested counted twice)', round(total / per, 2)],
    ...top.map(([n, ms]) => [n, round(ms / per, 2)]),
  ]);
}

/** The kernels of one step of `workload` (after one warm-up step). */
async function profileStep(workload: Workload, rng: Rng): Promise<Record<string, number>> {
  const session = workload.build(rng);
  try {
    session.step().dispose(); // warm
    const info = await tf.profile(() => {
      const out = session.step();
      out.dataSync();
      return out;
    });
    tf.dispose(info.result as tf.Tensor);
    return summarize(info);
  } finally {
    session.dispose();
  }
}

/** The fused kernels `--unfused` (all) or `--unfused=adamUpdate,gelu` (those keys) leaves out. */
function unfusedKernels(): string[] {
  if (args.includes('--unfused')) return Object.values(FUSED_KERNELS);
  const keys = flag('unfused')?.split(',') ?? [];
  for (const key of keys)
    if (!(key in FUSED_KERNELS))
      throw new Error(`--unfused=${key}: not one of ${Object.keys(FUSED_KERNELS)}`);
  return keys.map((key) => FUSED_KERNELS[key as keyof typeof FUSED_KERNELS]);
}

async function startBackend(mode: Mode): Promise<Record<string, unknown>> {
  // sculpt's modes train with sculpt's adam()/adamW() (fused where registered), plain tfjs with tf.train.adam.
  useAdam(mode.startsWith('tfjs') || args.includes('--tfjs-adam') ? 'tfjs' : 'sculpt');
  if (mode === 'native' || mode === 'native-1t') {
    const info = await initBackend('wasm');
    const native = registerNativeKernels({
      threads: mode === 'native' ? os.cpus().length : 1,
      keepFreedMemory: !args.includes('--malloc-default'),
      avx512: !args.includes('--no-avx512'),
    });
    // --unfused: without sculpt's fused kernels (what they gain, measured against this).
    for (const name of unfusedKernels()) tf.unregisterKernel(name, 'wasm');
    return {
      backend: info.name,
      threads: native.threads,
      blas: native.core,
      simd: info.simd,
      keepsFreedMemory: native.keepsFreedMemory,
      avx512Gemm: native.avx512Gemm,
    };
  }
  if (mode === 'sculpt' || mode === 'sculpt-1t') {
    const info = await initBackend('wasm', mode === 'sculpt' ? { threads: 'auto' } : {});
    return { backend: info.name, threads: info.threads, simd: info.simd };
  }
  if (mode === 'tfjs+fill') {
    // Only the kernels wasm lacks: tfjs's own speed everywhere else.
    registerWasmKernelsSubset({ only: ['Conv2DBackpropFilter', 'UnsortedSegmentSum'] });
  }
  await tf.setBackend('wasm');
  const wasm = (await import('@tensorflow/tfjs-backend-wasm')) as { getThreadsCount(): number };
  return { backend: tf.getBackend(), threads: wasm.getThreadsCount() };
}

const errorText = (e: unknown): string =>
  (e instanceof Error ? e.message : String(e)).split('\n')[0].slice(0, 200);

async function child(mode: Mode): Promise<void> {
  const backend = await startBackend(mode);
  const only = flag('only')?.split(',');
  const results: Record<string, Result> = {};
  for (const workload of WORKLOADS) {
    if (only && !only.includes(workload.name)) continue;
    try {
      results[workload.name] = measure(workload, new Rng(0));
      if (profile && !mode.startsWith('tfjs'))
        results[workload.name].profile = await profileStep(workload, new Rng(0));
    } catch (e) {
      results[workload.name] = { error: errorText(e) };
    }
  }
  const sampling = mode === 'sculpt' || mode === 'native' || (!quick && !mode.startsWith('tfjs'));
  if (sampling && (!only || only.includes('sampling'))) {
    try {
      results.sampling = await samplingImagesPerSecond({ quick });
    } catch (e) {
      results.sampling = { error: errorText(e) };
    }
  }
  if (sampling && (!only || only.includes('latentSampling'))) {
    try {
      results.latentSampling = await latentSamplingImagesPerSecond({ quick });
    } catch (e) {
      results.latentSampling = { error: errorText(e) };
    }
  }
  if (sampling && (!only || only.includes('generation'))) {
    try {
      results.generation = await generationTokensPerSecond({
        quick,
        cachedOnly: args.includes('--cached-only'),
      });
      if (profile && !mode.startsWith('tfjs')) {
        const { info, tokens } = await profileGeneration();
        results.generation.profile = summarize(info, tokens);
      }
    } catch (e) {
      results.generation = { error: errorText(e) };
    }
  }
  // Peak RSS of this process so far: per workload when the caller runs one workload per process (--only=NAME).
  const peakRssMB = Math.round(process.resourceUsage().maxRSS / 1024);
  for (const name of ['sampling', 'latentSampling', 'generation']) {
    const r = results[name];
    if (r && !r.error) r.peakRssMB = peakRssMB;
  }
  const loadAverage = os.loadavg().map((l) => round(l, 2));
  process.stdout.write(`${JSON.stringify({ mode, ...backend, loadAverage, results })}\n`);
}

function main(): void {
  const script = fileURLToPath(import.meta.url);
  // --quick (CI) skips tfjs+fill: it only has to show that the benchmark runs, in ~2 minutes.
  const modes =
    (flag('modes')?.split(',') as Mode[] | undefined) ??
    MODES.filter((m) => !(quick && m === 'tfjs+fill'));
  const passOn = args.filter(
    (a) =>
      [
        '--quick',
        '--profile',
        '--unfused',
        '--cached-only',
        '--malloc-default',
        '--no-avx512',
        '--tfjs-adam',
      ].includes(a) ||
      a.startsWith('--only=') ||
      a.startsWith('--unfused=') ||
      a.startsWith('--top='),
  );
  const byMode: Record<string, unknown> = {};
  for (const mode of modes) {
    try {
      const out = execFileSync(
        process.execPath,
        [...process.execArgv, script, '--child', mode, ...passOn],
        {
          encoding: 'utf8',
          stdio: ['ignore', 'pipe', 'inherit'],
          maxBuffer: 1 << 26,
        },
      );
      const line = out.trim().split('\n').at(-1) ?? '{}';
      byMode[mode] = JSON.parse(line);
    } catch (e) {
      byMode[mode] = { error: errorText(e) };
    }
  }
  const report = {
    tool: 'sculpt',
    date: new Date().toISOString(),
    node: process.version,
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model,
    loadAverage: os.loadavg().map((l) => round(l, 2)),
    quick,
    warmup,
    iterations,
    modes: byMode,
  };
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
}

const childIndex = args.indexOf('--child');
if (childIndex >= 0) await child(args[childIndex + 1] as Mode);
else main();
