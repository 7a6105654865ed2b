// `sculpt bench`: training steps/s and sampling time of a family's preset on
// the chosen backend, printed as JSON (numbers come from here, never from tests).
import type { BackendPreference } from '@sculpt/backend';
import type { JsonValue } from '@sculpt/core';
import { getSampler } from '@sculpt/samplers';
import { backendLabel, startBackend } from '../backend.js';
import { loadData, parseDataSpec } from '../data.js';
import { checkPreset, getFamily } from '../families/index.js';
import type { FamilyAdapter, ImageFamilyModel, TextFamilyModel } from '../family.js';
import type { CliIo } from '../io.js';
import { checkSamplerFlag } from './sample.js';

/** Options of {@link benchCommand}. */
export interface BenchOptions {
  preset?: string;
  steps: number;
  batch?: number;
  samplerSteps?: number;
  sampler?: string;
  n: number;
  backend: BackendPreference;
}

/**
 * Times `steps` training steps (after 2 warm-up steps) and one sampling run.
 *
 * @returns the measurements as plain JSON (also printed).
 */
export async function benchCommand(
  familyName: string,
  options: BenchOptions,
  io: CliIo,
): Promise<{ [key: string]: JsonValue }> {
  const family = getFamily(familyName);
  const preset = checkPreset(family, options.preset ?? family.defaultPreset);
  checkSamplerFlag(family, options.sampler);
  if (family.usesSamplers && options.sampler !== undefined) getSampler(options.sampler);
  const backend = await startBackend(options.backend);
  const data = await loadData(parseDataSpec(family.defaultData));
  const model = await family.create({
    preset,
    data,
    batchSize: options.batch,
    seed: 0,
    totalSteps: undefined,
  });
  try {
    const noop = () => undefined;
    await model.train({ steps: 2, onStep: noop });
    const t = performance.now();
    await model.train({ steps: options.steps, onStep: noop });
    const trainSeconds = (performance.now() - t) / 1000;
    const result: { [key: string]: JsonValue } = {
      family: family.name,
      preset,
      backend: backendLabel(backend),
      simd: backend.simd ?? null,
      threads: backend.threads ?? null,
      parameters: model.parameterCount,
      batchSize: model.batchSize,
      trainSteps: options.steps,
      msPerTrainStep: Number(((trainSeconds * 1000) / options.steps).toFixed(1)),
      trainStepsPerSecond: Number((options.steps / trainSeconds).toFixed(3)),
      examplesPerSecond: Number(((options.steps * model.batchSize) / trainSeconds).toFixed(1)),
      ...(model.kind === 'images'
        ? await timeSampling(family, model, options)
        : await timeGeneration(model, options)),
    };
    io.report.data(`${JSON.stringify(result, null, 2)}\n`, { event: 'bench', ...result });
    return result;
  } finally {
    model.dispose();
  }
}

/** Seconds to draw `options.n` images with the family's default sampler. */
async function timeSampling(
  family: FamilyAdapter,
  model: ImageFamilyModel,
  options: BenchOptions,
): Promise<{ [key: string]: JsonValue }> {
  const labels =
    model.numClasses > 0
      ? Array.from({ length: options.n }, (_, i) => i % model.numClasses)
      : undefined;
  const sampler = options.sampler ?? family.sampleDefaults.sampler;
  const samplerSteps = options.samplerSteps ?? family.sampleDefaults.steps;
  const t = performance.now();
  const images = await model.sample({
    numSamples: options.n,
    sampler,
    steps: samplerSteps,
    guidanceScale: family.sampleDefaults.guidanceScale,
    labels,
    seed: 0,
  });
  const sampleSeconds = (performance.now() - t) / 1000;
  images.dispose();
  return {
    sampler: sampler ?? null,
    samplerSteps: samplerSteps ?? null,
    samples: options.n,
    sampleSeconds: Number(sampleSeconds.toFixed(3)),
  };
}

/** Tokens per second generating `options.n` new tokens at batch 1. */
async function timeGeneration(
  model: TextFamilyModel,
  options: BenchOptions,
): Promise<{ [key: string]: JsonValue }> {
  const t = performance.now();
  let pieces = 0;
  for await (const _ of model.generate({ prompt: '', maxNewTokens: options.n, seed: 0 })) pieces++;
  const seconds = (performance.now() - t) / 1000;
  return {
    newTokens: options.n,
    pieces,
    generateSeconds: Number(seconds.toFixed(3)),
    tokensPerSecond: Number((options.n / seconds).toFixed(1)),
  };
}
