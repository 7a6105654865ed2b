// A short seeded run of the fault harness (scripts/reliability/fault.ts) over
// every registered family, through the real binary: a SIGKILL at a random
// moment then --resume ends bit-identical to an uninterrupted run; a read-only
// folder and a full disk (a small tmpfs, where this machine lets us mount one)
// give one clear line, exit 2, and leave the previous checkpoint untouched.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import '@tensorflow/tfjs-backend-cpu';
import { initBackend } from '@sculpt/backend';
import { Rng } from '@sculpt/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BIN,
  canMount,
  diskTrial,
  killTrial,
  randomMoment,
  savedTensors,
  sculpt,
  trainArgs,
} from '../scripts/reliability/fault.js';
import { FAMILIES } from './families/index.js';

const STEPS = 16;
let root: string;
let mountable = false;

beforeAll(async () => {
  if (!existsSync(BIN))
    execFileSync('npx', ['tsup'], { cwd: resolve(__dirname, '..'), stdio: 'ignore' });
  await initBackend('cpu');
  root = mkdtempSync(join(tmpdir(), 'sculpt-fault-'));
  mountable = canMount(join(root, 'probe'));
});

afterAll(() => {
  if (root) rmSync(root, { recursive: true, force: true });
});

describe.each(FAMILIES.map((f) => [f.name, f] as const))('family %s', (name, family) => {
  it('a SIGKILL at a random moment, then --resume, ends bit-identical; a read-only or full disk exits 2 with the checkpoint intact', async (ctx) => {
    const reference = await sculpt(trainArgs(family, `${name}-ref`, { steps: STEPS }), {
      cwd: root,
    });
    expect(reference.status, reference.stderr).toBe(0);
    const want = await savedTensors(join(root, `${name}-ref`));
    expect(want?.size).toBeGreaterThan(0);
    const moment = randomMoment(new Rng(name.length), STEPS);
    const trial = await killTrial(
      family,
      root,
      `${name}-killed`,
      STEPS,
      moment,
      want as Map<string, Uint8Array>,
    );
    expect(trial.differing).toEqual([]);
    expect(trial.checkpointAfterKill).not.toBe('corrupt');

    if (!mountable) {
      ctx.skip();
      return;
    }
    for (const fault of ['read-only', 'full'] as const) {
      const disk = await diskTrial(
        family,
        join(root, 'mnt'),
        join(root, `${name}-ref`),
        STEPS,
        fault,
      );
      expect(disk.status, disk.line).toBe(2);
      expect(disk.linesOnStderr, disk.line).toBe(1);
      expect(disk.line).toMatch(/^sculpt: .*(ENOSPC|EROFS).*Fix: /);
      expect(disk.checkpointUntouched).toBe(true);
    }
  }, 180_000);
});
