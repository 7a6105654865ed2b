// Every family's loader checks the weights against its stored config: a
// missing, extra or swapped (different-shape) tensor in a well-formed, correctly
// checksummed checkpoint is a CheckpointError naming it, on `load` and, where
// the class has it, `fromBytes`; and the checkpoints the project ships still load.
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { charTokenizer, GptModel } from '@sculpt/autoregressive';
import { initBackend } from '@sculpt/backend';
import {
  type Checkpoint,
  CheckpointError,
  checkpointFromBytes,
  checkpointToBytes,
  type LoadCheckpointOptions,
  saveCheckpoint,
} from '@sculpt/core';
import { expectNoLeak } from '@sculpt/core/testing';
import { DiffusionModel } from '@sculpt/diffusion';
import { CycleGanModel, GanGenerator, GanModel } from '@sculpt/gan';
import { LatentDiffusionModel } from '@sculpt/latent';
import { VaeModel, VqVaeModel } from '@sculpt/vae';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-layers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

interface Loadable {
  toCheckpoint(): Checkpoint;
  dispose(): void;
}
interface Family {
  name: string;
  create(): Loadable;
  loadOptions(): LoadCheckpointOptions;
  load(dir: string): Promise<Loadable>;
  fromBytes?: (bytes: Uint8Array) => Loadable;
}

const tokenizer = charTokenizer({ text: 'the quick brown fox jumps over the lazy dog' });
const FAMILIES_UNDER_TEST: Family[] = [
  {
    name: 'diffusion',
    create: () => DiffusionModel.create('tiny', { seed: 1 }),
    loadOptions: () => DiffusionModel.loadOptions(),
    load: (d) => DiffusionModel.load(d),
    fromBytes: (b) => DiffusionModel.fromBytes(b),
  },
  {
    name: 'vae',
    create: () => VaeModel.create('tiny', { seed: 1 }),
    loadOptions: () => VaeModel.loadOptions(),
    load: (d) => VaeModel.load(d),
  },
  {
    name: 'vae (vq)',
    create: () => VqVaeModel.create('tiny-vq', { seed: 1 }),
    loadOptions: () => VqVaeModel.loadOptions(),
    load: (d) => VqVaeModel.load(d),
  },
  {
    name: 'gan',
    create: () => GanModel.create('tiny', { seed: 1 }),
    loadOptions: () => GanModel.loadOptions(),
    load: (d) => GanModel.load(d),
    fromBytes: (b) => GanModel.fromBytes(b),
  },
  {
    name: 'gan (style)',
    create: () => GanModel.create('tiny-style', { seed: 1 }),
    loadOptions: () => GanModel.loadOptions(),
    load: (d) => GanModel.load(d),
    fromBytes: (b) => GanModel.fromBytes(b),
  },
  {
    name: 'gan (cycle)',
    create: () => CycleGanModel.create('tiny-cycle', { seed: 1 }),
    loadOptions: () => CycleGanModel.loadOptions(),
    load: (d) => CycleGanModel.load(d),
    fromBytes: (b) => CycleGanModel.fromBytes(b),
  },
  {
    name: 'autoregressive',
    create: () => GptModel.create({ tokenizer, preset: 'tiny', seed: 1 }),
    loadOptions: () => GptModel.loadOptions(),
    load: (d) => GptModel.load(d),
    fromBytes: (b) => GptModel.fromBytes(b),
  },
];

let root: string;
beforeAll(async () => {
  await initBackend('cpu');
  root = await mkdtemp(join(tmpdir(), 'sculpt-weights-'));
});
afterAll(() => rm(root, { recursive: true, force: true }));

/** The model's checkpoint with its tensors renamed/added/dropped by `edit` (the model keeps its own). */
function tampered(model: Loadable, edit: (t: Record<string, tf.Tensor>) => void): Checkpoint {
  const { tensors, json } = model.toCheckpoint();
  const copy = { ...tensors };
  edit(copy);
  return { tensors: copy, json };
}

/** Two `model/` weights of different shapes. */
function differentShapes(tensors: Record<string, tf.Tensor>): [string, string] {
  const names = Object.keys(tensors).filter((n) => n.startsWith('model/'));
  for (const a of names)
    for (const b of names) if (tensors[a].shape.join() !== tensors[b].shape.join()) return [a, b];
  throw new Error('no two weights differ in shape');
}

