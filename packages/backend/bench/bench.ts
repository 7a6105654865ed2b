/**
 * @sculpt/core benchmark: what sculpt's wasm kernels buy.
 *
 *   pnpm --filter @sculpt/core run bench            # median of 10 after warm-up
 *   pnpm --filter @sculpt/core run bench --quick    # 2 iterations (CI)
 *
 * Prints one JSON object. Each configuration runs in its own child process,
 * because kernels are registered globally:
 *   - `sculpt`:  registerWasmKernels() (all of sculpt's kernels);
 *   - `fillOnly`: only the kernels wasm lacks (Conv2DBackpropFilter,
 *                 UnsortedSegmentSum): the shipped, slow Conv2DBackpropInput
 *                 and transposed matMuls, so their speed-up is visible;
 *   - `plain`:   tfjs-backend-wasm as shipped (conv training throws).
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import { Rng } from '@sculpt/core';
import * as tfl from '@tensorflow/tfjs-layers'; // also registers tfjs-core's gradients in Node
import { registerWasmKernelsSubset } from '../src/wasm-kernels/index.js';

type Mode = 'sculpt' | 'fillOnly' | 'plain';
const MODES: readonly Mode[] = ['sculpt', 'fillOnly', 'plain'];

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const iterations = quick ? 2 : 10;
const warmup = quick ? 1 : 2;

/** Median wall time (ms) of `fn` over `iterations` runs after `warmup` runs. */
function medianMs(fn: () => void): number {
  for (let i = 0; i < warmup; i++) fn();
  const times: number[] = [];
  for (let i = 0; i < iterations; i++) {
    const start = performance.now();
    fn();
    times.push(performance.now() - start);
  }
  times.sort((a, b) => a - b);
  const mid = Math.floor(times.length / 2);
  return times.length % 2 ? times[mid] : (times[mid - 1] + times[mid]) / 2;
}

/** Runs `fn` (which returns tensors) and reads one value back, so the timing includes the work. */
function timed(fn: () => tf.Tensor | tf.Tensor[]): number {
  return medianMs(() => {
    const out = tf.tidy(fn);
    const outs = Array.isArray(out) ? out : [out];
    outs.forEach((t) => t.dataSync());
    tf.dispose(outs);
  });
}

const round = (x: number, digits = 2): number => Number(x.toFixed(digits));

/** Square matMul throughput in GFLOP/s (2·n³ flops), optionally with a transpose flag set. */
function matMulGflops(rng: Rng, n: number, transposeA: boolean, transposeB: boolean): number {
  const a = rng.normal([n, n]);
  const b = rng.normal([n, n]);
  const ms = timed(() => tf.matMul(a, b, transposeA, transposeB));
  tf.dispose([a, b]);
  return round((2 * n ** 3) / (ms * 1e6));
}

/** The DCGAN of the brief: generator dense→7·7·128, convT 128→64→1; discriminator conv 1→64→128, dense→1. */
function dcgan(): { generator: tfl.Sequential; discriminator: tfl.Sequential } {
  const generator = tfl.sequential({
    layers: [
      tfl.layers.dense({ inputShape: [100], units: 7 * 7 * 128, activation: 'relu' }),
      tfl.layers.reshape({ targetShape: [7, 7, 128] }),
      tfl.layers.conv2dTranspose({
        filters: 64,
        kernelSize: 4,
        strides: 2,
        padding: 'same',
        activation: 'relu',
      }),
      tfl.layers.conv2dTranspose({
        filters: 1,
        kernelSize: 4,
        strides: 2,
        padding: 'same',
        activation: 'tanh',
      }),
    ],
  });
  const discriminator = tfl.sequential({
    layers: [
      tfl.layers.conv2d({
        inputShape: [28, 28, 1],
        filters: 64,
        kernelSize: 4,
        strides: 2,
        padding: 'same',
      }),
      tfl.layers.leakyReLU({ alpha: 0.2 }),
      tfl.layers.conv2d({ filters: 128, kernelSize: 4, strides: 2, padding: 'same' }),
      tfl.layers.leakyReLU({ alpha: 0.2 }),
      tfl.layers.flatten(),
      tfl.layers.dense({ units: 1 }),
    ],
  });
  return { generator, discriminator };
}

