// The character-level GPT behind the text demo: @sculpt/autoregressive's
// `GptModel`, loaded from the checkpoint the site serves
// (public/checkpoints/moby-dick-gpt.safetensors: trained by `sculpt train gpt
// --preset char-small --data moby-dick`, exported by
// `pnpm --filter @sculpt/autoregressive export:demo`, copied by scripts/prepare.mjs).
import { charTokenizer, GptModel } from '@sculpt/autoregressive';
import { withBase } from 'vitepress';

/** What the export script measured (moby-dick-gpt.json). */
export interface TextReport {
  steps?: number;
  trainMinutes?: number;
  heldOut?: { chars: number; natsPerChar: number; perplexity: number };
  /** A held-out passage and its nats/char in Node: the page scores it again. */
  excerpt?: { text: string; natsPerChar: number };
}

/** What the demo needs. */
export interface TextModel {
  model: GptModel;
  report: TextReport;
  /** Where the weights came from, shown on the page. */
  source: string;
  /** False for a freshly initialised stand-in (no checkpoint served). */
  trained: boolean;
  dispose(): void;
}

/**
 * Fetches and loads the trained checkpoint; without one (a site built before
 * any training run), an untrained `tiny` model over the same kind of
 * vocabulary stands in, so the page works end to end and says so.
 */
export async function loadTextModel(): Promise<TextModel> {
  const res = await fetch(withBase('/checkpoints/moby-dick-gpt.safetensors'));
  const bytes = res.ok ? new Uint8Array(await res.arrayBuffer()) : undefined;
  if (!bytes || bytes.length < 1024) {
    const tokenizer = charTokenizer(
      { text: 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ .,;:!?\'"-\n' },
      { specialTokens: ['<|endoftext|>'] },
    );
    const model = GptModel.create({ tokenizer, preset: 'tiny', seed: 0 });
    return {
      model,
      report: {},
      source: 'untrained stand-in (no checkpoint served)',
      trained: false,
      dispose: () => model.dispose(),
    };
  }
  const model = GptModel.fromBytes(bytes);
  const report: TextReport = await fetch(withBase('/checkpoints/moby-dick-gpt.json'))
    .then((r) => (r.ok ? r.json() : {}))
    .catch(() => ({}));
  const facts = [
    `${(model.parameterCount / 1e6).toFixed(2)} M weights`,
    report.steps !== undefined ? `${report.steps} steps` : undefined,
    report.trainMinutes !== undefined ? `${report.trainMinutes} min on 2 CPU cores` : undefined,
    report.heldOut ? `${report.heldOut.natsPerChar.toFixed(3)} nats/char held out` : undefined,
  ].filter(Boolean);
  return {
    model,
    report,
    source: `char-small GPT, trained by sculpt train gpt on Moby-Dick (${facts.join(', ')})`,
    trained: true,
    dispose: () => model.dispose(),
  };
}
