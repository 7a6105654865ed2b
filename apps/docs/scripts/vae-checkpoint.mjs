// Makes the VAE demo's checkpoint with our own CLI, and writes down how:
//   1. sculpt train vae --preset mnist-2d --data mnist --steps N --seed 0 --out RUN
//   2. sculpt eval RUN            (held-out −ELBO and IWAE bound in nats, FD/KID of prior samples)
//   3. the model's weights alone (no optimizer state) →
//        data/vae-mnist-2d.safetensors   core's checkpoint bytes (config in its metadata)
//        data/vae-mnist-2d.json          the commands, step count, train time and held-out figures
// scripts/prepare.mjs copies both into public/checkpoints/ for the site.
// Usage (from apps/docs, packages built): node scripts/vae-checkpoint.mjs [--steps 6000] [--run DIR]
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const docs = fileURLToPath(new URL('..', import.meta.url));
const cli = join(docs, '../../packages/cli/dist/bin.js');
const args = process.argv.slice(2);
const option = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : fallback;
};
const steps = Number(option('steps', '6000'));
const keepRun = option('run', undefined);
const run = keepRun ?? mkdtempSync(join(tmpdir(), 'sculpt-vae-demo-'));

const trainArgs = ['train', 'vae', '--preset', 'mnist-2d', '--data', 'mnist'];
trainArgs.push('--steps', String(steps), '--seed', '0', '--out', run);
const started = Date.now();
execFileSync(process.execPath, [cli, ...trainArgs], { stdio: 'inherit' });
const wallSeconds = (Date.now() - started) / 1000;
const metricsFile = join(run, 'metrics.json');
execFileSync(process.execPath, [cli, 'eval', run, '--out', metricsFile], { stdio: 'inherit' });
const metrics = JSON.parse(readFileSync(metricsFile, 'utf8'));

// Weights only: VaeModel.load reads the training checkpoint and drops the optimizer state.
const tf = await import('@tensorflow/tfjs-core');
await import('@tensorflow/tfjs-backend-cpu');
await tf.setBackend('cpu');
const { checkpointToBytes } = await import('@sculpt/core');
const { VaeModel } = await import('@sculpt/vae');
const model = await VaeModel.load(join(run, 'checkpoint'));
const bytes = await checkpointToBytes(model.toCheckpoint());
model.dispose();
writeFileSync(join(docs, 'data/vae-mnist-2d.safetensors'), bytes);
const ckpt = JSON.parse(readFileSync(join(run, 'checkpoint/checkpoint.json'), 'utf8'));
const report = {
  commands: [
    `sculpt ${trainArgs.slice(0, -2).join(' ')} --out RUN`,
    'sculpt eval RUN',
    `node apps/docs/scripts/vae-checkpoint.mjs --steps ${steps}`,
  ],
  steps,
  trainSeconds: Number(ckpt.json.run.trainSeconds.toFixed(1)),
  wallSeconds: Number(wallSeconds.toFixed(1)),
  backend: ckpt.json.run.backend,
  heldOut: metrics,
  bytes: bytes.length,
};
writeFileSync(join(docs, 'data/vae-mnist-2d.json'), `${JSON.stringify(report, null, 2)}\n`);
if (!keepRun) rmSync(run, { recursive: true, force: true });
console.log(JSON.stringify(report));