/** Median ms of one DCGAN train step (one D step + one G step, non-saturating loss, Adam) at `batch`. */
function dcganStepMs(rng: Rng, batch: number): number {
  const { generator, discriminator } = dcgan();
  const optD = tf.train.adam(2e-4, 0.5);
  const optG = tf.train.adam(2e-4, 0.5);
  const varsD = discriminator.trainableWeights.map((w) => w.read() as tf.Variable);
  const varsG = generator.trainableWeights.map((w) => w.read() as tf.Variable);
  const real = rng.uniform([batch, 28, 28, 1], { min: -1, max: 1 });
  const D = (x: tf.Tensor) => discriminator.apply(x) as tf.Tensor;
  const G = (z: tf.Tensor) => generator.apply(z) as tf.Tensor;
  const step = (): void => {
    const z = rng.normal([batch, 100]);
    // Non-saturating GAN: L_D = softplus(−D(x)) + softplus(D(G(z))), L_G = softplus(−D(G(z))).
    const lossD = optD.minimize(
      () =>
        tf.add(tf.mean(tf.softplus(tf.neg(D(real)))), tf.mean(tf.softplus(D(G(z))))) as tf.Scalar,
      true,
      varsD,
    );
    const lossG = optG.minimize(
      () => tf.mean(tf.softplus(tf.neg(D(G(z))))) as tf.Scalar,
      true,
      varsG,
    );
    const losses = [lossD, lossG].filter((l): l is tf.Scalar => l !== null);
    losses.forEach((l) => l.dataSync());
    tf.dispose([z, ...losses]);
  };
  try {
    return round(medianMs(step), 1);
  } finally {
    tf.dispose(real);
    optD.dispose();
    optG.dispose();
    generator.dispose();
    discriminator.dispose();
  }
}

/** Median ms of Conv2DBackpropInput (= conv2dTranspose forward) at the DCGAN generator's shapes, batch 64. */
function conv2dTransposeMs(rng: Rng): Record<string, number> {
  const shapes: [string, number[], number[], [number, number, number, number]][] = [
    ['7x7x128->14x14x64', [64, 7, 7, 128], [4, 4, 64, 128], [64, 14, 14, 64]],
    ['14x14x64->28x28x1', [64, 14, 14, 64], [4, 4, 1, 64], [64, 28, 28, 1]],
  ];
  const result: Record<string, number> = {};
  for (const [name, xShape, wShape, outShape] of shapes) {
    const x = rng.normal(xShape) as tf.Tensor4D;
    const w = rng.normal(wShape) as tf.Tensor4D;
    result[name] = round(timed(() => tf.conv2dTranspose(x, w, outShape, 2, 'same')));
    tf.dispose([x, w]);
  }
  return result;
}

/** Measures everything under one kernel configuration; errors are reported, not thrown. */
async function child(mode: Mode): Promise<Record<string, unknown>> {
  if (mode === 'sculpt') registerWasmKernelsSubset();
  if (mode === 'fillOnly')
    registerWasmKernelsSubset({ only: ['Conv2DBackpropFilter', 'UnsortedSegmentSum'] });
  await tf.setBackend('wasm');
  const rng = new Rng(0);
  const attempt = <T>(fn: () => T): T | { error: string } => {
    try {
      return fn();
    } catch (error) {
      return { error: error instanceof Error ? error.message.split('\n')[0] : String(error) };
    }
  };
  return {
    matMul512Gflops: attempt(() => matMulGflops(rng, 512, false, false)),
    matMul512TransposeAGflops: attempt(() => matMulGflops(rng, 512, true, false)),
    matMul512TransposeBGflops: attempt(() => matMulGflops(rng, 512, false, true)),
    conv2dTransposeMs: attempt(() => conv2dTransposeMs(rng)),
    dcganStepMsBatch64: attempt(() => dcganStepMs(rng, 64)),
  };
}

/** Runs each mode in a child process (same tsx loader) and prints one JSON object. */
function main(): void {
  const script = fileURLToPath(import.meta.url);
  const results: Record<string, unknown> = {};
  for (const mode of MODES) {
    const out = execFileSync(
      process.execPath,
      [...process.execArgv, script, '--child', mode, ...(quick ? ['--quick'] : [])],
      {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
        maxBuffer: 1 << 24,
      },
    );
    const line = out
      .trim()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .pop();
    results[mode] = line ? JSON.parse(line) : { error: 'no output' };
  }
  const speedup = (key: string): number | null => {
    const get = (mode: Mode) => (results[mode] as Record<string, unknown>)[key];
    const [fast, slow] = [get('sculpt'), get('fillOnly')];
    return typeof fast === 'number' && typeof slow === 'number' ? round(slow / fast) : null;
  };
  const report = {
    backend: 'wasm',
    tfjs: tf.version_core,
    node: process.version,
    iterations,
    warmup,
    quick,
    ...results,
    dcganStepSpeedupVsFillOnly: speedup('dcganStepMsBatch64'),
  };
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
}

const childIndex = args.indexOf('--child');
if (childIndex >= 0) {
  const mode = args[childIndex + 1] as Mode;
  const result = await child(mode);
  process.stdout.write(`${JSON.stringify(result)}\n`);
} else {
  main();
}
