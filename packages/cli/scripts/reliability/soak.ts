// The soak: many train steps and many sample/generate calls on one model of a
// family's smoke preset, recording live tensors and process RSS every `every`
// calls. Flat tensors are the pass (a leak of one tensor per call shows as a
// slope); RSS is reported, since V8 and wasm memory grow and settle on their own.

import * as tf from '@tensorflow/tfjs-core';
import { loadData, parseDataSpec } from '../../src/data.js';
import type { FamilyAdapter, FamilyModel } from '../../src/family.js';

/** One reading. */
export interface SoakPoint {
  at: number;
  tensors: number;
  rssMB: number;
  /** V8's heap in use (after a full collection under --expose-gc): JS objects a loop keeps grow it. */
  heapMB: number;
  /** Memory outside V8's heap: ArrayBuffers, the wasm backend's memory, native buffers. */
  externalMB: number;
}

/** What one family's soak saw. */
export interface SoakReport {
  family: string;
  trainSteps: number;
  calls: number;
  train: SoakPoint[];
  sample: SoakPoint[];
  /** Live tensors after the last call minus after the first reading (0 = flat). */
  tensorSlope: { train: number; sample: number };
  rssGrowthMB: number;
  seconds: number;
}

function reading(at: number): SoakPoint {
  // Under `node --expose-gc` a full collection first, so the heap reads what is retained, not garbage.
  (globalThis as { gc?: () => void }).gc?.();
  const mb = (bytes: number) => Math.round(bytes / 2 ** 20);
  const { rss, heapUsed, external } = process.memoryUsage();
  return {
    at,
    tensors: tf.memory().numTensors,
    rssMB: mb(rss),
    heapMB: mb(heapUsed),
    externalMB: mb(external),
  };
}

/** One sample or generate call of the cheapest kind; disposes what it returns. */
export async function oneCall(model: FamilyModel, seed: number): Promise<void> {
  if (model.kind === 'images') {
    (await model.sample({ numSamples: 1, steps: 2, seed })).dispose();
    return;
  }
  for await (const piece of model.generate({ prompt: '', maxNewTokens: 2, seed })) void piece;
}

/** A fresh model of the family's smoke preset on its smoke data. */
export async function smokeModel(family: FamilyAdapter, totalSteps: number): Promise<FamilyModel> {
  const { preset, data, batchSize } = family.smoke;
  const loaded = await loadData(parseDataSpec(data));
  return family.create({ preset, data: loaded, batchSize, seed: 0, totalSteps });
}

/**
 * Trains `trainSteps` steps and makes `calls` sample/generate calls, reading
 * memory every `every`.
 *
 * @example
 * ```ts
 * const report = await soakFamily(getFamily('vae'), { trainSteps: 1000, calls: 1000, every: 100 });
 * ```
 */
export async function soakFamily(
  family: FamilyAdapter,
  options: { trainSteps: number; calls: number; every: number },
): Promise<SoakReport> {
  const t0 = performance.now();
  const model = await smokeModel(family, options.trainSteps);
  const train = [reading(0)];
  const sample: SoakPoint[] = [];
  try {
    for (let done = 0; done < options.trainSteps; done += options.every) {
      await model.train({
        steps: Math.min(options.every, options.trainSteps - done),
        onStep: () => {},
      });
      train.push(reading(model.stepCount));
    }
    sample.push(reading(0));
    for (let i = 1; i <= options.calls; i++) {
      await oneCall(model, i);
      if (i % options.every === 0) sample.push(reading(i));
    }
  } finally {
    model.dispose();
  }
  const slope = (points: SoakPoint[]) =>
    (points.at(-1)?.tensors ?? 0) - (points[1] ?? points[0]).tensors;
  return {
    family: family.name,
    trainSteps: options.trainSteps,
    calls: options.calls,
    train,
    sample,
    // Measured from the second reading: the first steps make the optimizer state and
    // the first samples a model's cached schedule tensors, once.
    tensorSlope: { train: slope(train), sample: slope(sample) },
    rssGrowthMB: (sample.at(-1)?.rssMB ?? 0) - train[1 < train.length ? 1 : 0].rssMB,
    seconds: Math.round((performance.now() - t0) / 100) / 10,
  };
}
