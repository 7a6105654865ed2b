// The VQ-VAE presets of the vae family through the real built `sculpt` binary:
// train tiny-vq on MNIST, resume it, evaluate (class accuracy of held-out
// reconstructions, codes used) and sample, leaving no tfjs tensor alive.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const BIN = join(resolve(__dirname, '..', '..'), 'dist', 'bin.js');
let root: string;

function sculpt(...args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    cwd: root,
    encoding: 'utf8',
    timeout: 240_000,
    env: { ...process.env, SCULPT_REPORT_TENSORS: '1' },
  });
  const live = /sculpt: (\d+) live tensors/.exec(r.stderr);
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, live: live && Number(live[1]) };
}

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'sculpt-vq-bin-'));
});
afterAll(() => {
  rmSync(root, { recursive: true, force: true });
});

describe('sculpt vae --preset tiny-vq', () => {
  it('trains, resumes, evaluates with codebook usage and samples, leak-free', () => {
    const train = ['train', 'vae', '--preset', 'tiny-vq', '--data', 'mnist', '--batch', '16'];
    const a = sculpt(...train, '--steps', '20', '--out', 'vq');
    expect(a.status, a.stderr).toBe(0);
    expect(a.live).toBe(0);
    const b = sculpt('train', 'vae', '--resume', '--out', 'vq', '--steps', '30');
    expect(b.status, b.stderr).toBe(0);
    const e = sculpt('eval', 'vq', '--n', '50');
    expect(e.status, e.stderr).toBe(0);
    expect(e.live).toBe(0);
    const report = JSON.parse(e.stdout) as Record<string, number>;
    expect(report.step).toBe(30);
    expect(report.heldOutImages).toBe(50);
    expect(report.codesUsedPercent).toBeGreaterThan(0);
    expect(report.codesUsedPercent).toBeLessThanOrEqual(100);
    expect(report.perplexity).toBeGreaterThanOrEqual(1);
    expect(report.reconClassAccuracy).toBeGreaterThanOrEqual(0);
    const s = sculpt('sample', 'vq', '--n', '4');
    expect(s.status, s.stderr).toBe(0);
    expect(s.live).toBe(0);
  });
});
