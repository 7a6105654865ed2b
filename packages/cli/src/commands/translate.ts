// `sculpt translate <checkpoint>`: an image-to-image model (the gan family's
// CycleGAN) translates held-out MNIST digits or a folder of PNGs, and a grid
// of input rows over output rows is written.
import { mkdir } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { BackendPreference } from '@sculpt/backend';
import { imageGrid, writePng } from '@sculpt/core';
import {
  type ImageSet,
  loadImageFolder,
  loadMnist,
  styleTransform,
  subsetImages,
} from '@sculpt/datasets';
import * as tf from '@tensorflow/tfjs-core';
import { InvalidArgumentError } from 'commander';
import { checkDataPath, parseDataSpec } from '../data.js';
import { UsageError } from '../errors.js';
import type { CliIo } from '../io.js';
import { imageModelOf, loadRun } from './sample.js';

/** A translation direction. */
export type Direction = 'AtoB' | 'BtoA';

/** Options of {@link translateCommand}. */
export interface TranslateOptions {
  /** `mnist` (held-out digits; their styled form for BtoA) or a folder of PNGs. */
  in: string;
  direction: Direction;
  /** How many images (evenly spaced through the set). */
  n: number;
  /** Folder to write into (default `<run>/translate`). */
  out?: string;
  backend: BackendPreference;
}

/** Parses `--direction`. */
export function parseDirection(value: string): Direction {
  if (value === 'AtoB' || value === 'BtoA') return value;
  throw new InvalidArgumentError(`direction must be AtoB or BtoA, got '${value}'.`);
}

const COLUMNS = 10;

/** The images to translate: MNIST's held-out digits (domain A, or B = styled) or a folder's PNGs. */
async function inputs(source: string, direction: Direction): Promise<ImageSet> {
  if (source === 'mnist') {
    const { heldOut } = await loadMnist();
    return direction === 'AtoB' ? heldOut : styleTransform(heldOut);
  }
  const spec = parseDataSpec(`images:${source}`);
  await checkDataPath(spec); // a UsageError for a missing folder
  const { set } = await loadImageFolder(resolve(source));
  return set;
}

/** Input rows over output rows, `COLUMNS` images per row; short rows padded with grey. */
function pairGrid(x: tf.Tensor4D, y: tf.Tensor4D): tf.Tensor3D {
  return tf.tidy(() => {
    const [n, h, w, c] = x.shape;
    const cols = Math.min(COLUMNS, n);
    const rows = Math.ceil(n / cols);
    const pad = (t: tf.Tensor4D) =>
      tf.concat([t, tf.fill([rows * cols - n, h, w, c], 0.5)]) as tf.Tensor4D;
    const [px, py] = [pad(x), pad(y)].map((t) => tf.reshape(t, [rows, 1, cols, h, w, c]));
    const both = tf.reshape(tf.concat([px, py], 1), [2 * rows * cols, h, w, c]) as tf.Tensor4D;
    return imageGrid(both, { columns: cols, padValue: 0.5 });
  });
}

/**
 * Runs `sculpt translate`: writes `translate-<direction>.png` (input row over output row).
 *
 * @returns the path written.
 * @throws UsageError for a checkpoint that does not translate or images that do not fit it.
 */
export async function translateCommand(
  path: string,
  options: TranslateOptions,
  io: CliIo,
): Promise<string> {
  const where = 'sculpt translate';
  const loaded = await loadRun(path, options.backend, where);
  try {
    const model = imageModelOf(loaded.model, where);
    if (!model.translate) {
      throw new UsageError(
        where,
        'expected a checkpoint of an image-to-image model',
        `got a ${loaded.run.family} '${loaded.run.preset}' model (it samples from noise)`,
        'train one with sculpt train gan --preset cyclegan-digits, or use sculpt sample',
      );
    }
    const set = await inputs(options.in, options.direction);
    const [h, w, c] = model.sampleShape;
    if (set.height !== h || set.width !== w || set.channels !== c || set.count === 0) {
      throw new UsageError(
        '--in',
        `expected ${h}×${w}×${c} images (what the model was trained on)`,
        `got ${set.count} of ${set.width}×${set.height}×${set.channels}`,
        'resize the PNGs, or use --in mnist',
      );
    }
    const n = Math.min(options.n, set.count);
    // Evenly spaced through the set (MNIST's held-out digits are ordered by class).
    const stride = Math.floor(set.count / n);
    const picked = subsetImages(
      set,
      Array.from({ length: n }, (_, i) => i * stride),
    );
    const started = performance.now();
    const x = tf.tensor4d(picked.images, [n, h, w, c]);
    const y = await model.translate(x, options.direction);
    const grid = pairGrid(x, y);
    tf.dispose([x, y]);
    const dir = resolve(options.out ?? `${loaded.runDir}/translate`);
    const file = `${dir}/translate-${options.direction}.png`;
    try {
      await mkdir(dir, { recursive: true });
      await writePng(file, grid);
    } finally {
      grid.dispose();
    }
    const secs = (performance.now() - started) / 1000;
    io.report.say(
      `wrote ${n} translations (${options.direction}, inputs over outputs; ${secs.toFixed(1)} s) to ${file}`,
    );
    io.report.emit(
      {
        event: 'translate',
        path: file,
        direction: options.direction,
        count: n,
        seconds: Number(secs.toFixed(3)),
      },
      `${file}\n`,
    );
    return file;
  } finally {
    loaded.model.dispose();
  }
}
