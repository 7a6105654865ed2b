// Turns a `sculpt train gan` run folder into a GAN demo asset, and writes down how:
//   1. sculpt eval RUN --n N   (a style generator: once per truncation ψ ∈ {1, 0.7, 0.5});
//      an unconditional generator also gets the class histogram of N samples
//      (@sculpt/metrics' classifier on the shipped weights: a missing digit = mode collapse)
//   2. the model alone, no optimizer state: for a GAN the EMA of G copied into G
//      (what `sculpt sample` draws with), plus D, the tracked mean w and the config →
//        data/NAME.safetensors   core's checkpoint bytes (GanModel / CycleGanModel.fromBytes)
//        data/NAME.json          the commands, steps, train time and the held-out figures
// scripts/prepare.mjs copies both into public/checkpoints/ for the demo page
// (demos/gan.md reads gan-cdcgan, gan-stylegan and gan-cyclegan).
// Usage (from apps/docs, packages built):
//   node scripts/gan-checkpoint.mjs RUN_DIR NAME [--n 1000] [--skip-eval]
//   e.g. node scripts/gan-checkpoint.mjs runs/gan-stylegan gan-stylegan
// --skip-eval reuses the RUN_DIR/demo-eval*.json files of an earlier call.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const docs = fileURLToPath(new URL('..', import.meta.url));
const cli = join(docs, '../../packages/cli/dist/bin.js');
const args = process.argv.slice(2);
const option = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : fallback;
};
const positional = args.filter((a, i) => !a.startsWith('--') && args[i - 1] !== '--n');
const [runArg, name] = positional;
if (!runArg || !name || !/^[a-z0-9-]+$/.test(name)) {
  console.error(
    'gan-checkpoint: expected RUN_DIR NAME (NAME in [a-z0-9-], e.g. gan-stylegan), got ' +
      `${JSON.stringify(positional)}. Fix: node scripts/gan-checkpoint.mjs runs/gan-stylegan gan-stylegan`,
  );
  process.exit(2);
}
const run = resolve(runArg);
const samples = Number(option('n', '1000'));
const skipEval = args.includes('--skip-eval');
const TRUNCATIONS = [1, 0.7, 0.5];

const tf = await import('@tensorflow/tfjs-core');
await import('@tensorflow/tfjs-backend-wasm');
await tf.setBackend('wasm');
const { checkpointToBytes, loadCheckpoint } = await import('@sculpt/core');
const { CYCLE_CHECKPOINT_KIND, CycleGanTrainer, GanModel, GanTrainer } = await import(
  '@sculpt/gan'
);
const { classifyImages, loadMnistClassifier } = await import('@sculpt/metrics');

/** The CLI's run checkpoint: `{ run, model }` beside the family's tensors. */
const saved = await loadCheckpoint(join(run, 'checkpoint'));
const info = saved.json.run;
if (info?.family !== 'gan') {
  console.error(
    `gan-checkpoint: expected a 'sculpt train gan' run in ${run}, got family ${info?.family}`,
  );
  process.exit(2);
}
const checkpoint = { tensors: saved.tensors, json: saved.json.model };
const isCycle = checkpoint.json.kind === CYCLE_CHECKPOINT_KIND;

/** Weights only; a GAN's G holds its EMA. @returns { bytes, steps, config, parameters }. */
async function exportModel() {
  if (isCycle) {
    const { model, trainer } = CycleGanTrainer.fromCheckpoint('gan-checkpoint', checkpoint);
    const steps = trainer.stepCount;
    trainer.dispose();
    return finish(model, steps);
  }
  const { model, trainer } = GanTrainer.fromCheckpoint('gan-checkpoint', checkpoint);
  trainer.applyEma();
  const steps = trainer.stepCount;
  trainer.dispose();
  return finish(model, steps);
}

async function finish(model, steps) {
  const bytes = await checkpointToBytes(model.toCheckpoint());
  const parameters = Object.values(model.weights).reduce((n, v) => n + v.size, 0);
  const config = model.getConfig();
  model.dispose();
  return { bytes, steps, config, parameters };
}

