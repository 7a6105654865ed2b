// Resume bit-exactness on one backend, for every registered family: through the
// API (a family's model trained k steps, saved, loaded, restored and trained on
// to N equals an uninterrupted run to N, every tensor bit for bit) and through
// the CLI (`sculpt train --backend B`, Ctrl-C, then a plain `--resume`, which
// must continue on the run's own backend). Tiny data keeps it to seconds on cpu:
// 24 shape images of 8×8 (as a PNG folder for the CLI), or a short text.
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { type Checkpoint, loadCheckpoint, Rng, saveCheckpoint, writePng } from '@sculpt/core';
import { type ImageSet, loadMobyDick, shapeImages } from '@sculpt/datasets';
import * as tf from '@tensorflow/tfjs-core';
import { loadData, parseDataSpec } from '../../src/data.js';
import type { FamilyAdapter, FamilyModel, TrainingData } from '../../src/family.js';
import { differences, savedTensors, sculpt } from './fault.js';

const SIZE = 8;
const COUNT = 24;

/** The images every image family trains on here: 24 seeded 8×8 shapes, unlabelled. */
export function tinyImages(): ImageSet {
  const set = shapeImages({ count: COUNT, rng: new Rng(5), size: SIZE });
  return { ...set, labels: new Int32Array(set.count).fill(-1) };
}

/** Training data of the kind a family learns from. */
export async function tinyData(family: FamilyAdapter): Promise<TrainingData> {
  if (family.smoke.tinyImages === false) return loadData(parseDataSpec(family.smoke.data));
  if (family.dataKinds.includes('images')) {
    const set = tinyImages();
    return { kind: 'images', spec: 'tiny', train: set, heldOut: set, classNames: [] };
  }
  const text = (await loadMobyDick()).train.slice(0, 4000);
  return { kind: 'text', spec: 'tiny', train: text, heldOut: text };
}

/** Writes {@link tinyImages} as PNGs into `dir` (for `--data images:dir`). */
export async function writeTinyImages(dir: string): Promise<void> {
  if (existsSync(dir)) return;
  mkdirSync(dir, { recursive: true });
  const set = tinyImages();
  for (let i = 0; i < set.count; i++) {
    const pixels = set.images.subarray(i * SIZE * SIZE, (i + 1) * SIZE * SIZE);
    const image = tf.tensor2d(pixels, [SIZE, SIZE]);
    await writePng(join(dir, `${String(i).padStart(2, '0')}.png`), image);
    image.dispose();
  }
}

/** Every tensor of a checkpoint as bytes, by name (the checkpoint's tensors are freed). */
async function bytesOf(checkpoint: Checkpoint, own: boolean): Promise<Map<string, Uint8Array>> {
  const out = new Map<string, Uint8Array>();
  for (const [k, t] of Object.entries(checkpoint.tensors).sort(([a], [b]) => (a < b ? -1 : 1))) {
    const v = await t.data();
    out.set(k, new Uint8Array(v.buffer, v.byteOffset, v.byteLength).slice());
  }
  if (own) tf.dispose(Object.values(checkpoint.tensors));
  return out;
}

/** The model's full training state (weights + trainer) as bytes. */
async function stateOf(model: FamilyModel): Promise<Map<string, Uint8Array>> {
  return bytesOf(model.checkpoint(), true);
}

/**
 * Through the API: trains `steps` uninterrupted, then `stopAt` steps, saves to
 * `dir`, loads, restores and trains to `steps`.
 *
 * @returns the names of tensors that differ ([] = bit-exact) and the tensor count compared.
 */
export async function apiResume(
  family: FamilyAdapter,
  preset: string,
  dir: string,
  options: { steps: number; stopAt: number },
): Promise<{ differing: string[]; tensors: number }> {
  const data = await tinyData(family);
  const create = () =>
    family.create({ preset, data, batchSize: 4, seed: 3, totalSteps: options.steps });
  const quiet = { onStep: () => {} };
  const a = await create();
  await a.train({ steps: options.steps, ...quiet });
  const want = await stateOf(a);
  a.dispose();

  const b = await create();
  await b.train({ steps: options.stopAt, ...quiet });
  const partial = b.checkpoint();
  try {
    await saveCheckpoint(dir, partial);
  } finally {
    tf.dispose(Object.values(partial.tensors));
    b.dispose();
  }
  const loaded = await loadCheckpoint(dir);
  let c: FamilyModel;
  try {
    c = await family.restore(loaded, { data, totalSteps: options.steps });
  } finally {
    tf.dispose(Object.values(loaded.tensors));
  }
  await c.train({ steps: options.steps - c.stepCount, ...quiet });
  const got = await stateOf(c);
  c.dispose();
  return { differing: differences(want, got), tensors: want.size };
}

function dataArg(family: FamilyAdapter, text: boolean, dir: string): string {
  if (family.smoke.tinyImages === false) return family.smoke.data;
  return text ? 'moby-dick' : `images:${dir}`;
}

/** The `sculpt train` arguments of the CLI check (tiny data: a PNG folder or moby-dick). */
function cliArgs(family: FamilyAdapter, out: string, steps: number, backend: string, data: string) {
  const text = !family.dataKinds.includes('images');
  return [
    'train',
    family.name,
    ...['--preset', family.smoke.preset, '--data', dataArg(family, text, data)],
    ...['--batch', '4', '--steps', String(steps), '--checkpoint-every', '1'],
    ...['--sample-every', '0', '--backend', backend, '--out', out, '--quiet'],
  ];
}

/**
 * Through the CLI: an uninterrupted run, then one stopped with Ctrl-C after
 * `stopAt` logged steps and continued with a plain `--resume` (no --backend).
 *
 * @returns exit codes and the names of tensors that differ ([] = bit-exact).
 */
export async function cliResume(
  family: FamilyAdapter,
  cwd: string,
  backend: 'cpu' | 'wasm',
  options: { steps: number; stopAt: number },
): Promise<{
  reference: number | null;
  interrupted: number | null;
  resumed: number | null;
  differing: string[];
  stderr: string;
}> {
  const data = join(cwd, 'tiny-images');
  await writeTinyImages(data);
  const ref = `${family.name}-${backend}-ref`;
  const cut = `${family.name}-${backend}-cut`;
  const reference = await sculpt(cliArgs(family, ref, options.steps, backend, data), { cwd });
  const killAt = {
    log: join(cut, 'log.jsonl'),
    steps: options.stopAt,
    jitterMs: 0,
    signal: 'SIGINT' as const,
  };
  const interrupted = await sculpt(cliArgs(family, cut, options.steps, backend, data), {
    cwd,
    killAt,
  });
  const resumed = await sculpt(['train', family.name, '--out', cut, '--resume', '--quiet'], {
    cwd,
  });
  const want = await savedTensors(join(cwd, ref));
  const differing = want
    ? differences(want, await savedTensors(join(cwd, cut)))
    : ['<no reference>'];
  return {
    reference: reference.status,
    interrupted: interrupted.status,
    resumed: resumed.status,
    differing,
    stderr: [reference.stderr, interrupted.stderr, resumed.stderr].join('\n').trim().slice(-600),
  };
}
