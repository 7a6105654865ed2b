// `sculpt demo`: the main job on a fresh clone. Trains a small class-
// conditional diffusion model on the bundled MNIST for a few minutes, then
// writes a sample grid (one column per digit), the loss plot and the metrics.
import { rm, writeFile } from 'node:fs/promises';
import { relative } from 'node:path';
import type { BackendPreference } from '@sculpt/backend';
import { imageGrid, type JsonValue, writePng } from '@sculpt/core';
import { loadMnist } from '@sculpt/datasets';
import { EXIT, UsageError } from '../errors.js';
import type { CliIo } from '../io.js';
import { scoreImageSamples } from '../metrics/images.js';
import { formatDuration } from '../progress.js';
import { hasCheckpoint, runPaths } from '../run-dir.js';
import { describeRun } from './eval.js';
import { imageModelOf, loadRun, sampleRequest } from './sample.js';
import { trainCommand } from './train.js';

/** The family and preset the demo trains. */
/** What the demo trains: the MNIST preset at its measured batch size, for a few minutes. */
export const DEMO = Object.freeze({
  family: 'diffusion',
  preset: 'mnist',
  data: 'mnist',
  batch: 64,
  minutes: 5,
  samples: 100,
});

/** Options of {@link demoCommand}. */
export interface DemoOptions {
  minutes: number;
  out: string;
  backend: BackendPreference;
  seed: number;
  overwrite: boolean;
  samples: number;
  preset?: string;
}

/** Paths and numbers the demo produced. */
export interface DemoOutcome {
  status: number;
  grid?: string;
  lossPlot?: string;
  metricsFile?: string;
  metrics?: { [key: string]: JsonValue };
}

const shown = (path: string) => {
  const r = relative(process.cwd(), path);
  return r.startsWith('..') || r === '' ? path : r;
};

/**
 * Runs `sculpt demo`.
 *
 * @returns the outcome (status 0, or 130 when interrupted: the run can be resumed with `sculpt train … --resume`).
 */
export async function demoCommand(options: DemoOptions, io: CliIo): Promise<DemoOutcome> {
  const started = performance.now();
  const paths = runPaths(options.out);
  if (await hasCheckpoint(paths)) {
    if (!options.overwrite) {
      throw new UsageError(
        'sculpt demo',
        `expected ${paths.dir} to hold no demo yet`,
        'got a trained one (left untouched)',
        `look at ${shown(paths.dir)}/grid.png, pass --overwrite to train a new one, or choose another --out`,
      );
    }
    for (const p of [
      paths.checkpoint,
      paths.samplesDir,
      paths.log,
      paths.lossPlot,
      paths.latestSamples,
      paths.metrics,
      `${paths.dir}/grid.png`,
    ])
      await rm(p, { recursive: true, force: true });
  }
  io.report.say(
    `sculpt demo: a class-conditional diffusion model (${DEMO.family}/${options.preset ?? DEMO.preset}) learns MNIST digits for ${formatDuration(options.minutes * 60)}`,
  );
  const trained = await trainCommand(
    DEMO.family,
    {
      preset: options.preset ?? DEMO.preset,
      data: DEMO.data,
      batch: DEMO.batch,
      minutes: options.minutes,
      out: options.out,
      backend: options.backend,
      seed: options.seed,
      sampleEvery: 0,
      checkpointEvery: 250,
    },
    io,
  );
  if (trained.status !== EXIT.ok) return { status: trained.status };
  io.report.say('sampling a 10×10 grid (one column per digit) and measuring it…');
  const loaded = await loadRun(paths.dir, options.backend, 'sculpt demo');
  try {
    // One 10×10 grid (ten of each digit) is both the picture and the measured sample.
    const model = imageModelOf(loaded.model, 'sculpt demo');
    const { columns, ...request } = sampleRequest(loaded.family, model, {
      n: options.samples,
      seed: options.seed,
    });
    const images = await model.sample(request);
    const gridFile = `${paths.dir}/grid.png`;
    let metrics: { [key: string]: JsonValue };
    try {
      const grid = imageGrid(images, { columns });
      await writePng(gridFile, grid);
      grid.dispose();
      const { train, heldOut } = await loadMnist();
      const scores = await scoreImageSamples({
        images,
        labels: request.labels,
        numClasses: model.numClasses,
        train,
        heldOut,
        seed: options.seed,
      });
      metrics = {
        ...describeRun(loaded, { ...request, sampling: request }),
        ...scores,
      };
    } finally {
      images.dispose();
    }
    await writeFile(paths.metrics, `${JSON.stringify(metrics, null, 2)}\n`);
    const ref = (metrics.reference ?? {}) as { [key: string]: JsonValue };
    const line = (s: string) => io.report.say(s);
    io.report.emit({ event: 'sample', path: gridFile, numSamples: request.numSamples });
    io.report.emit({ event: 'metrics', path: paths.metrics, ...metrics });
    line('');
    line(
      `done in ${formatDuration((performance.now() - started) / 1000)}: ${trained.step} training steps on ${trained.backend}, final loss ${trained.lastLoss?.toPrecision(4) ?? 'n/a'}`,
    );
    line(`  samples     ${shown(gridFile)}  (columns: digits 0–9)`);
    line(`  loss plot   ${shown(paths.lossPlot)}`);
    line(`  metrics     ${shown(paths.metrics)}`);
    if (typeof metrics.fd === 'number') {
      line(
        `    FD ${metrics.fd}  KID ${metrics.kid}  precision ${metrics.precision}  recall ${metrics.recall}` +
          (typeof metrics.classAccuracy === 'number'
            ? `  class accuracy ${metrics.classAccuracy}`
            : ''),
      );
      line(
        `    real digits score FD ${ref.fd}  KID ${ref.kid}  precision ${ref.precision}  recall ${ref.recall}` +
          (typeof ref.classAccuracy === 'number' ? `  class accuracy ${ref.classAccuracy}` : '') +
          ` (${metrics.samples} images each)`,
      );
    }
    line(`  checkpoint  ${shown(paths.checkpoint)}`);
    line(
      `next: sculpt sample ${shown(paths.dir)} --labels 7 --n 16   ·   sculpt train diffusion --out ${shown(paths.dir)} --resume --minutes ${options.minutes * 2}`,
    );
    return {
      status: EXIT.ok,
      grid: gridFile,
      lossPlot: paths.lossPlot,
      metricsFile: paths.metrics,
      metrics,
    };
  } finally {
    loaded.model.dispose();
  }
}
