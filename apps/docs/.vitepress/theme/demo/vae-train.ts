// Training the `mnist-2d` VAE in the page: @sculpt/vae's VaeTrainer (core's
// Trainer: Adam, clipping, a NaN guard) on a few thousand MNIST training
// digits served as one packed uint8 file (public/assets/mnist-train-3000.bin,
// written by scripts/prepare.mjs). Loss per step is
//   −ELBO(x) = −E_q[log p(x|z)] + KL(q(z|x) ‖ N(0, I))          (nats per image)
// on dynamically binarized pixels, the CLI's recipe.
import { Rng } from '@sculpt/core';
import { type ImageSet, subsetImages } from '@sculpt/datasets';
import { VaeModel, VaeTrainer } from '@sculpt/vae';
import * as tf from '@tensorflow/tfjs-core';
import { DIGIT, loadDigits } from './vae';

/** Digits per step: smaller than the CLI's 100 so a software GPU still draws a few steps a second. */
export const BATCH = 64;
/** KL warm-up (steps): the KL weight ramps 0 → 1 so the decoder learns before the prior pulls. */
export const KL_WARMUP_STEPS = 50;
/** Adam's learning rate: twice the CLI's, for a minute-long run. */
export const LEARNING_RATE = 2e-3;

/** Fetches the packed training digits the page trains on. */
export function loadTrainDigits(): Promise<ImageSet> {
  return loadDigits('/assets/mnist-train-3000.bin');
}

/** What the page hears after each step. */
export interface TrainTick {
  step: number;
  /** −ELBO of this step's batch, nats per image. */
  negElbo: number;
  kl: number;
  /** Steps per second over the run so far. */
  stepsPerSecond: number;
}

/** Options of {@link trainInPage}. */
export interface TrainInPageOptions {
  data: ImageSet;
  /** Stop after this many steps (this run). */
  maxSteps: number;
  /** Stop after this many seconds (this run). */
  maxSeconds: number;
  signal: AbortSignal;
  seed: number;
  /** Called after every step; awaited (the page redraws here). */
  onStep: (tick: TrainTick) => void | Promise<void>;
}

/**
 * A fresh `mnist-2d` model and its trainer (the caller disposes both).
 * @example `const { model, trainer } = createTraining(0)`
 */
export function createTraining(seed: number): { model: VaeModel; trainer: VaeTrainer } {
  const model = VaeModel.create('mnist-2d', { seed });
  const trainer = new VaeTrainer(model, {
    learningRate: LEARNING_RATE,
    binarize: 'dynamic',
    klWarmupSteps: KL_WARMUP_STEPS,
    seed: seed + 1,
  });
  return { model, trainer };
}

/**
 * Runs steps until `maxSteps`, `maxSeconds` or the signal, yielding to the
 * browser after each (tf.nextFrame), so the page stays live. Batches are drawn
 * on the CPU from the trainer's Rng and uploaded; nothing is read back but the
 * trainer's own loss.
 * @returns steps run.
 */
export async function trainInPage(
  trainer: VaeTrainer,
  options: TrainInPageOptions,
): Promise<number> {
  const { data, maxSteps, maxSeconds, signal, onStep } = options;
  const rng = new Rng(options.seed + trainer.stepCount);
  const started = performance.now();
  let done = 0;
  while (done < maxSteps && !signal.aborted) {
    const picked = subsetImages(data, rng.integers(BATCH, 0, data.count));
    const images = tf.tensor4d(picked.images, [picked.count, DIGIT, DIGIT, 1]);
    let result: Awaited<ReturnType<VaeTrainer['step']>>;
    try {
      result = await trainer.step(images);
    } finally {
      images.dispose();
    }
    done++;
    const seconds = (performance.now() - started) / 1000;
    await onStep({
      step: result.step,
      negElbo: result.terms.negElbo ?? result.loss,
      kl: result.terms.kl ?? 0,
      stepsPerSecond: done / seconds,
    });
    await tf.nextFrame();
    if (seconds >= maxSeconds) break;
  }
  return done;
}

/** Polyline of the loss curve (−ELBO per step) on a canvas, y clipped to [yMin, yMax]. */
export function drawLossCurve(
  canvas: HTMLCanvasElement,
  losses: readonly number[],
  bounds: { yMin: number; yMax: number },
): void {
  const ctx = canvas.getContext('2d');
  if (!ctx) return;
  const { width: w, height: h } = canvas;
  const pad = 28;
  ctx.fillStyle = '#fff';
  ctx.fillRect(0, 0, w, h);
  ctx.strokeStyle = '#ccc';
  ctx.fillStyle = '#555';
  ctx.font = '11px sans-serif';
  const y = (v: number) =>
    h -
    pad -
    ((Math.min(bounds.yMax, Math.max(bounds.yMin, v)) - bounds.yMin) /
      (bounds.yMax - bounds.yMin)) *
      (h - 2 * pad);
  for (let v = bounds.yMin; v <= bounds.yMax; v += 100) {
    ctx.beginPath();
    ctx.moveTo(pad, y(v));
    ctx.lineTo(w - 4, y(v));
    ctx.stroke();
    ctx.fillText(String(v), 2, y(v) + 4);
  }
  if (losses.length < 2) return;
  ctx.strokeStyle = '#3451b2';
  ctx.beginPath();
  losses.forEach((v, i) => {
    const x = pad + (i / (losses.length - 1)) * (w - pad - 4);
    if (i === 0) ctx.moveTo(x, y(v));
    else ctx.lineTo(x, y(v));
  });
  ctx.stroke();
}
