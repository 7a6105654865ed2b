// `sculpt generate <checkpoint>`: streams text from a trained text model to
// stdout as it is sampled (a pipeline can read it token by token).
import type { BackendPreference } from '@sculpt/backend';
import type { GenerateRequest } from '../family.js';
import type { CliIo } from '../io.js';
import { loadRun, textModelOf } from './sample.js';

/** Options of {@link generateCommand}. */
export interface GenerateOptions {
  prompt: string;
  maxTokens: number;
  temperature?: number;
  topK?: number;
  topP?: number;
  minP?: number;
  repetitionPenalty?: number;
  stop?: string[];
  seed?: number;
  backend: BackendPreference;
}

/**
 * Runs `sculpt generate`: writes the prompt, then each generated piece as it
 * arrives, to stdout; Ctrl-C stops between tokens.
 *
 * @returns the generated text (without the prompt).
 */
export async function generateCommand(
  path: string,
  options: GenerateOptions,
  io: CliIo,
): Promise<string> {
  const loaded = await loadRun(path, options.backend, 'sculpt generate');
  const controller = new AbortController();
  const unsubscribe = io.onInterrupt(() => controller.abort());
  try {
    const model = textModelOf(loaded.model, 'sculpt generate');
    const request: GenerateRequest = {
      prompt: options.prompt,
      maxNewTokens: options.maxTokens,
      temperature: options.temperature,
      topK: options.topK,
      topP: options.topP,
      minP: options.minP,
      repetitionPenalty: options.repetitionPenalty,
      stop: options.stop,
      seed: options.seed ?? 0,
      signal: controller.signal,
    };
    io.report.data(options.prompt, { event: 'prompt', text: options.prompt });
    let text = '';
    for await (const piece of model.generate(request)) {
      text += piece;
      io.report.data(piece, { event: 'text', text: piece });
    }
    io.report.data('\n');
    return text;
  } finally {
    unsubscribe();
    loaded.model.dispose();
  }
}
