// Drives the real built executable (`node dist/bin.js …`) as a user would:
// train a tiny model, interrupt it with SIGINT, resume, sample, evaluate, and
// every kind of bad input (status 2, one line, no stack trace, checkpoint intact).
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import '@tensorflow/tfjs-backend-cpu';
import { initBackend } from '@sculpt/backend';
import { decodePng, encodePng, loadCheckpoint, Rng } from '@sculpt/core';
import { SHAPE_CLASSES, shapeImages } from '@sculpt/datasets';
import { listSamplers } from '@sculpt/samplers';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, type Run, runBin } from './testing/run-bin.js';

const PKG = resolve(__dirname, '..');
let root: string;
let shapes: string;

function sculpt(...args: string[]): Run {
  return runBin(root, args);
}

/** Flags of the tiny training runs: 8×8 shapes in 3 classes, batch 8, cpu-free wasm. */
const tiny = (out: string, ...more: string[]) => [
  'train',
  'diffusion',
  '--preset',
  'tiny',
  '--data',
  `images:${shapes}`,
  '--batch',
  '8',
  '--out',
  out,
  ...more,
];

function losses(dir: string): Map<number, number> {
  const out = new Map<number, number>();
  for (const line of readFileSync(join(dir, 'log.jsonl'), 'utf8').split('\n')) {
    if (!line) continue;
    const r = JSON.parse(line) as { step?: number; loss?: number };
    if (typeof r.loss === 'number' && typeof r.step === 'number') out.set(r.step, r.loss);
  }
  return out;
}

function digest(dir: string): string {
  const h = createHash('sha256');
  for (const f of readdirSync(dir).sort()) h.update(f).update(readFileSync(join(dir, f)));
  return h.digest('hex');
}

async function tensorsOf(
  dir: string,
): Promise<Record<string, Float32Array | Int32Array | Uint8Array>> {
  const { tensors } = await loadCheckpoint(join(dir, 'checkpoint'));
  const out: Record<string, Float32Array | Int32Array | Uint8Array> = {};
  for (const [k, t] of Object.entries(tensors)) out[k] = (await t.data()) as Float32Array;
  tf.dispose(Object.values(tensors));
  return out;
}

/** Expects a bad-input failure: status 2, exactly one line on stderr, no stack trace. */
function expectUsageError(r: Run, pattern: RegExp): void {
  const lines = r.stderr.trim().split('\n');
  expect({ status: r.status, lines: lines.length }, r.stderr).toEqual({ status: 2, lines: 1 });
  expect(r.stderr).toMatch(pattern);
  expect(r.stderr).toMatch(/Fix: /);
  expect(r.stderr).not.toMatch(/\n\s+at |Error: |node:internal/);
}

beforeAll(async () => {
  if (!existsSync(BIN)) execFileSync('npx', ['tsup'], { cwd: PKG, stdio: 'ignore' });
  await initBackend('cpu');
  root = mkdtempSync(join(tmpdir(), 'sculpt-cli-'));
  shapes = join(root, 'shapes');
  const set = shapeImages({ count: 48, rng: new Rng(7), size: 8 });
  for (const name of SHAPE_CLASSES) mkdirSync(join(shapes, name), { recursive: true });
  for (let i = 0; i < set.count; i++) {
    const image = tf.tensor3d(set.images.subarray(i * 64, (i + 1) * 64), [8, 8, 1]);
    writeFileSync(
      join(shapes, SHAPE_CLASSES[set.labels[i]], `${String(i).padStart(3, '0')}.png`),
      await encodePng(image),
    );
    image.dispose();
  }
});

afterAll(() => {
  if (root) rmSync(root, { recursive: true, force: true });
});

