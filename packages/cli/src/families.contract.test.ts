// The family contract, run over every registered family through the real
// built `sculpt` binary, with no per-family code: each family's smoke run
// (its tiny preset on built-in data) trains, checkpoints, is interrupted and
// resumed to the same bits as an uninterrupted run, samples or generates,
// evaluates with the metrics it declares, and leaves no tfjs tensor alive.
// A new family passes it by being registered in FAMILIES.
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import '@tensorflow/tfjs-backend-cpu';
import { initBackend } from '@sculpt/backend';
import { loadCheckpoint } from '@sculpt/core';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { trainArgs as smokeTrainArgs } from '../scripts/reliability/fault.js';
import { FAMILIES } from './families/index.js';
import type { FamilyAdapter } from './family.js';

const PKG = resolve(__dirname, '..');
const BIN = join(PKG, 'dist', 'bin.js');
const STEPS = 40;
let root: string;

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

const ENV = { ...process.env, SCULPT_REPORT_TENSORS: '1' };

function sculpt(...args: string[]): Run {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    cwd: root,
    encoding: 'utf8',
    timeout: 240_000,
    env: ENV,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The live-tensor count the binary reports when it is done (SCULPT_REPORT_TENSORS=1). */
function liveTensors(r: Run): number {
  const m = /sculpt: (\d+) live tensors/.exec(r.stderr);
  if (!m) throw new Error(`no live-tensor report in stderr:\n${r.stderr}`);
  return Number(m[1]);
}

function trainArgs(family: FamilyAdapter, out: string): string[] {
  return smokeTrainArgs(family, out, { steps: STEPS, checkpointEvery: 10, sampleEvery: 20 });
}

function losses(dir: string): Map<number, number> {
  const out = new Map<number, number>();
  const log = join(root, dir, 'log.jsonl');
  if (!existsSync(log)) return out;
  for (const line of readFileSync(log, 'utf8').split('\n')) {
    if (!line) continue;
    const r = JSON.parse(line) as { step?: number; loss?: number };
    if (typeof r.loss === 'number' && typeof r.step === 'number') out.set(r.step, r.loss);
  }
  return out;
}

async function tensorsOf(dir: string): Promise<Record<string, Uint8Array>> {
  const { tensors } = await loadCheckpoint(join(root, dir, 'checkpoint'));
  const out: Record<string, Uint8Array> = {};
  for (const [k, t] of Object.entries(tensors)) {
    const values = await t.data();
    out[k] = new Uint8Array(values.buffer, values.byteOffset, values.byteLength).slice();
  }
  tf.dispose(Object.values(tensors));
  return out;
}

/** Starts the same training run and stops it with Ctrl-C once a few steps are logged. */
async function interruptedRun(family: FamilyAdapter, out: string): Promise<number | null> {
  const child: ChildProcess = spawn(process.execPath, [BIN, ...trainArgs(family, out)], {
    cwd: root,
    env: ENV,
  });
  const exited = new Promise<number | null>((done) => child.on('exit', (code) => done(code)));
  for (let i = 0; i < 6000 && losses(out).size < 3; i++)
    await new Promise((w) => setTimeout(w, 10));
  child.kill('SIGINT');
  return exited;
}

beforeAll(async () => {
  if (!existsSync(BIN)) execFileSync('npx', ['tsup'], { cwd: PKG, stdio: 'ignore' });
  await initBackend('cpu');
  root = mkdtempSync(join(tmpdir(), 'sculpt-contract-'));
});

afterAll(() => {
  if (root) rmSync(root, { recursive: true, force: true });
});

describe.each(FAMILIES.map((f) => [f.name, f] as const))('family %s', (name, family) => {
  it('declares a smoke run with one of its presets and data it trains on', () => {
    expect(family.presets.map((p) => p.name)).toContain(family.smoke.preset);
    expect(family.presets.map((p) => p.name)).toContain(family.defaultPreset);
    expect(family.dataKinds).toContain(family.generates);
    expect(family.metrics.length).toBeGreaterThan(0);
  });

  it('trains, and an interrupted + resumed run ends bit-identical to an uninterrupted one', async () => {
    const a = sculpt(...trainArgs(family, `${name}-a`));
    expect(a.status, a.stderr).toBe(0);
    expect(liveTensors(a)).toBe(0);
    const la = losses(`${name}-a`);
    expect([...la.keys()]).toEqual(Array.from({ length: STEPS }, (_, i) => i + 1));
    expect([...la.values()].every(Number.isFinite)).toBe(true);

    expect(await interruptedRun(family, `${name}-b`)).toBe(130);
    const stoppedAt = losses(`${name}-b`).size;
    expect(stoppedAt).toBeGreaterThanOrEqual(3);
    const resumed = sculpt('train', name, '--out', `${name}-b`, '--resume');
    expect(resumed.status, resumed.stderr).toBe(0);
    expect(liveTensors(resumed)).toBe(0);
    expect([...losses(`${name}-b`).entries()]).toEqual([...la.entries()]);
    const [wa, wb] = [await tensorsOf(`${name}-a`), await tensorsOf(`${name}-b`)];
    expect(Object.keys(wb).sort()).toEqual(Object.keys(wa).sort());
    for (const k of Object.keys(wa))
      expect(Buffer.from(wb[k]).equals(Buffer.from(wa[k])), k).toBe(true);
  });

  it(`${family.generates === 'images' ? 'samples a PNG grid' : 'generates text'}, seeded and leak-free`, () => {
    const args =
      family.generates === 'images'
        ? (out: string, seed: string) => [
            'sample',
            `${name}-a`,
            '--n',
            '4',
            '--seed',
            seed,
            '--out',
            out,
          ]
        : (_out: string, seed: string) => [
            'generate',
            `${name}-a`,
            '--max-tokens',
            '24',
            '--seed',
            seed,
          ];
    const r = sculpt(...args(`${name}-s.png`, '3'));
    expect(r.status, r.stderr).toBe(0);
    expect(liveTensors(r)).toBe(0);
    const again = sculpt(...args(`${name}-s2.png`, '3'));
    if (family.generates === 'images') {
      const bytes = (f: string) => readFileSync(join(root, f));
      expect(bytes(`${name}-s2.png`).equals(bytes(`${name}-s.png`))).toBe(true);
    } else {
      expect(again.stdout).toBe(r.stdout);
      expect(r.stdout.length).toBeGreaterThan(1);
      const knobs = ['--min-p', '0.05', '--repetition-penalty', '1.3', '--top-k', '20'];
      const tuned = sculpt(...args('', '3'), ...knobs);
      expect(tuned.status, tuned.stderr).toBe(0);
      expect(liveTensors(tuned)).toBe(0);
      const bad = sculpt(...args('', '3'), '--min-p', '0');
      expect(bad.status).not.toBe(0);
      expect(bad.stderr).toMatch(/--min-p must be a number in \(0, 1\], got '0'/);
    }
  });

  it('evaluates with the metrics it declares, leak-free', () => {
    const r = sculpt('eval', `${name}-a`, '--n', '20', '--steps', '2');
    expect(r.status, r.stderr).toBe(0);
    expect(liveTensors(r)).toBe(0);
    const report = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(report.family).toBe(name);
    expect(report.step).toBe(STEPS);
    for (const metric of family.metrics)
      expect(Number.isFinite(report[metric]), `${metric} in ${r.stdout}`).toBe(true);
  });
});
