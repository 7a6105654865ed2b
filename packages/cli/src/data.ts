// `--data`: what the user can name, checked before anything is loaded.
import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { Rng } from '@sculpt/core';
import {
  type ImageSet,
  loadImageFolder,
  loadMnist,
  loadMobyDick,
  loadSotu,
  loadTextFile,
  SHAPE_CLASSES,
  shapeImages,
  subsetImages,
} from '@sculpt/datasets';
import { UsageError } from './errors.js';
import type { DataKind, TrainingData } from './family.js';

const SHAPES_COUNT = 300;
const SHAPES_SEED = 7;

/** A parsed `--data` value. */
export type DataSpec =
  | { source: 'mnist' | 'shapes' | 'moby-dick' | 'sotu'; kind: DataKind; spec: string }
  | { source: 'images'; kind: 'images'; path: string; spec: string }
  | { source: 'text'; kind: 'text'; path: string; spec: string };

/** The `--data` forms, for help texts and errors. */
export const DATA_FORMS = 'mnist, shapes, moby-dick, sotu, images:DIR or text:FILE';

/**
 * Parses a `--data` value (no file access).
 *
 * @throws UsageError for an unknown name or an empty path.
 */
export function parseDataSpec(value: string): DataSpec {
  const v = value.trim();
  if (v === 'mnist' || v === 'shapes') return { source: v, kind: 'images', spec: v };
  if (v === 'moby-dick' || v === 'sotu') return { source: v, kind: 'text', spec: v };
  const m = /^(images|text):(.+)$/.exec(v);
  if (m) {
    const path = resolve(m[2]);
    return m[1] === 'images'
      ? { source: 'images', kind: 'images', path, spec: `images:${path}` }
      : { source: 'text', kind: 'text', path, spec: `text:${path}` };
  }
  throw new UsageError(
    '--data',
    `expected one of ${DATA_FORMS}`,
    `got '${value}'`,
    'use e.g. --data mnist or --data images:./my-pngs',
  );
}

/** Checks that a `images:`/`text:` path exists and has the right type. */
export async function checkDataPath(spec: DataSpec): Promise<void> {
  if (spec.source !== 'images' && spec.source !== 'text') return;
  const info = await stat(spec.path).catch(() => undefined);
  const wantDir = spec.source === 'images';
  if (!info || (wantDir ? !info.isDirectory() : !info.isFile())) {
    throw new UsageError(
      '--data',
      `expected ${wantDir ? 'a folder of PNG images' : 'a text file'} at ${spec.path}`,
      info ? `got a ${info.isDirectory() ? 'folder' : 'file'}` : 'got nothing there',
      wantDir
        ? 'check the path (images:DIR, one sub-folder per class is optional)'
        : 'check the path (text:FILE)',
    );
  }
}

/** The images of `set` after the last `fraction` are split off (deterministic: every k-th image). */
function splitEveryKth(set: ImageSet, k: number): { train: ImageSet; heldOut: ImageSet } {
  if (set.count < 2 * k) return { train: set, heldOut: set };
  const train: number[] = [];
  const held: number[] = [];
  for (let i = 0; i < set.count; i++) (i % k === k - 1 ? held : train).push(i);
  return { train: subsetImages(set, train), heldOut: subsetImages(set, held) };
}

/**
 * Loads the data a spec names.
 *
 * @returns a {@link TrainingData} (plain arrays on the CPU; nothing to dispose).
 */
export async function loadData(spec: DataSpec): Promise<TrainingData> {
  await checkDataPath(spec);
  switch (spec.source) {
    case 'mnist': {
      const { train, heldOut } = await loadMnist();
      return {
        kind: 'images',
        spec: spec.spec,
        train,
        heldOut,
        classNames: Array.from({ length: 10 }, (_, i) => String(i)),
      };
    }
    case 'shapes': {
      // 300 seeded 16×16 drawings of three shapes: a labelled image set that needs no files.
      const set = shapeImages({ count: SHAPES_COUNT, rng: new Rng(SHAPES_SEED), size: 16 });
      const { train, heldOut } = splitEveryKth(set, 10);
      return { kind: 'images', spec: spec.spec, train, heldOut, classNames: [...SHAPE_CLASSES] };
    }
    case 'images': {
      const { set, classNames } = await loadImageFolder(spec.path);
      // One image in ten is held out for metrics (when there are at least 20).
      const { train, heldOut } = splitEveryKth(set, 10);
      return { kind: 'images', spec: spec.spec, train, heldOut, classNames };
    }
    case 'moby-dick':
    case 'sotu': {
      const corpus = spec.source === 'sotu' ? await loadSotu() : await loadMobyDick();
      return { kind: 'text', spec: spec.spec, train: corpus.train, heldOut: corpus.heldOut };
    }
    case 'text': {
      const text = await loadTextFile({ path: spec.path });
      const cut = Math.floor(text.length * 0.9);
      return { kind: 'text', spec: spec.spec, train: text.slice(0, cut), heldOut: text.slice(cut) };
    }
  }
}