describe('sculpt (built binary)', () => {
  it("reports its package's version", () => {
    const { version } = JSON.parse(readFileSync(join(PKG, 'package.json'), 'utf8')) as {
      version: string;
    };
    const r = sculpt('--version');
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).toBe(version);
  });

  it('lists the sampler registry', () => {
    const r = sculpt('samplers');
    expect(r.status).toBe(0);
    for (const s of listSamplers()) expect(r.stdout).toMatch(new RegExp(`^${s.name}\\s`, 'm'));
    const lines = sculpt('samplers', '--json').stdout.trim().split('\n');
    const events = lines.map((l) => JSON.parse(l) as { event: string; name?: string });
    expect(events.filter((e) => e.event === 'sampler').map((e) => e.name)).toEqual(
      listSamplers().map((s) => s.name),
    );
    expect(events.at(-1)).toMatchObject({ event: 'done', command: 'samplers', status: 0 });
  });

  it('trains, and an interrupted + resumed run gives the same numbers as an uninterrupted one', async () => {
    const a = sculpt(
      ...tiny('a', '--steps', '120', '--sample-every', '60', '--checkpoint-every', '40'),
    );
    expect(a.status, a.stderr).toBe(0);
    expect(a.stderr).toMatch(/done: step 120/);
    expect(a.stdout).toBe(''); // messages and progress go to stderr
    const la = losses(join(root, 'a'));
    expect([...la.keys()]).toEqual(Array.from({ length: 120 }, (_, i) => i + 1));
    for (const f of [
      'checkpoint/checkpoint.json',
      'checkpoint/weights.safetensors',
      'loss.png',
      'samples.png',
      'samples/step-000060.png',
      'samples/step-000120.png',
    ])
      expect(existsSync(join(root, 'a', f)), f).toBe(true);
    const plot = decodePng(readFileSync(join(root, 'a', 'loss.png')));
    expect(plot.shape).toEqual([400, 720, 3]);
    plot.dispose();

    // The same run, stopped by Ctrl-C once a few steps are logged.
    const child: ChildProcess = spawn(
      process.execPath,
      [BIN, ...tiny('b', '--steps', '120', '--sample-every', '60', '--checkpoint-every', '40')],
      { cwd: root },
    );
    let stderr = '';
    child.stderr?.on('data', (d) => {
      stderr += String(d);
    });
    const exited = new Promise<number | null>((done) => child.on('exit', (code) => done(code)));
    const log = join(root, 'b', 'log.jsonl');
    for (let i = 0; i < 2000 && !(existsSync(log) && losses(join(root, 'b')).size >= 3); i++)
      await new Promise((w) => setTimeout(w, 10));
    child.kill('SIGINT');
    expect(await exited).toBe(130);
    const stoppedAt = losses(join(root, 'b')).size;
    expect(stoppedAt).toBeGreaterThanOrEqual(3);
    expect(stoppedAt).toBeLessThan(120);
    expect(stderr).toMatch(new RegExp(`stopped at step ${stoppedAt}; checkpoint saved`));
    expect(stderr).toMatch(/--resume/);

    const resumed = sculpt('train', 'diffusion', '--out', 'b', '--resume');
    expect(resumed.status, resumed.stderr).toBe(0);
    expect(resumed.stderr).toMatch(new RegExp(`resuming at step ${stoppedAt}`));
    const lb = losses(join(root, 'b'));
    expect([...lb.entries()]).toEqual([...la.entries()]); // bit-identical losses, step by step
    const [wa, wb] = [await tensorsOf(join(root, 'a')), await tensorsOf(join(root, 'b'))];
    expect(Object.keys(wb).sort()).toEqual(Object.keys(wa).sort());
    for (const k of Object.keys(wa))
      expect(Buffer.from(wb[k].buffer).equals(Buffer.from(wa[k].buffer)), k).toBe(true);
    // A plain --resume keeps the run's --sample-every 60 (not the default 500).
    if (stoppedAt < 60) expect(existsSync(join(root, 'b', 'samples/step-000060.png'))).toBe(true);
    // Moving the target re-plans the learning rate: said in one line.
    const longer = sculpt('train', 'diffusion', '--out', 'b', '--resume', '--steps', '124');
    expect(longer.status, longer.stderr).toBe(0);
    expect(longer.stderr).toMatch(
      /target moves from step 120 to step 124; the learning-rate schedule is re-planned/,
    );
  });

  it('samples a grid: seeded, shaped by --labels and --n', () => {
    const grid6 = [
      'sample',
      'a',
      '--sampler',
      'euler',
      '--steps',
      '4',
      '--labels',
      '0,1,2',
      '--n',
      '6',
    ];
    const r = sculpt(...grid6, '--out', 'grid.png');
    expect(r.status, r.stderr).toBe(0);
    const grid = decodePng(readFileSync(join(root, 'grid.png')));
    // 6 images of 8×8 in 3 columns, 2 px padding: [2·10 + 2, 3·10 + 2, 1].
    expect(grid.shape).toEqual([22, 32, 1]);
    grid.dispose();
    sculpt(...grid6, '--out', 'again.png');
    sculpt(...grid6, '--out', 'seed1.png', '--seed', '1');
    const bytes = (f: string) => readFileSync(join(root, f));
    expect(bytes('again.png').equals(bytes('grid.png'))).toBe(true);
    expect(bytes('seed1.png').equals(bytes('grid.png'))).toBe(false);
  });

  it('evaluates a model trained on MNIST: JSON metrics, worse than real digits', () => {
    const t = sculpt(
      'train',
      'diffusion',
      '--preset',
      'tiny',
      '--data',
      'mnist',
      '--steps',
      '2',
      '--batch',
      '4',
      '--out',
      'm',
      '--sample-every',
      '0',
    );
    expect(t.status, t.stderr).toBe(0);
    const r = sculpt('eval', 'm', '--n', '40', '--steps', '2');
    expect(r.status, r.stderr).toBe(0);
    const m = JSON.parse(r.stdout) as Record<string, number> & {
      reference: Record<string, number>;
    };
    for (const k of ['fd', 'kid', 'precision', 'recall', 'classAccuracy'])
      expect(Number.isFinite(m[k]), k).toBe(true);
    expect(m.samples).toBe(40);
    // Two steps of training make noise: far from the real digits, which the classifier reads correctly.
    expect(m.fd).toBeGreaterThan(3 * m.reference.fd);
    expect(m.reference.classAccuracy).toBeGreaterThan(0.9);
    expect(JSON.parse(readFileSync(join(root, 'm', 'metrics.json'), 'utf8'))).toEqual(m);
  });

  it('refuses bad input with one line, status 2, and leaves the checkpoint untouched', () => {
    const before = digest(join(root, 'a', 'checkpoint'));
    expectUsageError(
      sculpt('train', 'no-such-family'),
      /known model family.*'no-such-family'.*diffusion, gan, vae/,
    );
    expectUsageError(
      sculpt('train', 'diffusion', '--preset', 'huge'),
      /preset of diffusion.*'huge'.*tiny/,
    );
    expectUsageError(sculpt('train', 'diffusion', '--data', 'cifar'), /--data.*'cifar'/);
    expectUsageError(
      sculpt('train', 'diffusion', '--data', 'images:does/not/exist'),
      /folder of PNG images.*got nothing there/,
    );
    expectUsageError(
      sculpt('train', 'diffusion', '--data', 'moby-dick', '--out', 'x'),
      /images data for diffusion.*text/,
    );
    expectUsageError(sculpt('train', 'diffusion', '--steps', '-5'), /--steps must be an integer/);
    expectUsageError(
      sculpt('train', 'diffusion', '--batch', '0'),
      /--batch must be an integer in \[1, 4096\]/,
    );
    expectUsageError(
      sculpt('train', 'diffusion', '--minutes', '0'),
      /--minutes must be a number in \(0/,
    );
    expectUsageError(
      sculpt('train', 'diffusion', '--backend', 'gpu9000'),
      /backend must be one of/,
    );
    expectUsageError(sculpt('train', 'diffusion', '--bogus'), /unknown option '--bogus'/);
    expectUsageError(sculpt('frobnicate'), /unknown command 'frobnicate'/);
    expectUsageError(sculpt(...tiny('a', '--steps', '5')), /hold no checkpoint.*--resume/);
    expectUsageError(
      sculpt('train', 'diffusion', '--out', 'a', '--resume', '--preset', 'mnist'),
      /--preset to match.*"tiny"/,
    );
    expectUsageError(
      sculpt('train', 'diffusion', '--out', 'nothing-here', '--resume'),
      /expected a checkpoint in/,
    );
    expectUsageError(
      sculpt('sample', 'a', '--sampler', 'warp-drive'),
      /sampler.*'warp-drive'.*euler/,
    );
    expectUsageError(sculpt('sample', 'a', '--labels', '7'), /class indices in \[0, 2\], got 7/);
    expectUsageError(
      sculpt('sample', 'a', '--guidance', '1000'),
      /--guidance must be a number in \[0, 100\]/,
    );
    expectUsageError(
      sculpt('sample', 'a', '--truncation', '1.5'),
      /--truncation must be a number in \[0, 1\]/,
    );
    expectUsageError(sculpt('sample', 'no/such/run'), /run folder or a checkpoint folder/);
    expectUsageError(sculpt('eval', 'a', '--n', '0'), /--n must be an integer/);
    expect(digest(join(root, 'a', 'checkpoint'))).toBe(before);
    expect(losses(join(root, 'a')).size).toBe(120);
  });

  it('refuses a corrupt checkpoint without touching it', () => {
    cpSync(join(root, 'a'), join(root, 'bad'), { recursive: true });
    const weights = join(root, 'bad', 'checkpoint', 'weights.safetensors');
    const bytes = readFileSync(weights);
    bytes[bytes.length - 3] ^= 0xff;
    writeFileSync(weights, bytes);
    const before = digest(join(root, 'bad', 'checkpoint'));
    expectUsageError(sculpt('sample', 'bad'), /CRC-32/);
    expectUsageError(sculpt('eval', 'bad'), /CRC-32/);
    expectUsageError(sculpt('train', 'diffusion', '--out', 'bad', '--resume'), /CRC-32/);
    writeFileSync(join(root, 'bad', 'checkpoint', 'checkpoint.json'), '{ not json');
    expectUsageError(sculpt('sample', 'bad'), /corrupt|unparsable/);
    expect(existsSync(weights)).toBe(true);
    expect(digest(join(root, 'bad', 'checkpoint'))).not.toBe(before); // (we broke the JSON ourselves)
    expect(readFileSync(weights).equals(bytes)).toBe(true);
  });
});
