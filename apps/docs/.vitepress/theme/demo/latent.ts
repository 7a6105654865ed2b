// The text-to-image demo's model loading and generation, kept apart from the Vue
// component. The model is @sculpt/latent's `mnist-text` preset as shipped by
// scripts/latent-checkpoint.mjs (copied to public/checkpoints/ by prepare.mjs).
//
// Notation (Rombach et al. 2022): an image x, its scaled latent
// z = s·E(x) ∈ R^{7×7×4}; the sampler runs on z from z_T ~ N(0, σ_max² I) with
// the guided denoiser D_w = D(z, σ, ∅) + w·(D(z, σ, c) − D(z, σ, ∅)) for the
// prompt's encoding c; every step's estimate ẑ₀ = D_w decodes to x̂₀ = G(ẑ₀ / s).

import { SculptError } from '@sculpt/core';
import type { CaptionBins } from '@sculpt/datasets';
import { captionAttributes, digitCaption, measureDigit, parseCaption } from '@sculpt/datasets';
import { LatentDiffusionModel } from '@sculpt/latent';
import type { MnistClassifier } from '@sculpt/metrics';
import { classifyImages, loadMnistClassifier } from '@sculpt/metrics';
import * as tf from '@tensorflow/tfjs-core';
import { withBase } from 'vitepress';
import { readTiles } from './gan';

/** Side of one digit in pixels. */
export const DIGIT = 28;
const NAME = 'latent-mnist-text';

/** What scripts/latent-checkpoint.mjs wrote next to the weights. */
export interface LatentReport {
  commands?: string[];
  demo?: { steps: number; sampler: string; guidanceScale: number };
  words?: string[];
  bytes?: number;
  sha256?: string;
  bins?: CaptionBins;
  shippedCheck?: { accuracy: number; imagesPerSecond: number };
  results?: {
    aeSteps?: number;
    unetSteps?: number;
    aeSeconds?: number;
    unetSeconds?: number;
    accuracy?: number;
    fd?: number;
    kid?: number;
    backend?: string;
    [key: string]: unknown;
  } | null;
}

/**
 * Example prompts, each written by @sculpt/datasets' `digitCaption` (so every
 * word is in the caption vocabulary the model was trained on).
 */
export function examplePrompts(): string[] {
  return [
    digitCaption({ digit: 7, attributes: { thickness: 'thick', slant: 'slanted' } }),
    digitCaption({ digit: 2, attributes: { size: 'small', slant: 'upright' }, template: 1 }),
    digitCaption({ digit: 0, attributes: { thickness: 'thin' } }),
    digitCaption({ digit: 4, template: 3 }),
    digitCaption({ digit: 8, attributes: { thickness: 'thick' }, template: 2 }),
    digitCaption({ digit: 3, attributes: { slant: 'slanted' } }),
    digitCaption({ digit: 1, attributes: { thickness: 'thin', slant: 'upright' } }),
    digitCaption({ digit: 5, template: 1 }),
  ];
}

/** The library's message for an input it refuses (a SculptError), else `undefined`. */
export function libraryError(err: unknown): string | undefined {
  return err instanceof SculptError ? err.message : undefined;
}

/** The page's model, classifier and report. */
export interface ShippedLatent {
  model: LatentDiffusionModel;
  classifier: MnistClassifier | null;
  report: LatentReport;
  /** One line: what was loaded and from where. */
  source: string;
  dispose(): void;
}

const pct = (v: number) => `${(100 * v).toFixed(1)}%`;

/** One line for the page: training and the figures the report holds. */
export function describeLatentReport(report: LatentReport): string {
  const r = report.results;
  const facts = [
    r?.aeSteps !== undefined ? `autoencoder ${r.aeSteps} steps, U-Net ${r.unetSteps} steps` : '',
    r?.aeSeconds !== undefined && r.unetSeconds !== undefined
      ? `${((r.aeSeconds + r.unetSeconds) / 60).toFixed(1)} min on ${r.backend ?? 'wasm'}`
      : '',
    r?.accuracy !== undefined ? `held-out prompts read as the asked digit ${pct(r.accuracy)}` : '',
    report.bytes !== undefined ? `${(report.bytes / 2 ** 20).toFixed(1)} MB` : '',
  ].filter(Boolean);
  return facts.join(', ');
}

