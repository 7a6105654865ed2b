// `sculpt train <family>`: the training job, with progress, a JSONL log, a
// loss plot, sample grids and checkpoints; Ctrl-C saves and `--resume`
// continues bit-for-bit (core's Trainer state holds the Rng and the step).
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { BackendPreference } from '@sculpt/backend';
import { AbortError, imageGrid, type StepResult, saveCheckpoint, writePng } from '@sculpt/core';
import * as tf from '@tensorflow/tfjs-core';
import { backendLabel, resumeBackend, startBackend } from '../backend.js';
import { checkDataPath, type DataSpec, loadData, parseDataSpec } from '../data.js';
import { EXIT, UsageError } from '../errors.js';
import { checkPreset, getFamily } from '../families/index.js';
import type { FamilyAdapter, FamilyModel, ImageFamilyModel, TextFamilyModel } from '../family.js';
import type { CliIo } from '../io.js';
import { writeLossPlot } from '../plot.js';
import { formatDuration } from '../progress.js';
import {
  appendLog,
  hasCheckpoint,
  makeRunDirs,
  type RunInfo,
  type RunPaths,
  readLog,
  readRunCheckpoint,
  runPaths,
  storedBackend,
  truncateLog,
} from '../run-dir.js';

/** Options of {@link trainCommand} (the flags of `sculpt train`). */
export interface TrainOptions {
  preset?: string;
  data?: string;
  steps?: number;
  minutes?: number;
  batch?: number;
  out?: string;
  resume?: boolean;
  backend: BackendPreference;
  seed?: number;
  /** Default {@link DEFAULT_SAMPLE_EVERY}, or the resumed run's. */
  sampleEvery?: number;
  /** Default {@link DEFAULT_CHECKPOINT_EVERY}, or the resumed run's. */
  checkpointEvery?: number;
}

/** What a finished (or interrupted) training run reports. */
export interface TrainOutcome {
  status: number;
  paths: RunPaths;
  step: number;
  lastLoss: number | undefined;
  seconds: number;
  backend: string;
}

const DEFAULT_SEED = 0;
/** Steps between sample grids when `--sample-every` is not given. */
export const DEFAULT_SAMPLE_EVERY = 500;
/** Steps between checkpoints when `--checkpoint-every` is not given. */
export const DEFAULT_CHECKPOINT_EVERY = 200;

/** The run's settings: fresh from the flags, or the checkpoint's with the flags checked against them. */
interface Plan {
  family: FamilyAdapter;
  paths: RunPaths;
  run: RunInfo;
  dataSpec: DataSpec;
  resume: boolean;
  sampleEvery: number;
  checkpointEvery: number;
  /** Lines to print before training (e.g. a re-planned learning-rate schedule). */
  notes: string[];
}

function conflict(flag: string, given: unknown, stored: unknown): UsageError {
  return new UsageError(
    'sculpt train --resume',
    `expected ${flag} to match the checkpoint's ${JSON.stringify(stored)}`,
    `got ${JSON.stringify(given)}`,
    `drop ${flag} to continue the run as it was, or choose a new --out to start another`,
  );
}

