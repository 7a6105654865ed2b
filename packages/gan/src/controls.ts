// Checks of the style generator's sampling controls (truncation ψ, style
// mixing), shared by GanModel.generate and GanModel.sample.
import { formatShape, SculptError } from '@sculpt/core';
import * as tf from '@tensorflow/tfjs-core';
import type { GanConfig } from './config.js';
import { styleLayers } from './style.js';

/** Style mixing in {@link GanModel.generate}: second latents and the first layer that uses them. */
export interface StyleMixing {
  /** Second noise vectors `[B, latentDim]` (not disposed). */
  latents: tf.Tensor2D;
  /** Index of the first conv layer styled by `latents`, in [1, numStyleLayers − 1]. */
  crossover: number;
}

/** Number of style inputs (modulated conv layers) of a style generator: 7 for 28×28. */
export function numStyleLayers(config: GanConfig): number {
  return styleLayers(config).length;
}

/** Throws unless the controls fit the model: ψ ∈ [0, 1], a crossover in range, latents `[B, Z]`. */
export function checkControls(
  where: string,
  config: GanConfig,
  batch: number,
  truncation: number | undefined,
  mixing: StyleMixing | { crossover: number } | undefined,
): void {
  if ((truncation !== undefined || mixing !== undefined) && config.generator !== 'style') {
    throw new SculptError(
      where,
      "expected no truncation or mixing for a DCGAN generator (they need generator: 'style')",
      `got ${truncation !== undefined ? `truncation ${truncation}` : 'mixing'}`,
      "create the model with preset 'stylegan-mnist' or generator: 'style'",
    );
  }
  if (truncation !== undefined && !(truncation >= 0 && truncation <= 1)) {
    throw new SculptError(
      where,
      'expected truncation ψ in [0, 1]',
      `got ${truncation}`,
      'use 1 for no truncation, ~0.7 for cleaner samples, 0 for the mean image',
    );
  }
  if (!mixing) return;
  const layers = numStyleLayers(config);
  const { crossover } = mixing;
  if (!(Number.isInteger(crossover) && crossover >= 1 && crossover < layers)) {
    throw new SculptError(
      where,
      `expected mixing.crossover to be an integer in [1, ${layers - 1}] (the generator has ${layers} style layers)`,
      `got ${crossover}`,
      'pick the first layer that takes the second style, e.g. 3',
    );
  }
  if ('latents' in mixing) {
    const z = mixing.latents;
    const ok =
      z instanceof tf.Tensor &&
      z.rank === 2 &&
      z.shape[0] === batch &&
      z.shape[1] === config.latentDim;
    if (!ok) {
      throw new SculptError(
        where,
        `expected mixing.latents of shape [${batch}, ${config.latentDim}]`,
        `got ${z instanceof tf.Tensor ? formatShape(z.shape) : typeof z}`,
        'draw them like z, one row per image',
      );
    }
  }
}
