// `sculpt export` through the real built executable: a DCGAN trained for two
// steps on MNIST exports its generator alone, and GanGenerator draws from the
// file exactly what the run's EMA generator draws.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-layers'; // registers tfjs-core's gradients (the Node build ships none)
import { initBackend } from '@sculpt/backend';
import { GanGenerator, GanTrainer } from '@sculpt/gan';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, runBinCountingTensors } from './testing/run-bin.js';

let root: string;
const sculpt = (...args: string[]) => runBinCountingTensors(root, args);

beforeAll(async () => {
  if (!existsSync(BIN))
    execFileSync('npx', ['tsup'], { cwd: resolve(__dirname, '..'), stdio: 'ignore' });
  await initBackend('cpu');
  root = mkdtempSync(join(tmpdir(), 'sculpt-export-'));
  const t = sculpt(
    'train',
    'gan',
    '--preset',
    'tiny',
    '--steps',
    '2',
    '--batch',
    '4',
    '--sample-every',
    '0',
    '--out',
    'run',
  );
  expect(t.status, t.stderr).toBe(0);
});

afterAll(() => {
  if (root) rmSync(root, { recursive: true, force: true });
});

describe('sculpt export (built binary)', () => {
  it("writes the generator alone: GanGenerator draws the run's EMA samples exactly", async () => {
    const r = sculpt('export', 'run', '--out', 'web/g.safetensors');
    expect(r.status, r.stderr).toBe(0);
    expect(r.live).toBe(0);
    const file = join(root, 'web', 'g.safetensors');
    expect(r.stdout).toContain(file);
    const weights = statSync(join(root, 'run', 'checkpoint', 'weights.safetensors')).size;
    expect(statSync(file).size).toBeLessThan(weights / 2); // no D, no Adam moments, no EMA copy
    const g = GanGenerator.fromBytes(new Uint8Array(readFileSync(file)));
    const { model, trainer } = await GanTrainer.resume(join(root, 'run', 'checkpoint'));
    const labels = g.numClasses > 0 ? [0, 1, 2, 3] : undefined;
    const expected = await trainer.withEma(() => model.sample({ numSamples: 4, labels, seed: 5 }));
    const got = g.sample({ numSamples: 4, labels, seed: 5 });
    expect(Array.from(got.dataSync())).toEqual(Array.from(expected.dataSync()));
    tf.dispose([expected, got]);
    g.dispose();
    trainer.dispose();
    model.dispose();
  });

  it('writes <run>/generator.safetensors by default', () => {
    const r = sculpt('export', 'run');
    expect(r.status, r.stderr).toBe(0);
    expect(existsSync(join(root, 'run', 'generator.safetensors'))).toBe(true);
  });
});