/** Checks every flag and the run folder before anything is loaded or written. */
async function plan(
  familyName: string,
  o: TrainOptions,
): Promise<Plan & { stored?: Awaited<ReturnType<typeof readRunCheckpoint>> }> {
  const family = getFamily(familyName);
  const every = (stored?: RunInfo) => {
    const sampleEvery = o.sampleEvery ?? stored?.sampleEvery ?? DEFAULT_SAMPLE_EVERY;
    const checkpointEvery =
      o.checkpointEvery ?? stored?.checkpointEvery ?? DEFAULT_CHECKPOINT_EVERY;
    return { sampleEvery, checkpointEvery };
  };
  if (o.preset !== undefined) checkPreset(family, o.preset);
  if (o.steps !== undefined && o.minutes !== undefined) {
    throw new UsageError(
      'sculpt train',
      'expected --steps or --minutes, not both',
      `got --steps ${o.steps} --minutes ${o.minutes}`,
      'pick one',
    );
  }
  const preset = o.preset ?? family.defaultPreset;
  const paths = runPaths(o.out ?? join('runs', `${family.name}-${preset}`));
  const exists = await hasCheckpoint(paths);
  if (o.resume) {
    if (!exists) {
      throw new UsageError(
        'sculpt train --resume',
        `expected a checkpoint in ${paths.checkpoint}`,
        'got none',
        'check --out, or drop --resume to start a new run',
      );
    }
    // The checkpoint's tensors need a backend: the run's own unless --backend names another.
    const chosen = resumeBackend(o.backend, await storedBackend(paths));
    await startBackend(chosen.preference);
    const stored = await readRunCheckpoint(paths.checkpoint);
    const r = stored.run;
    try {
      if (r.family !== family.name) throw conflict('the family', family.name, r.family);
      if (o.preset !== undefined && o.preset !== r.preset)
        throw conflict('--preset', o.preset, r.preset);
      if (o.data !== undefined && parseDataSpec(o.data).spec !== r.data)
        throw conflict('--data', o.data, r.data);
      if (o.batch !== undefined && o.batch !== r.batchSize)
        throw conflict('--batch', o.batch, r.batchSize);
      if (o.seed !== undefined && o.seed !== r.seed) throw conflict('--seed', o.seed, r.seed);
    } catch (e) {
      tf.dispose(Object.values(stored.model.tensors));
      throw e;
    }
    const target =
      o.steps !== undefined
        ? { steps: o.steps }
        : o.minutes !== undefined
          ? { minutes: o.minutes }
          : r.target;
    const dataSpec = parseDataSpec(r.data);
    const notes: string[] = chosen.note ? [chosen.note] : [];
    if (JSON.stringify(target) !== JSON.stringify(r.target)) {
      const was = 'steps' in r.target ? `step ${r.target.steps}` : `${r.target.minutes} minutes`;
      const now = 'steps' in target ? `step ${target.steps}` : `${target.minutes} minutes`;
      notes.push(
        `note: the target moves from ${was} to ${now}; the learning-rate schedule is re-planned for it (an uninterrupted run to ${now} would differ)`,
      );
    }
    const cadence = every(r);
    return {
      family,
      paths,
      run: { ...r, target, ...cadence },
      dataSpec,
      resume: true,
      stored,
      notes,
      ...cadence,
    };
  }
  if (exists) {
    throw new UsageError(
      'sculpt train',
      `expected --out ${paths.dir} to hold no checkpoint yet`,
      'got an existing one (left untouched)',
      'pass --resume to continue it, or choose another --out',
    );
  }
  const dataSpec = parseDataSpec(o.data ?? family.defaultData);
  if (!family.dataKinds.includes(dataSpec.kind)) {
    throw new UsageError(
      '--data',
      `expected ${family.dataKinds.join(' or ')} data for ${family.name}`,
      `got ${dataSpec.kind} ('${dataSpec.spec}')`,
      `use e.g. --data ${family.defaultData}`,
    );
  }
  await checkDataPath(dataSpec);
  const run: RunInfo = {
    family: family.name,
    preset,
    data: dataSpec.spec,
    seed: o.seed ?? DEFAULT_SEED,
    batchSize: o.batch ?? 0, // filled in from the model
    target: o.minutes !== undefined ? { minutes: o.minutes } : { steps: o.steps ?? 1000 },
    trainSeconds: 0,
    backend: '',
    ...every(),
  };
  return { family, paths, run, dataSpec, resume: false, notes: [], ...every() };
}

/** Preview labels: every class in turn (two rows), or none for unconditional models. */
function previewRequest(model: ImageFamilyModel): { numSamples: number; labels?: number[] } {
  if (model.numClasses > 0) {
    const n = model.numClasses * 2;
    return { numSamples: n, labels: Array.from({ length: n }, (_, i) => i % model.numClasses) };
  }
  return { numSamples: 16 };
}

