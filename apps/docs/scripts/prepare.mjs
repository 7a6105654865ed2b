// Generates what the site serves but git does not keep, before `vitepress dev`
// and `vitepress build`:
//   public/tfjs-wasm/*.wasm          the wasm backend's binaries (tfjs fetches them at run time)
//   public/assets/mnist-held-out.bin the 1,000 held-out MNIST digits (@sculpt/datasets' packMnist format)
//   public/checkpoints/mnist-diffusion.{safetensors,json}
//                                    the demo's trained model, copied from @sculpt/diffusion's assets/
//                                    (made by `pnpm --filter @sculpt/diffusion train:mnist`)
//   public/checkpoints/moby-dick-gpt.{safetensors,json}
//                                    the text demo's char-level GPT, from @sculpt/autoregressive's assets/
//                                    (trained by `sculpt train gpt --preset char-small --data moby-dick`,
//                                    exported by `pnpm --filter @sculpt/autoregressive export:demo`)
//   public/assets/mnist-train-3000.bin
//                                    every third of the 9,000 training digits: what the VAE demo trains on in the page
//   public/checkpoints/vae-mnist-2d.{safetensors,json}
//                                    the VAE explorer's model, from data/ (made by scripts/vae-checkpoint.mjs:
//                                    `sculpt train vae --preset mnist-2d --data mnist`, then `sculpt eval`)
//   public/checkpoints/gan-{cdcgan,stylegan,cyclegan}.{safetensors,json}
//                                    the GAN demo's models, from data/ (made by scripts/gan-checkpoint.mjs
//                                    from `sculpt train gan` run folders)
//   public/checkpoints/latent-mnist-text.{safetensors,json}
//                                    the text-to-image demo's model, from data/ (made by
//                                    scripts/latent-checkpoint.mjs from the `mnist-text` training script's output)
//   public/checkpoints/mnist-classifier.safetensors
//                                    @sculpt/metrics' MNIST classifier (reads the generated digit)
//   api/**                           the API reference, by TypeDoc from each package's src/index.ts
// Usage: node scripts/prepare.mjs [--skip-api]
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const require = createRequire(import.meta.url);
const report = {};

// 1. wasm binaries, next to nothing else so `wasmPaths: '/tfjs-wasm/'` finds them.
const wasmDist = dirname(require.resolve('@tensorflow/tfjs-backend-wasm'));
const wasmOut = join(root, 'public/tfjs-wasm');
mkdirSync(wasmOut, { recursive: true });
const wasmFiles = readdirSync(wasmDist).filter((f) => f.endsWith('.wasm'));
for (const f of wasmFiles) copyFileSync(join(wasmDist, f), join(wasmOut, f));
report.wasm = wasmFiles;

// 2. held-out digits for the denoising demo (never seen in training).
const mnistOut = join(root, 'public/assets/mnist-held-out.bin');
if (!existsSync(mnistOut)) {
  const datasets = await import('@sculpt/datasets').catch((err) => {
    throw new Error(
      `prepare: expected @sculpt/datasets to be built, got ${err.message}. Fix: run \`pnpm turbo run build --filter=@sculpt/docs^...\` first`,
    );
  });
  const { heldOut } = await datasets.loadMnist();
  mkdirSync(dirname(mnistOut), { recursive: true });
  const bytes = datasets.packMnist(heldOut);
  writeFileSync(mnistOut, bytes);
  report.mnistHeldOut = { images: heldOut.labels.length, bytes: bytes.length };
}

// 2b. training digits for the VAE demo that trains in the page (every third: all classes, 2.4 MB).
const trainOut = join(root, 'public/assets/mnist-train-3000.bin');
if (!existsSync(trainOut)) {
  const datasets = await import('@sculpt/datasets');
  const { train } = await datasets.loadMnist();
  const every3 = Array.from({ length: Math.floor(train.count / 3) }, (_, i) => 3 * i);
  const bytes = datasets.packMnist(datasets.subsetImages(train, every3));
  writeFileSync(trainOut, bytes);
  report.mnistTrainSubset = { images: every3.length, bytes: bytes.length };
}

// 3. The denoising demo's checkpoint (the page falls back to an untrained model without it).
const diffusionDir = dirname(require.resolve('@sculpt/diffusion/package.json'));
const ckptOut = join(root, 'public/checkpoints');
mkdirSync(ckptOut, { recursive: true });
const copies = [
  ['assets/mnist-model.safetensors', 'mnist-diffusion.safetensors'],
  ['assets/mnist-results.json', 'mnist-diffusion.json'],
];
const metricsDir = dirname(require.resolve('@sculpt/metrics/package.json'));
copies.push([
  join(metricsDir, 'assets/mnist-classifier.safetensors'),
  'mnist-classifier.safetensors',
]);
const autoregressiveDir = dirname(require.resolve('@sculpt/autoregressive/package.json'));
for (const [from, to] of [
  ['assets/moby-dick-char-small.safetensors', 'moby-dick-gpt.safetensors'],
  ['assets/moby-dick-char-small.json', 'moby-dick-gpt.json'],
])
  copies.push([join(autoregressiveDir, from), to]);
for (const name of ['vae-mnist-2d.safetensors', 'vae-mnist-2d.json'])
  copies.push([join(root, 'data', name), name]);
for (const asset of ['gan-cdcgan', 'gan-stylegan', 'gan-cyclegan', 'latent-mnist-text'])
  for (const name of [`${asset}.safetensors`, `${asset}.json`])
    copies.push([join(root, 'data', name), name]);
report.checkpoint = {};
for (const [from, to] of copies) {
  const src = from.startsWith('/') ? from : join(diffusionDir, from);
  if (existsSync(src)) copyFileSync(src, join(ckptOut, to));
  report.checkpoint[to] = existsSync(src) ? statSync(src).size : 'missing';
}

// 4. API reference.
if (!process.argv.includes('--skip-api')) {
  const typedoc = join(dirname(require.resolve('typedoc/package.json')), 'bin/typedoc');
  execFileSync(process.execPath, [typedoc, '--options', 'typedoc.json'], {
    cwd: root,
    stdio: 'inherit',
  });
  report.api = existsSync(join(root, 'api/index.md'));
}
console.log(JSON.stringify({ prepare: report }));
