// `sculpt sample <checkpoint>`: a grid of samples from a trained model.

import { mkdir } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import type { BackendPreference } from '@sculpt/backend';
import { imageGrid, writePng } from '@sculpt/core';
import { getSampler } from '@sculpt/samplers';
import * as tf from '@tensorflow/tfjs-core';
import { startBackend } from '../backend.js';
import { UsageError } from '../errors.js';
import { getFamily } from '../families/index.js';
import type {
  FamilyAdapter,
  FamilyModel,
  ImageFamilyModel,
  SampleRequest,
  TextFamilyModel,
} from '../family.js';
import type { CliIo } from '../io.js';
import { locateCheckpoint, type RunInfo, readRunCheckpoint } from '../run-dir.js';

/** Sampling flags shared by `sample`, `eval` and `demo`. */
export interface SamplingFlags {
  sampler?: string;
  steps?: number;
  guidance?: number;
  truncation?: number;
  seed?: number;
}

/** Options of {@link sampleCommand}. */
export interface SampleOptions extends SamplingFlags {
  labels?: number[] | 'all';
  /** A text prompt (text-to-image families). */
  prompt?: string;
  n?: number;
  out?: string;
  backend: BackendPreference;
}

/** A model restored from a run folder, with its run info. */
export interface LoadedRun {
  family: FamilyAdapter;
  model: FamilyModel;
  run: RunInfo;
  runDir: string;
  checkpointDir: string;
}

/** Checks `--sampler` before anything slow happens (the registry's error lists every name). */
export function checkSampler(name: string | undefined): void {
  if (name !== undefined) getSampler(name);
}

/**
 * Finds, reads and restores a checkpoint (for sampling or evaluation).
 *
 * @returns the restored model; the caller disposes `model`.
 * @throws UsageError / CheckpointError for a missing, corrupt or foreign checkpoint.
 */
export async function loadRun(
  path: string,
  backend: BackendPreference,
  where: string,
): Promise<LoadedRun> {
  const { checkpointDir, runDir } = await locateCheckpoint(path, where);
  await startBackend(backend);
  const stored = await readRunCheckpoint(checkpointDir);
  try {
    const family = getFamily(stored.run.family);
    const model = await family.restore(stored.model, { totalSteps: undefined });
    return { family, model, run: stored.run, runDir, checkpointDir };
  } finally {
    tf.dispose(Object.values(stored.model.tensors));
  }
}

/** The model as an image model, or a UsageError pointing text models at `sculpt generate`. */
export function imageModelOf(model: FamilyModel, where: string): ImageFamilyModel {
  if (model.kind === 'images') return model;
  throw new UsageError(
    where,
    'expected a checkpoint of a model that generates images',
    'got a text model',
    'use sculpt generate <checkpoint> --prompt "…" for text models',
  );
}

/** The model as a text model, or a UsageError pointing image models at `sculpt sample`. */
export function textModelOf(model: FamilyModel, where: string): TextFamilyModel {
  if (model.kind === 'text') return model;
  throw new UsageError(
    where,
    'expected a checkpoint of a model that generates text',
    'got an image model',
    'use sculpt sample <checkpoint> for image models',
  );
}

/** Refuses `--sampler` for a family that takes none. */
export function checkSamplerFlag(family: FamilyAdapter, sampler: string | undefined): void {
  if (sampler === undefined || family.usesSamplers) return;
  throw new UsageError(
    '--sampler',
    `expected no --sampler for ${family.name} (it does not use diffusion samplers)`,
    `got '${sampler}'`,
    'drop --sampler',
  );
}