/** The file name of the preview at the model's current step. */
const previewName = (model: FamilyModel, ext: string) =>
  `step-${String(model.stepCount).padStart(6, '0')}.${ext}`;

/** Samples a preview grid and writes it to `samples/step-N.png` and `samples.png`. */
async function writeImagePreview(
  family: FamilyAdapter,
  model: ImageFamilyModel,
  paths: RunPaths,
  seed: number,
  signal?: AbortSignal,
): Promise<string> {
  const request = previewRequest(model);
  const images = await model.sample({
    ...request,
    ...family.sampleDefaults,
    labels: request.labels,
    seed,
    signal,
  });
  const grid = imageGrid(images, { columns: model.numClasses > 0 ? model.numClasses : undefined });
  images.dispose();
  try {
    const file = join(paths.samplesDir, previewName(model, 'png'));
    await writePng(file, grid);
    await writePng(paths.latestSamples, grid);
    return file;
  } finally {
    grid.dispose();
  }
}

/** Generates a short text sample, writes it to `samples/step-N.txt` and prints it. */
async function writeTextPreview(
  model: TextFamilyModel,
  paths: RunPaths,
  seed: number,
  io: CliIo,
  signal?: AbortSignal,
): Promise<string> {
  let text = '';
  for await (const piece of model.generate({
    prompt: '',
    maxNewTokens: Math.min(200, model.contextLength),
    temperature: 0.8,
    seed,
    signal,
  }))
    text += piece;
  const file = join(paths.samplesDir, previewName(model, 'txt'));
  await writeFile(file, text);
  io.report.say(`\n[sample at step ${model.stepCount}] ${text.replace(/\s+/g, ' ').trim()}`);
  return file;
}

/** Writes the family's kind of preview (an image grid or a text sample). */
async function writePreview(
  family: FamilyAdapter,
  model: FamilyModel,
  paths: RunPaths,
  seed: number,
  io: CliIo,
  signal?: AbortSignal,
): Promise<string> {
  const file =
    model.kind === 'images'
      ? await writeImagePreview(family, model, paths, seed, signal)
      : await writeTextPreview(model, paths, seed, io, signal);
  io.report.emit({ event: 'sample', step: model.stepCount, path: file });
  return file;
}

/** Redraws loss.png from log.jsonl. */
export async function plotLog(paths: RunPaths): Promise<void> {
  const records = (await readLog(paths)).filter(
    (r) => typeof r.step === 'number' && typeof r.loss === 'number',
  );
  if (records.length === 0) return;
  await writeLossPlot(
    paths.lossPlot,
    records.map((r) => r.step as number),
    records.map((r) => r.loss as number),
  );
}

async function save(model: FamilyModel, paths: RunPaths, run: RunInfo): Promise<void> {
  const state = model.checkpoint();
  try {
    await saveCheckpoint(paths.checkpoint, {
      tensors: state.tensors,
      json: { run: { ...run }, model: state.json },
    });
  } finally {
    tf.dispose(Object.values(state.tensors));
  }
}

/**
 * A second SIGINT within this many milliseconds of the first is the same
 * interrupt delivered twice, not a second Ctrl-C: `timeout` and some process
 * managers signal both the process and its group, and during a long step both
 * arrive together.
 */
export const REPEATED_INTERRUPT_MS = 1000;

/**
 * Classifies each SIGINT of a training run: the first asks for a save, a
 * repeat within {@link REPEATED_INTERRUPT_MS} is ignored, a later one quits at once.
 *
 * @example
 * ```ts
 * const classify = interruptClassifier();
 * classify(); // 'save'
 * ```
 */
export function interruptClassifier(
  now: () => number = () => performance.now(),
): () => 'save' | 'duplicate' | 'quit' {
  let first: number | undefined;
  return () => {
    const t = now();
    if (first === undefined) {
      first = t;
      return 'save';
    }
    return t - first < REPEATED_INTERRUPT_MS ? 'duplicate' : 'quit';
  };
}

