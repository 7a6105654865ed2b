// Draws what the sampling knobs do to one real next-token distribution: the
// demo model's p(x_t | x_<t) after a prompt, then the same logits through
// temperature 0.5 and 1.5, top-k 3, top-p 0.9 and min-p 0.2 (@sculpt/samplers'
// processors, as `generate` runs them). Prints a Markdown table for the guide.
//
//   pnpm --filter @sculpt/autoregressive exec tsx scripts/distributions.ts [-- "prompt"]
import { readFile } from 'node:fs/promises';
import { initBackend } from '@sculpt/backend';
import { Rng } from '@sculpt/core';
import { createTokenSampler } from '@sculpt/samplers';
import * as tf from '@tensorflow/tfjs-core';
import { GptModel } from '../src/index.js';

const prompt = process.argv.slice(2).filter((a) => a !== '--')[0] ?? 'It was the whale';
await initBackend('wasm');
const asset = new URL('../assets/moby-dick-char-small.safetensors', import.meta.url);
const model = GptModel.fromBytes(await readFile(asset));
const ids = model.tokenizer.encode(prompt);
const logits = tf.tidy(() => {
  const all = model.forward(tf.tensor2d(ids, [1, ids.length], 'int32'));
  return tf.reshape(tf.slice(all, [0, ids.length - 1, 0], [1, 1, -1]), [1, -1]) as tf.Tensor2D;
});
const columns: [string, Parameters<typeof createTokenSampler>[0]][] = [
  ['model (T = 1)', {}],
  ['T = 0.5', { temperature: 0.5 }],
  ['T = 1.5', { temperature: 1.5 }],
  ['top-k 3', { topK: 3 }],
  ['top-p 0.9', { topP: 0.9 }],
  ['min-p 0.2', { minP: 0.2 }],
];
const probs: Float32Array[] = [];
for (const [, knobs] of columns) {
  const { process } = createTokenSampler({ strategy: 'sample', rng: new Rng(0), ...knobs });
  const z = process(logits, { tokens: [Array.from(ids)], step: 0 });
  probs.push((await tf.tidy(() => tf.softmax(z)).data()) as Float32Array);
  z.dispose();
}
const order = Array.from(probs[0].keys())
  .sort((a, b) => probs[0][b] - probs[0][a])
  .slice(0, 8);
const shown = (s: string) => (s === ' ' ? '␣ (space)' : s === '\n' ? '⏎ (newline)' : s);
const bar = (p: number) =>
  `${'█'.repeat(Math.round(Math.max(0, p) * 20))} ${(100 * Math.max(0, p)).toFixed(1)}%`;
const lines = [
  `Next character after ${JSON.stringify(prompt)}:`,
  '',
  `| token | ${columns.map(([name]) => name).join(' | ')} |`,
  `|---|${columns.map(() => '---').join('|')}|`,
  ...order.map(
    (k) =>
      `| \`${shown(model.tokenizer.decode([k]))}\` | ${probs.map((p) => bar(p[k])).join(' | ')} |`,
  ),
  `| (the other ${model.tokenizer.vocabSize - order.length}) | ${probs
    .map((p) => bar(1 - order.reduce((s, k) => s + p[k], 0)))
    .join(' | ')} |`,
];
console.log(lines.join('\n'));
logits.dispose();
model.dispose();