/** Runs `sculpt eval` (or reads its earlier output) and returns the parsed JSON. */
function evaluate(extra, file) {
  const out = join(run, file);
  const evalArgs = ['eval', run, '--n', String(samples), '--seed', '0', ...extra, '--out', out];
  if (!(skipEval && existsSync(out)))
    execFileSync(process.execPath, [cli, ...evalArgs], { stdio: ['ignore', 'ignore', 'inherit'] });
  return {
    command: `sculpt ${evalArgs.slice(0, -2).join(' ').replace(run, 'RUN')}`,
    metrics: JSON.parse(readFileSync(out, 'utf8')),
  };
}

function trainCommand() {
  const target =
    'steps' in info.target ? `--steps ${info.target.steps}` : `--minutes ${info.target.minutes}`;
  return `sculpt train gan --preset ${info.preset} --data ${info.data} ${target} --seed ${info.seed} --batch ${info.batchSize} --out RUN`;
}

/**
 * Which digit @sculpt/metrics' classifier reads in `samples` draws of an
 * unconditional generator, loaded back from the shipped bytes (mode collapse
 * shows as a missing digit). @returns the fraction per class 0–9.
 */
async function classHistogram(bytes, truncation) {
  const model = GanModel.fromBytes(bytes);
  const classifier = await loadMnistClassifier();
  const counts = new Array(10).fill(0);
  for (let start = 0; start < samples; start += 250) {
    const n = Math.min(250, samples - start);
    const x = model.sample({ numSamples: n, seed: 10_000 + start, truncation });
    const pixels = tf.tidy(() => tf.clipByValue(tf.div(tf.add(x, 1), 2), 0, 1));
    const { predictions } = await classifyImages(classifier, pixels);
    for (const c of predictions) counts[c]++;
    tf.dispose([x, pixels]);
  }
  classifier.dispose();
  model.dispose();
  return counts.map((c) => Number((c / samples).toFixed(4)));
}

/** A run stopped with Ctrl-C before its target says so. */
function stoppedEarly(steps) {
  const target = info.target.steps;
  return target !== undefined && steps < target ? ` (stopped with Ctrl-C at step ${steps})` : '';
}

const exported = await exportModel();
tf.dispose(Object.values(saved.tensors));
const style = exported.config.generator === 'style';
const evals = style
  ? TRUNCATIONS.map((psi) => ({
      truncation: psi,
      ...evaluate(['--truncation', String(psi)], `demo-eval-psi${psi}.json`),
    }))
  : [evaluate([], 'demo-eval.json')];
if (!isCycle && exported.config.numClasses === 0)
  for (const e of evals) {
    e.metrics.classFractions = await classHistogram(
      exported.bytes,
      style ? e.truncation : undefined,
    );
    e.metrics.minClassFraction = Math.min(...e.metrics.classFractions);
  }
writeFileSync(join(docs, 'data', `${name}.safetensors`), exported.bytes);
const report = {
  name,
  model: isCycle
    ? 'cyclegan'
    : style
      ? 'stylegan'
      : exported.config.numClasses > 0
        ? 'cdcgan'
        : 'dcgan',
  preset: info.preset,
  commands: [
    trainCommand() + stoppedEarly(exported.steps),
    ...evals.map((e) => e.command),
    `node apps/docs/scripts/gan-checkpoint.mjs RUN ${name}`,
  ],
  steps: exported.steps,
  batchSize: info.batchSize,
  trainSeconds: Number(info.trainSeconds.toFixed(1)),
  backend: info.backend,
  weights: isCycle ? 'G_AB, G_BA, D_A, D_B' : `EMA of G, D${style ? ', tracked mean w' : ''}`,
  parameters: exported.parameters,
  bytes: exported.bytes.length,
  samples,
  sha256: createHash('sha256').update(exported.bytes).digest('hex').slice(0, 16),
  heldOut: style
    ? evals.map((e) => ({ truncation: e.truncation, ...e.metrics }))
    : evals[0].metrics,
};
writeFileSync(join(docs, 'data', `${name}.json`), `${JSON.stringify(report, null, 2)}\n`);
console.log(JSON.stringify(report));