/** The safetensors bytes with the data offsets of two same-shape `model/` tensors exchanged. */
function swapSameShape(bytes: Uint8Array): Uint8Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const length = Number(view.getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + length)));
  const names = Object.keys(header).filter((n) => n.startsWith('model/'));
  const key = (n: string) => `${header[n].dtype}${header[n].shape}`;
  const a = names.find((n) => names.some((m) => m !== n && key(m) === key(n))) as string;
  const b = names.find((m) => m !== a && key(m) === key(a)) as string;
  [header[a].data_offsets, header[b].data_offsets] = [
    header[b].data_offsets,
    header[a].data_offsets,
  ];
  const text = new TextEncoder().encode(JSON.stringify(header).padEnd(length, ' '));
  const out = new Uint8Array(8 + text.length + bytes.length - 8 - length);
  new DataView(out.buffer).setBigUint64(0, BigInt(text.length), true);
  out.set(text, 8);
  out.set(bytes.subarray(8 + length), 8 + text.length);
  return out;
}

async function refusal(load: () => Promise<unknown>): Promise<string> {
  const before = tf.memory().numTensors;
  const error = await load().then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(CheckpointError);
  expect(tf.memory().numTensors).toBe(before);
  return (error as Error).message;
}

describe.each(FAMILIES_UNDER_TEST)('$name: load checks every weight', (family) => {
  it('loads its own checkpoint, and refuses a missing, an extra and a swapped weight by name', async () => {
    const model = family.create();
    const dir = (tag: string) => join(root, `${family.name.replace(/\W+/g, '-')}-${tag}`);
    await saveCheckpoint(dir('good'), model.toCheckpoint());
    await expectNoLeak(async () => (await family.load(dir('good'))).dispose());
    const [a, b] = differentShapes(model.toCheckpoint().tensors);
    const extra = tf.zeros([2]);
    const cases: [string, Checkpoint, string][] = [
      ['missing', tampered(model, (t) => delete t[a]), `"${a}" is missing`],
      [
        'extra',
        tampered(model, (t) => (t['model/extra'] = extra)),
        '"model/extra" is not expected',
      ],
      ['swapped', tampered(model, (t) => ([t[a], t[b]] = [t[b], t[a]])), `"${a}" has shape`],
    ];
    for (const [tag, checkpoint, text] of cases) {
      await saveCheckpoint(dir(tag), checkpoint);
      expect(await refusal(() => family.load(dir(tag)))).toContain(text);
      if (family.fromBytes) {
        const bytes = await checkpointToBytes(checkpoint);
        expect(await refusal(async () => family.fromBytes?.(bytes))).toContain(text);
      }
    }
    extra.dispose();
    model.dispose();
  });

  it('refuses two same-shape weights swapped in the file (their offsets exchanged in the header)', async () => {
    const model = family.create();
    const dir = join(root, `${family.name.replace(/\W+/g, '-')}-same-shape`);
    await saveCheckpoint(dir, model.toCheckpoint());
    model.dispose();
    const file = join(dir, 'weights.safetensors');
    await writeFile(file, swapSameShape(await readFile(file)));
    expect(await refusal(() => family.load(dir))).toMatch(/tensor table.*altered/);
  });
});

describe('shipped checkpoints load under their family checks', () => {
  it('DiffusionModel.fromBytes(fs.readFileSync(path)) loads the shipped model', () => {
    const file = resolve(__dirname, '../../diffusion/assets/mnist-model.safetensors');
    const model = DiffusionModel.fromBytes(readFileSync(file));
    expect(model.numClasses).toBe(10);
    model.dispose();
  });

  // The docs demos serve byte copies of these (apps/docs/scripts/prepare.mjs).
  const docs = resolve(__dirname, '../../../apps/docs/data');
  it.each([
    [
      'diffusion',
      resolve(__dirname, '../../diffusion/assets/mnist-model.safetensors'),
      DiffusionModel,
    ],
    ['vae (docs)', join(docs, 'vae-mnist-2d.safetensors'), VaeModel],
    [
      'autoregressive (docs)',
      resolve(__dirname, '../../autoregressive/assets/moby-dick-char-small.safetensors'),
      GptModel,
    ],
    // The GAN demo ships generator-only exports (GanModel.exportGenerator).
    ['gan cdcgan generator (docs)', join(docs, 'gan-cdcgan.safetensors'), GanGenerator],
    ['gan stylegan generator (docs)', join(docs, 'gan-stylegan.safetensors'), GanGenerator],
    ['cyclegan (docs)', join(docs, 'gan-cyclegan.safetensors'), CycleGanModel],
    ['latent mnist-text (docs)', join(docs, 'latent-mnist-text.safetensors'), LatentDiffusionModel],
  ] as const)('%s', async (_name, file, cls) => {
    const bytes = await readFile(file);
    const checkpoint = checkpointFromBytes(bytes, cls.loadOptions());
    try {
      cls.fromCheckpoint('test', checkpoint).dispose();
    } finally {
      tf.dispose(Object.values(checkpoint.tensors));
    }
  });
});
