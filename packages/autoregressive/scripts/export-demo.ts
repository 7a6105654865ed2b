// Turns a `sculpt train gpt` run into the model the docs demo serves, and
// measures it:
//
//   sculpt train gpt --preset char-small --data moby-dick --steps 1100 --out runs/gpt-char
//   pnpm --filter @sculpt/autoregressive export:demo -- runs/gpt-char [--name moby-dick-char-small]
//
// Writes assets/<name>.safetensors (weights, config and tokenizer; no trainer
// state) and assets/<name>.json: held-out nats/char and perplexity over all of
// Moby-Dick's held-out chapters, the run's steps and minutes (from its
// log.jsonl), a seeded sample, and a held-out excerpt with its score, which
// the demo page scores again in the browser (the two must agree).
import { readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { initBackend } from '@sculpt/backend';
import { loadMobyDick } from '@sculpt/datasets';
import { GptModel } from '../src/index.js';

const args = process.argv.slice(2).filter((a) => a !== '--');
const nameAt = args.indexOf('--name');
const name = nameAt >= 0 ? args.splice(nameAt, 2)[1] : 'moby-dick-char-small';
const runDir = args[0];
if (!runDir)
  throw new Error(
    'export-demo: expected a run folder of `sculpt train gpt --out DIR`, got none. Fix: pass it, e.g. `export:demo -- runs/gpt-char`',
  );
const assets = new URL('../assets/', import.meta.url).pathname;
const EXCERPT_CHARS = 2000;

const backend = await initBackend('wasm');
const model = await GptModel.load(join(resolve(runDir), 'checkpoint'));
const log = (await readFile(join(runDir, 'log.jsonl'), 'utf8'))
  .trim()
  .split('\n')
  .map((l) => JSON.parse(l) as { step?: number; loss?: number; time?: number });
const last = log.filter((r) => r.loss !== undefined).at(-1);
const { heldOut } = await loadMobyDick();
const full = await model.score(heldOut);
const excerpt = heldOut.slice(0, EXCERPT_CHARS);
const excerptScore = await model.score(excerpt);
const prompt = 'Call me';
const options = { prompt, maxNewTokens: 300, temperature: 0.8, topP: 0.9, seed: 0 };
const sample = await model.generate(options);
const report = {
  model: name,
  preset: model.config,
  parameters: model.parameterCount,
  backend: backend.name,
  steps: last?.step,
  trainMinutes: last?.time === undefined ? undefined : Number((last.time / 60).toFixed(1)),
  finalTrainLoss: last?.loss,
  heldOut: {
    chars: full.chars,
    natsPerChar: full.natsPerChar,
    bitsPerChar: full.bitsPerChar,
    perplexity: full.perplexity,
  },
  excerpt: { text: excerpt, natsPerChar: excerptScore.natsPerChar },
  sample: { ...options, text: sample.text },
};
await writeFile(join(assets, `${name}.safetensors`), new Uint8Array(await model.toBytes()));
await writeFile(join(assets, `${name}.json`), `${JSON.stringify(report, null, 2)}\n`);
console.log(
  JSON.stringify({ ...report, excerpt: { natsPerChar: excerptScore.natsPerChar } }, null, 2),
);
model.dispose();
