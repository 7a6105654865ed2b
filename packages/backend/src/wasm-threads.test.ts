import '@tensorflow/tfjs-core/dist/register_all_gradients';
import { execFileSync } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { BackendError } from '@sculpt/core';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { type BackendInfo, initBackend } from './init.js';

const here = fileURLToPath(new URL('.', import.meta.url));
const cpus = availableParallelism();

/**
 * A fixed workload on deterministic inputs (no RNG, so another process builds
 * the same tensors): a matMul larger than XNNPACK's per-thread tile, a strided
 * conv, and a matMul with `transposeA` (as in every matMul gradient). Returns every value, flattened.
 * The same source runs in a child process on tfjs's own (single-threaded) wasm.
 */
const WORKLOAD = `
(tf) => {
  const fill = (shape, k) => {
    const n = shape.reduce((a, b) => a * b, 1);
    const v = new Float32Array(n);
    for (let i = 0; i < n; i++) v[i] = Math.sin(0.37 * i + k) * Math.cos(0.011 * i);
    return tf.tensor(v, shape);
  };
  return tf.tidy(() => {
    const a = fill([192, 160], 1), b = fill([160, 144], 2);
    const x = fill([4, 17, 17, 8], 3), w = fill([3, 3, 8, 16], 4);
    const mm = tf.matMul(a, b);
    const conv = tf.conv2d(x, w, 2, 'same');
    const tA = tf.matMul(a, fill([192, 112], 5), true, false); // a matMul gradient's shape of call
    return [mm, conv, tA].map((t) => Array.from(t.dataSync()));
  });
}`;

/** Indirect eval: the workloads are fixed source strings shared with a child process. */
// biome-ignore lint/security/noGlobalEval: fixed strings written in this file, not input
const evaluate = globalThis.eval;

/**
 * Four Adam steps of a conv → conv (stride 2) → dense net on fixed inputs
 * (conv gradients, transposed matMuls, reductions: sculpt's wasm kernels);
 * returns the losses and the final weights. Runs here and in a child process.
 */
const TRAIN_TINY = `
(tf) => {
  const fill = (shape, k, scale) => {
    const n = shape.reduce((a, b) => a * b, 1);
    const v = new Float32Array(n);
    for (let i = 0; i < n; i++) v[i] = scale * Math.sin(0.61 * i + k);
    return tf.tensor(v, shape);
  };
  const x = fill([8, 12, 12, 2], 1, 1), target = fill([8, 3], 2, 1);
  const w1 = tf.variable(fill([3, 3, 2, 8], 3, 0.3)), w2 = tf.variable(fill([3, 3, 8, 16], 4, 0.1));
  const w3 = tf.variable(fill([6 * 6 * 16, 3], 5, 0.05)), b3 = tf.variable(tf.zeros([3]));
  const opt = tf.train.adam(0.01);
  const losses = [];
  for (let step = 0; step < 4; step++) {
    const loss = opt.minimize(() => {
      const h1 = tf.relu(tf.conv2d(x, w1, 1, 'same'));
      const h2 = tf.relu(tf.conv2d(h1, w2, 2, 'same'));
      const y = tf.add(tf.matMul(tf.reshape(h2, [8, 6 * 6 * 16]), w3), b3);
      return tf.mean(tf.square(tf.sub(y, target)));
    }, true, [w1, w2, w3, b3]);
    losses.push(loss.dataSync()[0]);
    loss.dispose();
  }
  const weights = [w1, w2, w3, b3].flatMap((w) => Array.from(w.dataSync()));
  tf.dispose([x, target, w1, w2, w3, b3]);
  opt.dispose();
  return { losses, weights };
}`;

const trainTiny = evaluate(TRAIN_TINY) as (t: typeof tf) => {
  losses: number[];
  weights: number[];
};

const workload = evaluate(WORKLOAD) as (t: typeof tf) => number[][];

/** Runs `script` (an ES module) in a fresh Node process from this package; returns its stdout. */
function runNode(script: string, timeoutMs = 60_000, nodeOptions: string[] = []): string {
  return execFileSync(process.execPath, [...nodeOptions, '--input-type=module', '-e', script], {
    cwd: here,
    encoding: 'utf8',
    timeout: timeoutMs,
    maxBuffer: 1 << 26,
  });
}

