// The latent family through the real built `sculpt` binary: a tiny-text run
// stopped inside the U-Net stage and resumed ends where an uninterrupted run
// does (same losses, same samples for a seed); `sample --prompt` takes a
// prompt and refuses one the text encoder cannot read, naming the fix.
// (Resuming inside the autoencoder stage is the family contract test's
// interrupted run.)
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runBin } from '../testing/run-bin.js';

let root: string;

/** Runs the binary in the test folder; `live` is the tensor count it reports at exit. */
function sculpt(...args: string[]) {
  const r = runBin(root, args);
  const live = /sculpt: (\d+) live tensors/.exec(r.stderr);
  return { ...r, live: live && Number(live[1]) };
}

function losses(dir: string): number[] {
  return readFileSync(join(root, dir, 'log.jsonl'), 'utf8')
    .split('\n')
    .filter((l) => l.includes('"loss"'))
    .map((l) => JSON.parse(l) as { step: number; loss: number })
    .sort((a, b) => a.step - b.step)
    .map((r) => r.loss);
}

beforeAll(() => {
  process.env.SCULPT_REPORT_TENSORS = '1'; // inherited by the binary
  root = mkdtempSync(join(tmpdir(), 'sculpt-latent-bin-'));
});
afterAll(() => {
  rmSync(root, { recursive: true, force: true });
});

describe('sculpt train/sample latent --preset tiny-text', () => {
  it('resumes inside the U-Net stage to the same losses and samples as an uninterrupted run', () => {
    const train = ['train', 'latent', '--preset', 'tiny-text', '--data', 'mnist', '--batch', '8'];
    const a = sculpt(...train, '--steps', '16', '--out', 'a');
    expect(a.status, a.stderr).toBe(0);
    expect(a.live).toBe(0);
    // 10 autoencoder steps (the preset's stage 1), then 3 of the U-Net; then on to 16.
    const b = sculpt(...train, '--steps', '13', '--out', 'b');
    expect(b.status, b.stderr).toBe(0);
    const resumed = sculpt('train', 'latent', '--resume', '--out', 'b', '--steps', '16');
    expect(resumed.status, resumed.stderr).toBe(0);
    expect(resumed.live).toBe(0);
    expect(losses('b')).toHaveLength(16);
    expect(losses('b')).toEqual(losses('a'));
    const sample = (run: string) => [
      'sample',
      run,
      '--prompt',
      'a thick seven',
      '--guidance',
      '4',
      '--sampler',
      'dpmpp-2m',
      '--steps',
      '5',
      '--n',
      '2',
      '--out',
      `${run}.png`,
    ];
    for (const run of ['a', 'b']) {
      const s = sculpt(...sample(run));
      expect(s.status, s.stderr).toBe(0);
      expect(s.live).toBe(0);
    }
    expect(readFileSync(join(root, 'b.png')).equals(readFileSync(join(root, 'a.png')))).toBe(true);
  });

  it('refuses a prompt longer than the text context or with unknown words, naming the fix', () => {
    const long = sculpt('sample', 'a', '--prompt', 'a thick thin slanted upright small large 7');
    expect(long.status).not.toBe(0);
    expect(long.stderr).toMatch(/at most 7 words.*Fix: shorten the prompt/s);
    const unknown = sculpt('sample', 'a', '--prompt', 'a purple seven');
    expect(unknown.status).not.toBe(0);
    expect(unknown.stderr).toMatch(/got 'purple'/);
  });
});
