/**
 * Sampling throughput: images/s of 20-step DPM++ 2M with classifier-free
 * guidance (scale 3: conditional and null-label inputs in one batch) with
 * @sculpt/diffusion's `mnist` preset (28×28, class-conditional U-Net with
 * attention at 7×7), freshly initialised weights (speed does not depend on
 * training), 64 images per call (16 with `quick`). torch_bench.py's
 * `sampling` runs the same network and loop.
 */
import { DiffusionModel, sampleModel } from '@sculpt/diffusion';
import type { Tensor } from '@tensorflow/tfjs-core';
import type { Result } from './result.js';

/**
 * Median images/s of `sample()` (20 sampler steps for `numSamples` images),
 * over 1 (`quick`) or 3 calls after one warm-up call.
 */
export async function timeSampling(
  numSamples: number,
  sample: () => Promise<Tensor>,
  quick: boolean,
): Promise<Result> {
  const once = async (): Promise<number> => {
    const start = performance.now();
    const images = await sample();
    images.dataSync();
    images.dispose();
    return performance.now() - start;
  };
  await once();
  const times: number[] = [];
  for (let i = 0; i < (quick ? 1 : 3); i++) times.push(await once());
  times.sort((a, b) => a - b);
  const ms = times[Math.floor(times.length / 2)];
  return {
    msPerStep: Number((ms / 20).toFixed(2)),
    imagesPerSecond: Number(((numSamples * 1000) / ms).toFixed(2)),
    samples: times.map((t) => Number(t.toFixed(1))),
  };
}

/** Median images/s over a few sampling calls (one warm-up call first). */
export async function samplingImagesPerSecond(options: { quick: boolean }): Promise<Result> {
  const numSamples = options.quick ? 16 : 64;
  const labels = Array.from({ length: numSamples }, (_, i) => i % 10);
  const model = DiffusionModel.create('mnist', { seed: 0 });
  try {
    const sample = () =>
      sampleModel(model, { labels, guidanceScale: 3, steps: 20, sampler: 'dpmpp-2m', seed: 0 });
    return await timeSampling(numSamples, sample, options.quick);
  } finally {
    model.dispose();
  }
}
