// Turns a `sculpt train gan` run folder into a GAN demo asset, and writes down how:
//   1. sculpt eval RUN --n N   (a style generator: once per truncation ψ ∈ {1, 0.7, 0.5});
//      an unconditional generator also gets the class histogram of N samples
//      (@sculpt/metrics' classifier on the shipped weights: a missing digit = mode collapse)
//   2. what the page needs, no optimizer state: for a GAN, G alone — its EMA
//      (what `sculpt sample` draws with), the tracked mean w and the config,
//      the bytes of `GanModel.exportGenerator()` (what `sculpt export RUN` writes);
//      for a CycleGAN, the whole model (G_AB, G_BA and both D: it has no G-only export) →
//        data/NAME.safetensors   GanGenerator.fromBytes / fromUrl (CycleGanModel.fromBytes)
//        data/NAME.json          the commands, steps, train time, the held-out figures,
//                                and `fullModelBytes`: the size of G + D without optimizer state
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
const { CYCLE_CHECKPOINT_KIND, CycleGanTrainer, GanGenerator, GanTrainer } = await import(
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

const countParameters = (weights) => Object.values(weights).reduce((n, v) => n + v.size, 0);

/**
 * What the page loads: a GAN's generator export (G's EMA weights) or a whole CycleGAN.
 * @returns { bytes, fullModelBytes, steps, config, parameters } (parameters: of what `bytes` holds).
 */
async function exportModel() {
  const Trainer = isCycle ? CycleGanTrainer : GanTrainer;
  const { model, trainer } = Trainer.fromCheckpoint('gan-checkpoint', checkpoint);
  if (!isCycle) trainer.applyEma();
  const steps = trainer.stepCount;
  trainer.dispose();
  const full = await checkpointToBytes(model.toCheckpoint());
  let bytes = full;
  let parameters = countParameters(model.weights);
  let parity;
  if (!isCycle) {
    bytes = new Uint8Array(await model.exportGenerator());
    const generator = GanGenerator.fromBytes(bytes);
    parameters = countParameters(generator.weights);
    parity = await generatorParity(model, generator);
    generator.dispose();
  }
  const config = model.getConfig();
  model.dispose();
  return { bytes, fullModelBytes: full.length, steps, config, parameters, parity };
}

/**
 * The export must draw what the full model draws: 16 images per seed 1–3 (classes
 * in turn); for a style G, at each ψ ∈ {1, 0.7, 0.5, 0}, with and without style mixing.
 * Run before anything is written. @returns { draws, maxAbsDiff }; exits unless it is 0.
 */
async function generatorParity(model, generator) {
  const style = model.config.generator === 'style';
  const draws = [];
  for (const seed of [1, 2, 3]) {
    if (!style) draws.push({ numSamples: 16, seed });
    else
      for (const truncation of [1, 0.7, 0.5, 0])
        for (const mixing of [undefined, { seed: seed + 100, crossover: 3 }])
          draws.push({ numSamples: 16, seed, truncation, ...(mixing && { mixing }) });
  }
  let maxAbsDiff = 0;
  for (const options of draws) {
    const d = tf.tidy(() =>
      tf.max(tf.abs(tf.sub(model.sample(options), generator.sample(options)))),
    );
    maxAbsDiff = Math.max(maxAbsDiff, (await d.data())[0]);
    d.dispose();
  }
  if (maxAbsDiff !== 0) {
    console.error(
      `gan-checkpoint: expected the generator export to draw the model's images, got a largest ` +
        `|difference| of ${maxAbsDiff} over ${draws.length} draws. Fix: check GanModel.exportGenerator`,
    );
    process.exit(1);
  }
  return { draws: draws.length, maxAbsDiff };
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
  const model = GanGenerator.fromBytes(bytes);
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
  weights: isCycle ? 'G_AB, G_BA, D_A, D_B' : `EMA of G${style ? ', tracked mean w' : ''} (no D)`,
  parameters: exported.parameters,
  bytes: exported.bytes.length,
  fullModelBytes: exported.fullModelBytes,
  ...(exported.parity && { generatorParity: exported.parity }),
  samples,
  sha256: createHash('sha256').update(exported.bytes).digest('hex').slice(0, 16),
  heldOut: style
    ? evals.map((e) => ({ truncation: e.truncation, ...e.metrics }))
    : evals[0].metrics,
};
writeFileSync(join(docs, 'data', `${name}.json`), `${JSON.stringify(report, null, 2)}\n`);
console.log(JSON.stringify(report));
