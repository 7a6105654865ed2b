/**
 * @sculpt/cli — The sculpt command: train, sample and evaluate sculpt's models on bundled data.
 *
 * The package is the `sculpt` executable; this entry point exposes what it
 * is built from, so a model family can be plugged in by implementing
 * {@link FamilyAdapter} (see `src/families/diffusion.ts`).
 * @packageDocumentation
 */
export { buildProgram, main } from './cli.js';
export { describeFailure, EXIT, UsageError } from './errors.js';
export { FAMILIES, getFamily } from './families/index.js';
export type {
  CreateModelOptions,
  DataKind,
  FamilyAdapter,
  FamilyModel,
  PresetInfo,
  SampleRequest,
  TrainingData,
} from './family.js';
export type { CliIo } from './io.js';
export type { LossPlotOptions, Raster } from './plot.js';
export { renderLossPlot, writeLossPlot } from './plot.js';
