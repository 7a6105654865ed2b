/**
 * Times the thin image convolutions of the VQ-VAE / conv VAE (wasm backend + native kernels):
 * the decoder's last 3×3 conv 16 → 1 at 28×28 (forward, input gradient, filter gradient) and
 * the encoder's first 3×3 stride-2 conv 1 → 16 (forward, filter gradient), batch 128. Prints one
 * JSON object: per kernel the median and best ms of `reps` calls (nothing read back: kernels on
 * wasm run synchronously), and the MACs it does.
 *
 *   pnpm --filter @sculpt/bench thin-conv [--reps=60]
 */
import os from 'node:os';
import '@tensorflow/tfjs-layers';
import { initBackend } from '@sculpt/backend';
import { Rng } from '@sculpt/core';
import { registerNativeKernels } from '@sculpt/native';
import * as tf from '@tensorflow/tfjs-core';

const reps = Number(process.argv.find((a) => a.startsWith('--reps='))?.slice(7) ?? 60);

interface Case {
  name: string;
  macs: number;
  run: () => tf.Tensor;
}

/** Median and best ms of `reps` calls after 5 warm-up calls. */
function time(run: () => tf.Tensor): { ms: number; bestMs: number } {
  const once = (): number => {
    const t0 = performance.now();
    run().dispose();
    return performance.now() - t0;
  };
  for (let i = 0; i < 5; i++) once();
  const ms = Array.from({ length: reps }, once).sort((a, b) => a - b);
  const round = (x: number) => Number(x.toFixed(3));
  return { ms: round(ms[Math.floor(reps / 2)] as number), bestMs: round(ms[0] as number) };
}

/** dw of conv(x, ·) at `dy`, through the kernel the gradient calls. */
function filterGrad(x: tf.Tensor4D, dy: tf.Tensor4D, filterShape: number[], stride: number) {
  const attrs = { strides: stride, pad: 'same', dataFormat: 'NHWC', filterShape };
  return tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, attrs as never) as tf.Tensor;
}

function cases(rng: Rng): { cases: Case[]; tensors: tf.Tensor[] } {
  const x16 = rng.normal([128, 28, 28, 16]) as tf.Tensor4D; // decoder's last conv input
  const w16 = rng.normal([3, 3, 16, 1]) as tf.Tensor4D;
  const dy1 = rng.normal([128, 28, 28, 1]) as tf.Tensor4D;
  const x1 = rng.normal([128, 28, 28, 1]) as tf.Tensor4D; // encoder's first conv input
  const w1 = rng.normal([3, 3, 1, 16]) as tf.Tensor4D;
  const dy16 = rng.normal([128, 14, 14, 16]) as tf.Tensor4D;
  const last = 128 * 28 * 28 * 9 * 16;
  const first = 128 * 14 * 14 * 9 * 16;
  return {
    tensors: [x16, w16, dy1, x1, w1, dy16],
    cases: [
      { name: 'last 16→1 forward', macs: last, run: () => tf.conv2d(x16, w16, 1, 'same') },
      {
        name: 'last 16→1 input grad',
        macs: last,
        run: () => tf.conv2dTranspose(dy1, w16, [128, 28, 28, 16], 1, 'same'),
      },
      {
        name: 'last 16→1 filter grad',
        macs: last,
        run: () => filterGrad(x16, dy1, [3, 3, 16, 1], 1),
      },
      { name: 'first 1→16 s2 forward', macs: first, run: () => tf.conv2d(x1, w1, 2, 'same') },
      {
        name: 'first 1→16 s2 filter grad',
        macs: first,
        run: () => filterGrad(x1, dy16, [3, 3, 1, 16], 2),
      },
    ],
  };
}

async function main(): Promise<void> {
  await initBackend('wasm');
  const info = registerNativeKernels({ threads: os.cpus().length });
  const { cases: list, tensors } = cases(new Rng(0));
  const results: Record<string, { ms: number; bestMs: number; gmacs: number }> = {};
  for (const c of list) {
    const t = time(c.run);
    results[c.name] = { ...t, gmacs: Number((c.macs / (t.ms * 1e6)).toFixed(1)) };
  }
  tf.dispose(tensors);
  const total = Object.values(results).reduce((s, r) => s + r.ms, 0);
  const report = {
    threads: info.threads,
    reps,
    results,
    totalMs: Number(total.toFixed(3)),
    loadAverage: os.loadavg().map((x) => Number(x.toFixed(2))),
  };
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
}

await main();