/** The workload on tfjs's wasm backend as shipped in Node: single-threaded SIMD. */
function singleThreadReference(): number[][] {
  const out = runNode(`
    import { createRequire } from 'node:module';
    const require = createRequire(${JSON.stringify(`${here}`)});
    const tf = require('@tensorflow/tfjs-core');
    const wasm = require('@tensorflow/tfjs-backend-wasm');
    await tf.setBackend('wasm');
    if (wasm.getThreadsCount() !== 1) throw new Error('reference is not single-threaded');
    process.stdout.write(JSON.stringify((${WORKLOAD})(tf)));
  `);
  return JSON.parse(out) as number[][];
}

describe.skipIf(cpus < 2)('initBackend wasm threads in Node', () => {
  let info: BackendInfo;
  beforeAll(async () => {
    info = await initBackend('wasm', { threads: 2 });
  });

  it('starts the threaded SIMD build with 2 XNNPACK threads', () => {
    expect(info).toMatchObject({ name: 'wasm', simd: true, threads: 2 });
    expect(tf.getBackend()).toBe('wasm');
  });

  it('gives the same numbers as the single-threaded build (matMul, conv2d, transposed matMul)', () => {
    const threaded = workload(tf);
    const reference = singleThreadReference();
    expect(threaded.map((v) => v.length)).toEqual(reference.map((v) => v.length));
    for (let k = 0; k < reference.length; k++) {
      let worst = 0;
      for (let i = 0; i < reference[k].length; i++) {
        const scale = Math.max(1, Math.abs(reference[k][i]));
        worst = Math.max(worst, Math.abs(threaded[k][i] - reference[k][i]) / scale);
      }
      expect(worst).toBeLessThan(1e-5);
    }
  });

  it('trains a small conv net to the same losses and weights as one thread (sculpt kernels both sides)', () => {
    const threaded = trainTiny(tf);
    const out = runNode(
      `
      import { createRequire } from 'node:module';
      const require = createRequire(${JSON.stringify(here)});
      const tf = require('@tensorflow/tfjs-core');
      require('@tensorflow/tfjs-layers'); // registers tfjs-core's gradients in Node
      const { initBackend } = await import(${JSON.stringify(`${here}init.ts`)});
      const info = await initBackend('wasm');
      if (info.threads !== 1) throw new Error('reference is not single-threaded');
      process.stdout.write(JSON.stringify((${TRAIN_TINY})(tf)));
    `,
      60_000,
      ['--import', 'tsx'],
    );
    const single = JSON.parse(out) as { losses: number[]; weights: number[] };
    expect(threaded.losses.length).toBe(4);
    threaded.losses.forEach((loss, i) => expect(loss).toBeCloseTo(single.losses[i], 5));
    const worst = Math.max(...threaded.weights.map((w, i) => Math.abs(w - single.weights[i])));
    expect(worst).toBeLessThan(1e-5);
  });

  it('does not keep Node alive: a threaded process exits on its own', () => {
    const started = Date.now();
    const out = runNode(
      `
      import { createRequire } from 'node:module';
      const require = createRequire(${JSON.stringify(`${here}`)});
      const { initBackend } = await import(${JSON.stringify(`${here}init.ts`)});
      const info = await initBackend('wasm', { threads: 2 });
      const y = require('@tensorflow/tfjs-core').matMul([[1, 2]], [[3], [4]]);
      process.stdout.write(JSON.stringify({ threads: info.threads, y: Array.from(y.dataSync()) }));
    `,
      30_000,
      ['--import', 'tsx'],
    );
    expect(JSON.parse(out)).toEqual({ threads: 2, y: [11] });
    expect(Date.now() - started).toBeLessThan(30_000);
  });
});

describe('initBackend threads option', () => {
  it('rejects a thread count that is not a positive integer', async () => {
    await expect(initBackend('wasm', { threads: 0 })).rejects.toThrow(BackendError);
    await expect(initBackend('wasm', { threads: 1.5 })).rejects.toThrow(
      "initBackend: threads must be a positive integer or 'auto', got 1.5.",
    );
  });
});
