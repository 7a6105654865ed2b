// `sculpt translate` through the real built executable: a CycleGAN trained
// for two steps on MNIST translates held-out digits and a folder of PNGs both
// ways into grids of inputs over outputs; bad input ends as one line, status 2.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import '@tensorflow/tfjs-backend-cpu';
import { initBackend } from '@sculpt/backend';
import { decodePng, encodePng, Rng } from '@sculpt/core';
import type * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const PKG = resolve(__dirname, '..');
const BIN = join(PKG, 'dist', 'bin.js');
let root: string;

function sculpt(...args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    cwd: root,
    encoding: 'utf8',
    timeout: 240_000,
    env: { ...process.env, SCULPT_REPORT_TENSORS: '1' },
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Height and width of a written PNG. */
function pngSize(file: string): [number, number] {
  const image = decodePng(new Uint8Array(readFileSync(file)));
  const [h, w] = image.shape;
  image.dispose();
  return [h, w];
}

/** The side of a grid of `n` cells of 28 px with 2 px padding. */
const side = (n: number) => n * 28 + (n + 1) * 2;

beforeAll(async () => {
  if (!existsSync(BIN)) execFileSync('npx', ['tsup'], { cwd: PKG, stdio: 'ignore' });
  await initBackend('cpu');
  root = mkdtempSync(join(tmpdir(), 'sculpt-translate-'));
  const folder = (name: string, size: number) => {
    mkdirSync(join(root, name));
    return Promise.all(
      [0, 1, 2].map(async (i) => {
        const image = new Rng(i).uniform([size, size, 1]) as tf.Tensor3D;
        writeFileSync(join(root, name, `${i}.png`), await encodePng(image));
        image.dispose();
      }),
    );
  };
  await folder('pngs', 28);
  await folder('small', 8);
  const t = sculpt(
    'train',
    'gan',
    '--preset',
    'cyclegan-digits',
    '--steps',
    '2',
    '--batch',
    '2',
    '--sample-every',
    '0',
    '--out',
    'cycle',
  );
  expect(t.status, t.stderr).toBe(0);
});

afterAll(() => {
  if (root) rmSync(root, { recursive: true, force: true });
});

describe('sculpt translate (built binary)', () => {
  it('translates held-out digits both ways: inputs over outputs, 10 per row, leak-free', () => {
    for (const direction of ['AtoB', 'BtoA']) {
      const r = sculpt('translate', 'cycle', '--direction', direction, '--n', '12');
      expect(r.status, r.stderr).toBe(0);
      expect(r.stderr).toMatch(/sculpt: 0 live tensors/);
      const file = join(root, 'cycle', 'translate', `translate-${direction}.png`);
      expect(r.stdout).toContain(file);
      expect(pngSize(file)).toEqual([side(4), side(10)]); // 2 × (input row, output row)
    }
  });

  it('translates a folder of PNGs into --out', () => {
    const r = sculpt('translate', 'cycle', '--in', 'pngs', '--out', 'mine');
    expect(r.status, r.stderr).toBe(0);
    expect(pngSize(join(root, 'mine', 'translate-AtoB.png'))).toEqual([side(2), side(3)]);
  });

  it('evaluates the two translation metrics', () => {
    const r = sculpt('eval', 'cycle', '--n', '30');
    expect(r.status, r.stderr).toBe(0);
    const m = JSON.parse(r.stdout) as Record<string, number> & {
      reference: Record<string, number>;
    };
    expect(m.heldOut).toBe(30);
    expect(m.aToBPixelError).toBeGreaterThan(0);
    expect(m.aToBPixelError).toBeLessThan(1);
    expect(m.bToAAccuracy).toBeGreaterThanOrEqual(0);
    expect(m.reference.accuracyOfHeldOutA).toBeGreaterThan(0.9);
  });

  it('refuses bad input with one line and status 2', () => {
    const bad = [
      [['translate', 'cycle', '--direction', 'CtoD'], /direction must be AtoB or BtoA/],
      [['translate', 'cycle', '--in', 'small'], /expected 28×28×1 images.*8×8×1.*Fix: /],
      [['translate', 'cycle', '--in', 'nope'], /folder of PNG images.*got nothing there/],
      [['sample', 'cycle'], /CycleGAN.*sculpt translate/],
      [['export', 'cycle'], /GAN that samples from noise.*cyclegan-digits.*Fix: /],
    ] as const;
    for (const [args, pattern] of bad) {
      const r = sculpt(...args);
      expect(r.status, r.stderr).toBe(2);
      expect(
        r.stderr
          .trim()
          .split('\n')
          .filter((l) => !l.startsWith('sculpt: 0 live')),
      ).toHaveLength(1);
      expect(r.stderr).toMatch(pattern);
    }
  });
});
