// `sculpt eval <checkpoint>`: the family's own metrics as JSON, on the
// held-out split of the data the model was trained on (FD/KID/class accuracy
// for image families, nats per token/char for text families).
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import type { BackendPreference } from '@sculpt/backend';
import { imageGrid, type JsonValue, writePng } from '@sculpt/core';
import type * as tf from '@tensorflow/tfjs-core';
import { loadData, parseDataSpec } from '../data.js';
import type { EvalReport, EvaluateRequest } from '../family.js';
import type { CliIo } from '../io.js';
import { checkSampler, type LoadedRun, loadRun, type SamplingFlags } from './sample.js';

/** Options of {@link evalCommand}. */
export interface EvalOptions extends SamplingFlags {
  n: number;
  out?: string;
  backend: BackendPreference;
  /** Folder for the PNG figures a family writes (VAE reconstructions, interpolations). Default: none written. */
  figuresDir?: string;
}

/** A {@link EvaluateRequest.writeImages} that writes `<dir>/<name>.png`. */
function gridWriter(dir: string): NonNullable<EvaluateRequest['writeImages']> {
  return async (name: string, images: tf.Tensor4D, columns: number) => {
    const file = join(dir, `${name}.png`);
    await mkdir(dir, { recursive: true });
    const grid = imageGrid(images, { columns });
    try {
      await writePng(file, grid);
    } finally {
      grid.dispose();
    }
    return file;
  };
}

const round = (v: number, digits = 4): number => Number(v.toPrecision(digits));

/** The run and the settings of a measurement, for the JSON. */
export function describeRun(
  loaded: LoadedRun,
  request: Pick<EvaluateRequest, 'numSamples' | 'sampling' | 'seed'> & {
    labels?: readonly number[];
  },
): { [key: string]: JsonValue } {
  const base = {
    family: loaded.run.family,
    preset: loaded.run.preset,
    data: loaded.run.data,
    step: loaded.model.stepCount,
  };
  if (loaded.model.kind === 'text') return base;
  const conditional = request.labels !== undefined || loaded.model.numClasses > 0;
  return {
    ...base,
    samples: request.numSamples,
    sampler: request.sampling.sampler ?? null,
    samplerSteps: request.sampling.steps ?? null,
    guidanceScale: conditional ? (request.sampling.guidanceScale ?? null) : null,
    ...(request.sampling.truncation === undefined
      ? {}
      : { truncation: request.sampling.truncation }),
    seed: request.seed,
  };
}

/**
 * Scores a loaded model with its family's metrics on the held-out split of its training data.
 *
 * @returns plain JSON: the run's description, the family's metrics and the seconds it took.
 */
export async function evaluateRun(loaded: LoadedRun, options: EvalOptions): Promise<EvalReport> {
  const started = performance.now();
  const data = await loadData(parseDataSpec(loaded.run.data));
  const defaults = loaded.family.sampleDefaults;
  const request: EvaluateRequest = {
    data,
    numSamples: options.n,
    sampling: {
      sampler: options.sampler ?? defaults.sampler,
      steps: options.steps ?? defaults.steps,
      guidanceScale: options.guidance ?? defaults.guidanceScale,
      ...(options.truncation === undefined ? {} : { truncation: options.truncation }),
    },
    seed: options.seed ?? 0,
    ...(options.figuresDir === undefined ? {} : { writeImages: gridWriter(options.figuresDir) }),
  };
  const scores = await loaded.model.evaluate(request);
  return {
    ...describeRun(loaded, request),
    ...scores,
    seconds: round((performance.now() - started) / 1000, 3),
  };
}

/**
 * Runs `sculpt eval`: prints the metrics as JSON and writes them to
 * `<run>/metrics.json` (or `--out`).
 *
 * @returns the metrics and the file written.
 */
export async function evalCommand(
  path: string,
  options: EvalOptions,
  io: CliIo,
): Promise<{ metrics: EvalReport; file: string }> {
  checkSampler(options.sampler);
  const loaded = await loadRun(path, options.backend, 'sculpt eval');
  try {
    const file = resolve(options.out ?? `${loaded.runDir}/metrics.json`);
    const metrics = await evaluateRun(loaded, { figuresDir: dirname(file), ...options });
    await mkdir(dirname(file), { recursive: true });
    await writeFile(file, `${JSON.stringify(metrics, null, 2)}\n`);
    io.report.data(`${JSON.stringify(metrics, null, 2)}\n`, {
      event: 'metrics',
      path: file,
      ...metrics,
    });
    io.report.say(`metrics written to ${file}`);
    return { metrics, file };
  } finally {
    loaded.model.dispose();
  }
}