/**
 * Runs `sculpt train`.
 *
 * @param familyName - e.g. `'diffusion'`.
 * @param options - the flags (see {@link TrainOptions}).
 * @param io - streams and SIGINT.
 * @returns the run's outcome; `status` is 0, or 130 after Ctrl-C (checkpoint saved).
 * @throws UsageError / CheckpointError for bad input (nothing written).
 */
export async function trainCommand(
  familyName: string,
  options: TrainOptions,
  io: CliIo,
): Promise<TrainOutcome> {
  const controller = new AbortController();
  const classify = interruptClassifier();
  const unsubscribe = io.onInterrupt(() => {
    const kind = classify();
    if (kind === 'save') {
      io.report.say(
        '\ninterrupted: finishing this step and saving a checkpoint (Ctrl-C again to quit at once)',
      );
      controller.abort();
    } else if (kind === 'quit') {
      // The checkpoint on disk is always whole (atomic saves): quitting now loses only the unsaved steps.
      process.exit(EXIT.interrupted);
    }
  });
  try {
    return await train(familyName, options, io, controller);
  } finally {
    unsubscribe();
  }
}

async function train(
  familyName: string,
  options: TrainOptions,
  io: CliIo,
  controller: AbortController,
): Promise<TrainOutcome> {
  const p = await plan(familyName, options);
  const { family, paths, dataSpec } = p;
  const run = p.run;
  let model: FamilyModel | undefined;
  try {
    const backend = await startBackend(options.backend);
    run.backend = backendLabel(backend);
    const data = await loadData(dataSpec);
    const totalSteps = 'steps' in run.target ? run.target.steps : undefined;
    if (p.stored) {
      model = await family.restore(p.stored.model, { data, totalSteps });
      tf.dispose(Object.values(p.stored.model.tensors));
    } else {
      model = await family.create({
        preset: run.preset,
        data,
        batchSize: options.batch,
        seed: run.seed,
        totalSteps,
      });
      run.batchSize = model.batchSize;
    }
    await makeRunDirs(paths);
    if (p.resume) await truncateLog(paths, model.stepCount);
    else await truncateLog(paths, -1);
    return await loop(family, model, p, io, controller);
  } finally {
    if (p.stored && model === undefined) tf.dispose(Object.values(p.stored.model.tensors));
    model?.dispose();
  }
}

