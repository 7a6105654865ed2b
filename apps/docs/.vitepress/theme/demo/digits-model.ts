// The class-conditional digit model behind the denoising demo: @sculpt/diffusion's
// `DiffusionModel`, loaded with `DiffusionModel.fromUrl` (kept in the browser's
// Cache API, so a second visit makes no download) from the checkpoint the site serves
// (public/checkpoints/mnist-diffusion.safetensors, trained by
// `pnpm --filter @sculpt/diffusion train:mnist` and copied by scripts/prepare.mjs).
import {
  CheckpointError,
  type Denoiser,
  type FetchProgress,
  type NoiseSchedule,
} from '@sculpt/core';
import { DiffusionModel } from '@sculpt/diffusion';
import { withBase } from 'vitepress';

/** What the demo needs of a model. */
export interface DigitsModel {
  /** The model itself (forward process helpers take it). */
  model: DiffusionModel;
  /** D(x; σ, {labels}) → x̂₀ on `[B, 28, 28, 1]` in [−1, 1]. */
  denoiser: Denoiser;
  /** The DDPM schedule it was trained on (the forward process uses it too). */
  schedule: NoiseSchedule;
  /** σ range sampling runs over. */
  sigmaMin: number;
  sigmaMax: number;
  numClasses: number;
  /** The label meaning "no class" (classifier-free guidance's unconditional input). */
  nullLabel: number;
  imageSize: number;
  /** Where the weights came from, shown on the page. */
  source: string;
  /** True when the weights are trained (false: a freshly initialised stand-in). */
  trained: boolean;
  /** The guidance the training run's sweep recommends (scale w, CFG rescale φ). */
  guidance: { scale: number; rescale: number };
  dispose(): void;
}

/** What the training script wrote next to the weights (mnist-results.json). */
interface TrainingReport {
  steps?: number;
  trainMinutes?: number;
  backend?: string;
  classAccuracy?: number;
  fd?: number;
  guidanceScale?: number;
  guidanceRescale?: number;
}

/** Guidance for a checkpoint whose report names none. */
const DEFAULT_GUIDANCE = { scale: 3, rescale: 0 };

function wrap(
  model: DiffusionModel,
  source: string,
  trained: boolean,
  guidance = DEFAULT_GUIDANCE,
): DigitsModel {
  const { sigmaMin, sigmaMax } = model.sigmaRange;
  return {
    model,
    denoiser: model.denoiser,
    schedule: model.schedule,
    sigmaMin,
    sigmaMax,
    numClasses: model.numClasses,
    nullLabel: model.numClasses,
    imageSize: model.imageShape[0],
    source,
    trained,
    guidance,
    dispose: () => model.dispose(),
  };
}

/**
 * Fetches and loads the trained checkpoint; without one (a site built before
 * any training run), a freshly initialised `mnist` model stands in so the page
 * still works end to end — and says so.
 */
export async function loadDigitsModel(
  onProgress?: (progress: FetchProgress) => void,
): Promise<DigitsModel> {
  const url = new URL(withBase('/checkpoints/mnist-diffusion.safetensors'), location.href).href;
  let last: FetchProgress | undefined;
  let model: DiffusionModel;
  try {
    model = await DiffusionModel.fromUrl(url, {
      onProgress: (p) => {
        last = p;
        onProgress?.(p);
      },
    });
  } catch (error) {
    if (!(error instanceof CheckpointError)) throw error;
    return wrap(
      DiffusionModel.create('mnist', { seed: 0 }),
      'untrained stand-in (no checkpoint served)',
      false,
    );
  }
  const megabytes = ((last?.loadedBytes ?? 0) / 2 ** 20).toFixed(1);
  const origin = last?.fromCache
    ? `${megabytes} MB from the browser cache`
    : `${megabytes} MB downloaded`;
  const report: TrainingReport = await fetch(withBase('/checkpoints/mnist-diffusion.json'))
    .then((r) => (r.ok ? r.json() : {}))
    .catch(() => ({}));
  const facts = [
    report.steps !== undefined ? `${report.steps} training steps` : undefined,
    report.trainMinutes !== undefined
      ? `${report.trainMinutes} min on ${report.backend ?? 'wasm'}`
      : undefined,
    report.classAccuracy !== undefined
      ? `class accuracy of guided samples ${(100 * report.classAccuracy).toFixed(0)}% at guidance ${report.guidanceScale ?? '?'}`
      : undefined,
    origin,
  ].filter(Boolean);
  return wrap(
    model,
    `@sculpt/diffusion 'mnist' preset, trained by pnpm --filter @sculpt/diffusion train:mnist${facts.length ? ` (${facts.join(', ')})` : ''}`,
    true,
    {
      scale: report.guidanceScale ?? DEFAULT_GUIDANCE.scale,
      rescale: report.guidanceRescale ?? DEFAULT_GUIDANCE.rescale,
    },
  );
}