/** The request `flags` make for `model`, with labels checked against its classes. */
export function sampleRequest(
  family: FamilyAdapter,
  model: ImageFamilyModel,
  flags: SamplingFlags & { labels?: number[] | 'all'; n?: number; prompt?: string },
): SampleRequest & { columns?: number } {
  const k = model.numClasses;
  if (flags.prompt !== undefined && !family.takesPrompts) {
    throw new UsageError(
      '--prompt',
      `expected no --prompt for ${family.name} (it is not text-conditioned)`,
      `got '${flags.prompt.slice(0, 60)}'`,
      'drop --prompt, or sample a latent (text-to-image) run',
    );
  }
  let labels: number[] | undefined;
  let columns: number | undefined;
  if (flags.labels !== undefined && k === 0) {
    throw new UsageError(
      '--labels',
      'expected a class-conditional model',
      'got an unconditional one',
      'drop --labels',
    );
  }
  if (k > 0) {
    const base =
      flags.labels === undefined || flags.labels === 'all'
        ? Array.from({ length: k }, (_, i) => i)
        : flags.labels;
    const bad = base.find((l) => l >= k);
    if (bad !== undefined) {
      throw new UsageError(
        '--labels',
        `expected class indices in [0, ${k - 1}]`,
        `got ${bad}`,
        `use e.g. --labels 0-${k - 1}`,
      );
    }
    const n =
      flags.n ?? (flags.labels === undefined || flags.labels === 'all' ? k * 4 : base.length);
    labels = Array.from({ length: n }, (_, i) => base[i % base.length]);
    columns = base.length <= 16 ? base.length : undefined;
  }
  return {
    numSamples: labels?.length ?? flags.n ?? 36,
    sampler: flags.sampler ?? family.sampleDefaults.sampler,
    steps: flags.steps ?? family.sampleDefaults.steps,
    guidanceScale: flags.guidance ?? family.sampleDefaults.guidanceScale,
    ...(flags.truncation === undefined ? {} : { truncation: flags.truncation }),
    labels,
    ...(flags.prompt === undefined ? {} : { prompts: [flags.prompt] }),
    seed: flags.seed ?? 0,
    columns,
  };
}

/**
 * Runs `sculpt sample`: writes a PNG grid of samples.
 *
 * @returns the path written.
 */
export async function sampleCommand(
  path: string,
  options: SampleOptions,
  io: CliIo,
): Promise<string> {
  checkSampler(options.sampler);
  const loaded = await loadRun(path, options.backend, 'sculpt sample');
  try {
    const model = imageModelOf(loaded.model, 'sculpt sample');
    checkSamplerFlag(loaded.family, options.sampler);
    const { columns, ...request } = sampleRequest(loaded.family, model, options);
    const file = resolve(options.out ?? `${loaded.runDir}/sample.png`);
    if (resolve(dirname(file)) === resolve(loaded.checkpointDir)) {
      throw new UsageError(
        '--out',
        'expected a file outside the checkpoint folder',
        `got ${file}`,
        'write it next to the checkpoint folder instead',
      );
    }
    const started = performance.now();
    const images = await model.sample(request);
    const grid = imageGrid(images, { columns });
    images.dispose();
    try {
      await mkdir(dirname(file), { recursive: true });
      await writePng(file, grid);
    } finally {
      grid.dispose();
    }
    const secs = (performance.now() - started) / 1000;
    const what = [
      request.sampler,
      request.steps && `${request.steps} steps`,
      request.guidanceScale !== undefined &&
        (request.labels || loaded.family.takesPrompts) &&
        `guidance ${request.guidanceScale}`,
      request.prompts && JSON.stringify(request.prompts[0]),
      request.truncation !== undefined && `truncation ${request.truncation}`,
    ]
      .filter(Boolean)
      .join(', ');
    io.report.say(
      `wrote ${request.numSamples} samples (${what ? `${what}; ` : ''}${secs.toFixed(1)} s) to ${file}`,
    );
    io.report.emit(
      {
        event: 'sample',
        path: file,
        numSamples: request.numSamples,
        sampler: request.sampler ?? null,
        steps: request.steps ?? null,
        seconds: Number(secs.toFixed(3)),
      },
      `${file}\n`,
    );
    return file;
  } finally {
    loaded.model.dispose();
  }
}
