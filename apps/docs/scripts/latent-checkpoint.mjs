// Turns a trained `mnist-text` latent diffusion (the folder written by
// `pnpm --filter @sculpt/latent train:mnist-text`, or a `sculpt train latent`
// run's checkpoint folder) into the text-to-image demo's asset, and writes down how:
//   data/latent-mnist-text.safetensors  the model alone (LatentDiffusionModel.fromBytes /
//                                       fromUrl: autoencoder + prompt encoder + latent U-Net + config)
//   data/latent-mnist-text.json         the commands, the training script's measured results
//                                       (when given), the caption bins of the training set (the
//                                       page reads each sample's thickness and slant with them),
//                                       and a check of the shipped bytes: @sculpt/metrics'
//                                       classifier on 10 prompts × 10 seeds at the demo's defaults
// scripts/prepare.mjs copies both into public/checkpoints/ for demos/latent.md.
// Usage (from apps/docs, packages built):
//   node scripts/latent-checkpoint.mjs MODEL_DIR [RESULTS_JSON]
//   e.g. node scripts/latent-checkpoint.mjs ../../packages/latent/out/mnist-text \
//          ../../packages/latent/assets/mnist-text-results.json
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const docs = fileURLToPath(new URL('..', import.meta.url));
const [dirArg, resultsArg] = process.argv.slice(2);
if (!dirArg || !existsSync(dirArg)) {
  console.error(
    `latent-checkpoint: expected a saved model folder, got ${JSON.stringify(dirArg)}. ` +
      'Fix: node scripts/latent-checkpoint.mjs ../../packages/latent/out/mnist-text [RESULTS_JSON]',
  );
  process.exit(2);
}
const NAME = 'latent-mnist-text';
/** What the page starts with: 20 DPM++ 2M steps at the training script's guidance. */
const DEMO = { steps: 20, sampler: 'dpmpp-2m' };

const tf = await import('@tensorflow/tfjs-core');
await import('@tensorflow/tfjs-layers');
await import('@tensorflow/tfjs-backend-wasm');
await tf.setBackend('wasm');
const { Rng } = await import('@sculpt/core');
const { captionImageSet, digitCaption, loadMnist } = await import('@sculpt/datasets');
const { LatentDiffusionModel } = await import('@sculpt/latent');
const { classifyImages, loadMnistClassifier } = await import('@sculpt/metrics');

const results = resultsArg ? JSON.parse(readFileSync(resultsArg, 'utf8')) : undefined;
const guidanceScale = results?.guidanceScale ?? 4;
const model = await LatentDiffusionModel.load(resolve(dirArg));
const bytes = await model.toBytes();
// The shipped bytes, loaded back the way the page loads them.
const shipped = LatentDiffusionModel.fromBytes(bytes);
model.dispose();

/** The classifier's reading of 10 seeds of "the digit d" for d = 0…9 at the demo's defaults. */
async function checkShipped() {
  const prompts = Array.from({ length: 100 }, (_, i) => digitCaption({ digit: i % 10 }));
  const started = performance.now();
  const x = await shipped.sample({ prompts, guidanceScale, ...DEMO, seed: 1 });
  const seconds = (performance.now() - started) / 1000;
  const classifier = await loadMnistClassifier();
  const { predictions } = await classifyImages(classifier, x, { range: '-1,1' });
  classifier.dispose();
  x.dispose();
  const right = predictions.filter((p, i) => p === i % 10).length;
  return {
    prompts: '“a digit d”-style captions (digitCaption), d = 0…9, 10 each, seed 1',
    accuracy: right / prompts.length,
    imagesPerSecond: Number((prompts.length / seconds).toFixed(1)),
  };
}

const check = await checkShipped();
const parameters = Object.values(shipped.namedWeights()).reduce((n, v) => n + v.size, 0);
const config = shipped.getConfig();
shipped.dispose();
// The caption bins of the 9,000 training digits, as the training script draws them (Rng 0).
const { train } = await loadMnist();
const { bins } = captionImageSet({ set: train, rng: new Rng(0) });

writeFileSync(join(docs, 'data', `${NAME}.safetensors`), bytes);
const report = {
  name: NAME,
  preset: 'mnist-text',
  commands: [
    results
      ? `pnpm --filter @sculpt/latent train:mnist-text -- --ae-steps ${results.aeSteps} --unet-steps ${results.unetSteps} --batch ${results.batchSize} --ema ${results.emaDecay}`
      : 'a model saved by LatentDiffusionModel.save (no training results given)',
    `node apps/docs/scripts/latent-checkpoint.mjs MODEL_DIR${results ? ' RESULTS_JSON' : ''}`,
  ],
  demo: { ...DEMO, guidanceScale },
  words: config.text.words,
  contextLength: config.text.contextLength,
  scaleFactor: config.autoencoder.scaleFactor,
  latentShape: [
    config.diffusion.unet.imageSize,
    config.diffusion.unet.imageSize,
    config.diffusion.unet.channels,
  ],
  parameters,
  bytes: bytes.length,
  sha256: createHash('sha256').update(bytes).digest('hex').slice(0, 16),
  bins,
  shippedCheck: check,
  results: results ?? null,
};
writeFileSync(join(docs, 'data', `${NAME}.json`), `${JSON.stringify(report, null, 2)}\n`);
console.log(JSON.stringify({ ...report, bins: undefined, words: undefined }));