/**
 * Loads the shipped model with `LatentDiffusionModel.fromUrl` (kept in the
 * browser's Cache API, versioned by its hash) and @sculpt/metrics' classifier.
 * @returns both (the caller disposes them) and the report.
 */
export async function loadShippedLatent(): Promise<ShippedLatent> {
  const report: LatentReport = await fetch(withBase(`/checkpoints/${NAME}.json`))
    .then((r) => (r.ok ? r.json() : {}))
    .catch(() => ({}));
  const path = withBase(`/checkpoints/${NAME}.safetensors`);
  const url = new URL(`${path}${report.sha256 ? `?v=${report.sha256}` : ''}`, location.href).href;
  let fromCache = false;
  const [model, classifier] = await Promise.all([
    LatentDiffusionModel.fromUrl(url, {
      onProgress: (p) => {
        fromCache = p.fromCache;
      },
    }),
    loadMnistClassifier({
      source: { url: withBase('/checkpoints/mnist-classifier.safetensors') },
    }).catch(() => null),
  ]);
  const origin = fromCache ? 'from the browser cache' : 'downloaded';
  return {
    model,
    classifier,
    report,
    source: `${describeLatentReport(report)} (${origin})`,
    dispose: () => {
      model.dispose();
      classifier?.dispose();
    },
  };
}

/** The knobs of one generation. */
export interface GenerateOptions {
  prompt: string;
  count: number;
  guidanceScale: number;
  steps: number;
  sampler: string;
  seed: number;
  /** Decode every step's ẑ₀ and hand its tiles to `onPreview` (costs one decode per step). */
  previews: boolean;
  onPreview?: (step: number, values: Float32Array) => void;
}

/** What one generation gives the page. */
export interface Generation {
  /** `[28 · 28·count]` gray values in [0, 1], one row of digits. */
  values: Float32Array;
  /** Milliseconds from the call to the pixels on the CPU. */
  ms: number;
  /** The digit the classifier reads in each image (empty without a classifier). */
  readAs: number[];
  /** The prompt's parsed digit (−1 if it names none). */
  asked: number;
  /** Per image: its measured thickness and slant words (with the training set's bins). */
  attributes: string[];
}

/**
 * Generates `count` images of one prompt with `model.sample` (CFG on the empty
 * prompt, any registered sampler), decoding each step's estimate when asked.
 * @throws SculptError from the library for a prompt it cannot read (unknown word, too long).
 */
export async function generate(lib: ShippedLatent, options: GenerateOptions): Promise<Generation> {
  const { model } = lib;
  const { count } = options;
  const scale = model.autoencoder.scaleFactor;
  const pending: Promise<void>[] = [];
  const onStep = ({ i, denoised }: { i: number; denoised: tf.Tensor }) => {
    const preview = tf.tidy(() => model.autoencoder.decode(tf.div(denoised, scale)));
    pending.push(readTiles(preview, count).then((v) => options.onPreview?.(i, v)));
  };
  const started = performance.now();
  const images = await model.sample({
    prompts: Array(count).fill(options.prompt),
    guidanceScale: options.guidanceScale,
    steps: options.steps,
    sampler: options.sampler,
    seed: options.seed,
    onStep: options.previews ? onStep : undefined,
  });
  const values = await readTiles(tf.clone(images), count);
  const ms = performance.now() - started;
  await Promise.all(pending);
  try {
    const readAs = lib.classifier
      ? (await classifyImages(lib.classifier, images, { range: '-1,1' })).predictions
      : [];
    const asked = parseCaption(options.prompt).digit;
    return {
      values,
      ms,
      readAs: Array.from(readAs),
      asked,
      attributes: measured(lib, values, count),
    };
  } finally {
    images.dispose();
  }
}

/** Thickness and slant words of each digit of a row, by the caption bins of the training set. */
function measured(lib: ShippedLatent, values: Float32Array, count: number): string[] {
  const bins = lib.report.bins;
  if (!bins) return [];
  const width = count * DIGIT;
  return Array.from({ length: count }, (_, k) => {
    const pixels = new Float32Array(DIGIT * DIGIT);
    for (let y = 0; y < DIGIT; y++)
      for (let x = 0; x < DIGIT; x++) pixels[y * DIGIT + x] = values[y * width + k * DIGIT + x];
    const a = captionAttributes(measureDigit({ pixels, height: DIGIT, width: DIGIT }), bins);
    return [a.thickness ?? 'medium', a.slant ?? 'slight slant'].join(', ');
  });
}