async function loop(
  family: FamilyAdapter,
  model: FamilyModel,
  p: Plan,
  io: CliIo,
  controller: AbortController,
): Promise<TrainOutcome> {
  const { paths, run } = p;
  const startStep = model.stepCount;
  const target = run.target;
  const budgetSeconds =
    'minutes' in target ? Math.max(0, target.minutes * 60 - run.trainSeconds) : undefined;
  const steps = 'steps' in target ? Math.max(0, target.steps - startStep) : Number.MAX_SAFE_INTEGER;
  const where = `${family.name}/${run.preset} on ${run.data} (${model.parameterCount.toLocaleString('en-US')} weights, batch ${model.batchSize}, ${run.backend})`;
  io.report.say(
    `${p.resume ? `resuming at step ${startStep}` : 'training'} ${where}\n` +
      `  ${'steps' in target ? `to step ${target.steps}` : `for ${formatDuration(budgetSeconds ?? 0)}`}; writing to ${paths.dir}`,
  );
  for (const note of p.notes) io.report.say(note);
  const progress = io.report.progress(
    'steps' in target
      ? { steps: target.steps, startStep }
      : { seconds: budgetSeconds ?? 0, startStep },
  );
  const started = performance.now();
  const seconds = () => (performance.now() - started) / 1000;
  let timedOut = false;
  const timer =
    budgetSeconds !== undefined
      ? setTimeout(() => {
          timedOut = true;
          controller.abort();
        }, budgetSeconds * 1000)
      : undefined;
  let savedStep = p.resume ? startStep : -1;
  let last: StepResult | undefined;
  // Time spent saving and sampling is left out of steps/s and the ETA.
  let pausedSeconds = 0;
  const paused = async (work: () => Promise<unknown>) => {
    const t = performance.now();
    await work();
    pausedSeconds += (performance.now() - t) / 1000;
  };
  const checkpoint = async () => {
    await save(model, paths, { ...run, trainSeconds: run.trainSeconds + seconds() });
    savedStep = model.stepCount;
    io.report.emit({ event: 'checkpoint', step: savedStep, path: paths.checkpoint });
  };
  let interrupted = false;
  let sampled: { step: number; file: string } | undefined;
  try {
    if (steps > 0 && !controller.signal.aborted) {
      await model.train({
        steps,
        signal: controller.signal,
        onStep: async (r) => {
          last = r;
          await appendLog(paths, {
            step: r.step,
            loss: r.loss,
            gradNorm: r.gradNorm,
            lr: r.lr,
            ...r.terms,
            time: Number(seconds().toFixed(3)),
          });
          progress.update({
            step: r.step,
            loss: r.loss,
            elapsedSeconds: seconds(),
            activeSeconds: seconds() - pausedSeconds,
            stepsThisRun: r.step - startStep,
          });
          if (p.checkpointEvery > 0 && r.step % p.checkpointEvery === 0) await paused(checkpoint);
          if (p.sampleEvery > 0 && r.step % p.sampleEvery === 0) {
            await paused(async () => {
              const file = await writePreview(
                family,
                model,
                paths,
                run.seed,
                io,
                controller.signal,
              );
              await appendLog(paths, { event: 'samples', step: r.step, file });
              sampled = { step: r.step, file };
              await plotLog(paths);
            });
          }
        },
      });
    }
  } catch (error) {
    if (!(error instanceof AbortError)) throw error;
  } finally {
    if (timer) clearTimeout(timer);
    progress.stop();
  }
  interrupted = controller.signal.aborted && !timedOut;
  const out = (s: string) => io.report.say(s);
  if (interrupted && !p.resume && model.stepCount === 0) {
    out('stopped before the first step; nothing was saved');
    return {
      status: EXIT.interrupted,
      paths,
      step: 0,
      lastLoss: undefined,
      seconds: seconds(),
      backend: run.backend,
    };
  }
  if (model.stepCount !== savedStep) await checkpoint();
  await plotLog(paths);
  const elapsed = seconds();
  if (interrupted) {
    out(`stopped at step ${model.stepCount}; checkpoint saved in ${paths.checkpoint}`);
    out(`  resume with: sculpt train ${family.name} --out ${paths.dir} --resume`);
    return {
      status: EXIT.interrupted,
      paths,
      step: model.stepCount,
      lastLoss: last?.loss,
      seconds: elapsed,
      backend: run.backend,
    };
  }
  let samples = sampled?.step === model.stepCount ? sampled.file : undefined;
  if (p.sampleEvery > 0 && model.stepCount > 0 && samples === undefined) {
    samples = await writePreview(family, model, paths, run.seed, io);
    await appendLog(paths, { event: 'samples', step: model.stepCount, file: samples });
  }
  const rate =
    model.stepCount > startStep
      ? (model.stepCount - startStep) / Math.max(1e-9, elapsed - pausedSeconds)
      : 0;
  out(
    `done: step ${model.stepCount}, loss ${last ? last.loss.toPrecision(4) : 'n/a'}, ${rate.toFixed(2)} steps/s, ${formatDuration(elapsed)}`,
  );
  out(`  checkpoint  ${paths.checkpoint}`);
  out(`  log         ${paths.log}`);
  out(`  loss plot   ${paths.lossPlot}`);
  if (samples) out(`  samples     ${model.kind === 'images' ? paths.latestSamples : samples}`);
  return {
    status: EXIT.ok,
    paths,
    step: model.stepCount,
    lastLoss: last?.loss,
    seconds: elapsed,
    backend: run.backend,
  };
}
