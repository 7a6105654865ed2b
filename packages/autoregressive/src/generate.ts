// Generation from a GptModel: the token loop (KV cache, processors, draw),
// text streaming, beam search and scoring.
//
// The loop, per new token t: logits z = f(x_<t) [1, V] → processors (penalties,
// temperature, top-k/p, min-p, typical: @sculpt/samplers' order) → draw →
// append. With the cache, f sees only the new token; when the context is full,
// a rotary model slides its cache by one position and a learned-position model
// re-reads its last contextLength / 2 tokens (its positions are absolute).
import { AbortError, type LogitsProcessor, Rng, SculptError } from '@sculpt/core';
import { beamSearch, createTokenSampler, greedy, sampleTokens } from '@sculpt/samplers';
import * as tf from '@tensorflow/tfjs-core';
import { KvCache } from './gpt.js';
import type { GptModel } from './model.js';

/** The special token a model starts from when the prompt is empty, and stops at. */
export const END_OF_TEXT = '<|endoftext|>';

/** What {@link GenerateOptions.onToken} receives after each draw. */
export interface TokenEvent {
  /** 0 for the first new token. */
  step: number;
  /** The token drawn. */
  id: number;
  /** The distribution it was drawn from (after every processor), length V. */
  probs: Float32Array;
  /** The model's own distribution at this step, before any processor (temperature 1), length V. */
  modelProbs: Float32Array;
}

/** Options of `GptModel.generate` and `GptModel.stream`. Every sampling knob is off unless set. */
export interface GenerateOptions {
  /** The text to continue. `''` starts from `<|endoftext|>` (the tokenizer must have it). */
  prompt: string;
  /** Tokens to generate at most (integer ≥ 0). Default `100`. */
  maxNewTokens?: number;
  /** Softmax temperature ≥ 0; `0` is greedy decoding. Default `1`. */
  temperature?: number;
  /** Keep the k most likely tokens. */
  topK?: number;
  /** Nucleus sampling: the smallest set of tokens with this mass, in (0, 1]. */
  topP?: number;
  /** Keep tokens with p ≥ minP · p_max, minP in (0, 1]. */
  minP?: number;
  /** Locally typical sampling mass, in (0, 1]. */
  typicalP?: number;
  /** CTRL repetition penalty θ > 0 (1 = off). */
  repetitionPenalty?: number;
  /** Stop when one of these strings appears; it is not returned. */
  stop?: string | readonly string[];
  /** Stop at this token id. Default: the tokenizer's `<|endoftext|>`, if any. */
  eosTokenId?: number;
  /** Seed of the draws. Default `0`. */
  seed?: number;
  /** Stops between tokens with an `AbortError`. */
  signal?: AbortSignal;
  /** Use the KV cache. Default `true`; `false` re-reads the whole context every token. */
  useCache?: boolean;
  /** A prompt longer than the context: `'error'` (default) or `'left'` (keep its last contextLength − 1 tokens). */
  truncate?: 'error' | 'left';
  /** Extra logits processors, run after the penalties and before temperature. */
  processors?: readonly LogitsProcessor[];
  /** Called after each draw with the distribution it came from (for visualisations). */
  onToken?: (event: TokenEvent) => void;
}

/** What `GptModel.generate` returns. */
export interface GenerateResult {
  /** The generated text (prompt and stop string excluded). */
  text: string;
  /** The generated token ids (eos excluded). */
  tokens: number[];
  /** Why it stopped. */
  finishReason: 'length' | 'stop' | 'eos';
}

interface Settled {
  prompt: number[];
  maxNewTokens: number;
  eos: number | undefined;
  stop: readonly string[];
  useCache: boolean;
}

function settle(model: GptModel, o: GenerateOptions, where: string): Settled {
  model.checkLive(where);
  const maxNewTokens = o.maxNewTokens ?? 100;
  // The bound: a million tokens is hours of generation here; longer texts come from repeated calls.
  if (!Number.isInteger(maxNewTokens) || maxNewTokens < 0 || maxNewTokens > 1_000_000)
    throw new SculptError(
      where,
      'maxNewTokens must be an integer in [0, 1000000]',
      `got ${maxNewTokens}`,
      'pass e.g. maxNewTokens: 100, and continue a longer text with further calls',
    );
  if (o.topP !== undefined && !(o.topP > 0 && o.topP <= 1))
    throw new SculptError(
      where,
      'topP must be in (0, 1]',
      `got ${o.topP}`,
      'pass e.g. topP: 0.9, or leave it unset for no nucleus filter',
    );
  if (o.temperature !== undefined && !(o.temperature >= 0 && Number.isFinite(o.temperature)))
    throw new SculptError(
      where,
      'temperature must be a finite number ≥ 0',
      `got ${o.temperature}`,
      'use 0 for greedy decoding, 1 for the model distribution',
    );
  if (typeof o.prompt !== 'string')
    throw new SculptError(where, 'prompt must be a string', `got ${typeof o.prompt}`);
  const { tokenizer, config } = model;
  const bos = tokenizer.specialTokens[END_OF_TEXT];
  let prompt = Array.from(tokenizer.encode(o.prompt));
  if (prompt.length === 0) {
    if (bos === undefined)
      throw new SculptError(
        where,
        'a non-empty prompt (this tokenizer has no <|endoftext|> token to start from)',
        "got ''",
        "pass a prompt of at least one character, e.g. prompt: '\\n'",
      );
    prompt = [bos];
  }
  if (prompt.length >= config.contextLength) {
    if (o.truncate !== 'left')
      throw new SculptError(
        where,
        `a prompt shorter than the context (${config.contextLength} tokens)`,
        `got ${prompt.length} tokens`,
        "shorten the prompt or pass truncate: 'left' to keep its end",
      );
    prompt = prompt.slice(prompt.length - (config.contextLength - 1));
  }
  const stop = o.stop === undefined ? [] : typeof o.stop === 'string' ? [o.stop] : [...o.stop];
  if (stop.some((s) => typeof s !== 'string' || s.length === 0))
    throw new SculptError(
      where,
      'stop strings must be non-empty strings',
      `got ${JSON.stringify(o.stop)}`,
    );
  return { prompt, maxNewTokens, eos: o.eosTokenId ?? bos, stop, useCache: o.useCache ?? true };
}

/** The next-token logits [1, V] of `tokens`, through the cache when there is one. */
function nextLogits(
  model: GptModel,
  tokens: readonly number[],
  cache: KvCache | undefined,
): tf.Tensor2D {
  const context = model.config.contextLength;
  let fresh: readonly number[];
  if (!cache) {
    fresh = tokens.slice(-context);
  } else {
    const seen = cache.start + cache.length;
    fresh = tokens.slice(seen);
    if (cache.length + fresh.length > context) {
      if (model.config.positions === 'rotary') {
        cache.slide(cache.length + fresh.length - context);
      } else {
        cache.dispose();
        fresh = tokens.slice(-Math.ceil(context / 2));
        cache.start = tokens.length - fresh.length;
      }
    }
  }
  return tf.tidy(() => {
    const input = tf.tensor2d(Int32Array.from(fresh), [1, fresh.length], 'int32');
    const logits = model.forward(input, { cache }); // [1, T, V]
    const last =
      fresh.length === 1 ? logits : tf.slice(logits, [0, fresh.length - 1, 0], [1, 1, -1]);
    return tf.reshape(last, [1, -1]) as tf.Tensor2D;
  });
}

/**
 * The token loop: yields each new token id. Holds its cache until it finishes,
 * is aborted, or the consumer stops iterating (`return()` runs the `finally`).
 */
async function* tokenLoop(
  model: GptModel,
  o: GenerateOptions,
  s: Settled,
  result: { finishReason: GenerateResult['finishReason'] },
): AsyncGenerator<number, void, undefined> {
  const greedyDecoding = o.temperature === 0;
  const rng = new Rng(o.seed ?? 0);
  const { process } = createTokenSampler({
    strategy: greedyDecoding ? 'greedy' : 'sample',
    rng,
    temperature: greedyDecoding ? undefined : o.temperature,
    topK: o.topK,
    topP: o.topP,
    minP: o.minP,
    typicalP: o.typicalP,
    repetitionPenalty: o.repetitionPenalty,
    processors: o.processors,
  });
  const cache = s.useCache ? new KvCache() : undefined;
  const tokens = [...s.prompt];
  try {
    for (let step = 0; step < s.maxNewTokens; step++) {
      if (o.signal?.aborted)
        throw new AbortError(
          'GptModel.generate',
          'generation to run to its end',
          'aborted by its signal',
        );
      const logits = nextLogits(model, tokens, cache);
      const z = process(logits, { tokens: [tokens], step });
      const modelProbs = o.onToken ? tf.tidy(() => tf.softmax(logits)) : undefined;
      logits.dispose();
      const drawn = greedyDecoding ? greedy(z) : sampleTokens(z, rng);
      const probs = o.onToken ? tf.tidy(() => tf.softmax(z)) : undefined;
      z.dispose();
      const id = (await drawn.data())[0];
      drawn.dispose();
      if (probs && modelProbs) {
        const [p, m] = (await Promise.all([probs.data(), modelProbs.data()])) as Float32Array[];
        tf.dispose([probs, modelProbs]);
        o.onToken?.({ step, id, probs: p, modelProbs: m });
      }
      tokens.push(id);
      if (id === s.eos) {
        result.finishReason = 'eos';
        return;
      }
      yield id;
    }
    result.finishReason = 'length';
  } finally {
    cache?.dispose();
  }
}

/** Holds back text that may be the start of a stop string; finds a whole one. */
class StopMatcher {
  private held = '';
  constructor(private readonly stops: readonly string[]) {}

  /** Adds text; returns what is safe to emit and whether a stop string was found. */
  push(text: string): { emit: string; stopped: boolean } {
    this.held += text;
    let cut = -1;
    for (const s of this.stops) {
      const at = this.held.indexOf(s);
      if (at >= 0 && (cut < 0 || at < cut)) cut = at;
    }
    if (cut >= 0) return { emit: this.held.slice(0, cut), stopped: true };
    let keep = 0;
    for (const s of this.stops)
      for (let n = Math.min(s.length - 1, this.held.length); n > keep; n--)
        if (this.held.endsWith(s.slice(0, n))) {
          keep = n;
          break;
        }
    const emit = this.held.slice(0, this.held.length - keep);
    this.held = this.held.slice(this.held.length - keep);
    return { emit, stopped: false };
  }

  /** What is left once the tokens end (no stop string completed). */
  flush(): string {
    const rest = this.held;
    this.held = '';
    return rest;
  }
}

type Progress = { finishReason: GenerateResult['finishReason']; tokens?: number[] };

/** Streams text pieces; see `GptModel.stream`. Options are checked here, before the first piece is asked for. */
export function streamText(
  model: GptModel,
  options: GenerateOptions,
  result: Progress = { finishReason: 'length' },
): AsyncGenerator<string, void, undefined> {
  return streamSettled(model, options, settle(model, options, 'GptModel.stream'), result);
}

async function* streamSettled(
  model: GptModel,
  options: GenerateOptions,
  s: Settled,
  result: Progress,
): AsyncGenerator<string, void, undefined> {
  const decoder = new TextDecoder('utf-8');
  const stopper = new StopMatcher(s.stop);
  for await (const id of tokenLoop(model, options, s, result)) {
    result.tokens?.push(id);
    const { emit, stopped } = stopper.push(
      decoder.decode(model.tokenizer.tokenBytes(id), { stream: true }),
    );
    if (emit) yield emit;
    if (stopped) {
      result.finishReason = 'stop';
      return;
    }
  }
  const { emit, stopped } = stopper.push(decoder.decode());
  if (stopped) result.finishReason = 'stop';
  const rest = emit + (stopped ? '' : stopper.flush());
  if (rest) yield rest;
}

/** Generates a whole continuation; see `GptModel.generate`. */
export async function generateText(
  model: GptModel,
  options: GenerateOptions,
): Promise<GenerateResult> {
  const result = {
    finishReason: 'length' as GenerateResult['finishReason'],
    tokens: [] as number[],
  };
  let text = '';
  for await (const piece of streamText(model, options, result)) text += piece;
  return { text, tokens: result.tokens, finishReason: result.finishReason };
}

/** Options of `GptModel.beamSearch`. */
export interface BeamTextOptions {
  /** The text to continue (non-empty unless the tokenizer has `<|endoftext|>`). */
  prompt: string;
  /** Beams kept per step. Default `4`. */
  numBeams?: number;
  /** Tokens generated at most. Default `20`. */
  maxNewTokens?: number;
  /** α in score = Σ log p / L^α. Default `1`. */
  lengthPenalty?: number;
  /** How many hypotheses to return. Default `numBeams`. */
  numReturnSequences?: number;
  signal?: AbortSignal;
}

/** One beam as text. */
export interface BeamTextResult {
  text: string;
  tokens: number[];
  /** Length-normalised score. */
  score: number;
  /** Σ log p of the generated tokens, in nats. */
  logProb: number;
}

/** Beam search through `@sculpt/samplers`' `beamSearch` (full context per step, batched over beams). */
export async function beamSearchText(
  model: GptModel,
  options: BeamTextOptions,
): Promise<BeamTextResult[]> {
  const s = settle(
    model,
    { prompt: options.prompt, maxNewTokens: options.maxNewTokens ?? 20 },
    'GptModel.beamSearch',
  );
  const context = model.config.contextLength;
  const beams = await beamSearch(
    (rows) =>
      tf.tidy(() => {
        const crop = rows.map((r) => r.slice(-context));
        const t = crop[0].length;
        const input = tf.tensor2d(Int32Array.from(crop.flat()), [crop.length, t], 'int32');
        const logits = model.forward(input);
        return tf.reshape(tf.slice(logits, [0, t - 1, 0], [-1, 1, -1]), [
          crop.length,
          -1,
        ]) as tf.Tensor2D;
      }),
    {
      prompt: s.prompt,
      numBeams: options.numBeams,
      maxNewTokens: s.maxNewTokens,
      lengthPenalty: options.lengthPenalty,
      numReturnSequences: options.numReturnSequences,
      eosTokenId: s.eos,
      signal: options.signal,
    },
  );
  return beams.map((b) => {
    const tokens = b.tokens.filter((id) => id !== s.eos);
    return { text: model.tokenizer.decode(tokens), tokens, score: b.score, logProb: b.logProb };
  });
}

/** Options of `GptModel.score`. */
export interface ScoreOptions {
  /** Windows per forward pass. Default `16`. */
  batchSize?: number;
  /** Score at most this many tokens (from the start). Default: all. */
  maxTokens?: number;
}

/** The log-likelihood of a text under the model. */
export interface ScoreResult {
  /** Tokens predicted (all but the first). */
  tokens: number;
  /** Characters (code points) those tokens cover. */
  chars: number;
  /** −Σ log p, in nats. */
  nats: number;
  natsPerToken: number;
  natsPerChar: number;
  bitsPerChar: number;
  /** exp(natsPerToken). */
  perplexity: number;
}

/**
 * −log p(text) under the model, in non-overlapping windows of contextLength
 * tokens (each token is predicted from the tokens before it in its window).
 */
export async function scoreText(
  model: GptModel,
  text: string,
  options: ScoreOptions = {},
): Promise<ScoreResult> {
  const where = 'GptModel.score';
  model.checkLive(where);
  let ids = model.tokenizer.encode(text);
  if (options.maxTokens !== undefined) ids = ids.subarray(0, options.maxTokens + 1);
  if (ids.length < 2)
    throw new SculptError(
      where,
      'a text of at least two tokens',
      `got ${ids.length}`,
      'score a longer text',
    );
  const T = model.config.contextLength;
  const batchSize = options.batchSize ?? 16;
  const starts: number[] = [];
  for (let a = 0; a + 1 < ids.length; a += T) starts.push(a);
  let nats = 0;
  const sumNll = (rows: number[], width: number): tf.Scalar =>
    tf.tidy(() => {
      const flat = new Int32Array(rows.length * width);
      rows.forEach((a, r) => {
        flat.set(ids.subarray(a, a + width), r * width);
      });
      const windows = tf.tensor2d(flat, [rows.length, width], 'int32');
      return tf.mul(model.loss(windows), rows.length * (width - 1)) as tf.Scalar;
    });
  const full = starts.filter((a) => a + T + 1 <= ids.length);
  for (let i = 0; i < full.length; i += batchSize) {
    const total = sumNll(full.slice(i, i + batchSize), T + 1);
    nats += (await total.data())[0];
    total.dispose();
  }
  const last = starts[starts.length - 1];
  if (last + T + 1 > ids.length) {
    const total = sumNll([last], ids.length - last);
    nats += (await total.data())[0];
    total.dispose();
  }
  const tokens = ids.length - 1;
  const covered = model.tokenizer.decode(ids);
  const chars =
    Array.from(covered).length - Array.from(model.tokenizer.decode(ids.subarray(0, 1))).length;
  return {
    tokens,
    chars,
    nats,
    natsPerToken: nats / tokens,
    natsPerChar: nats / chars,
    bitsPerChar: nats / chars / Math.LN2,
    perplexity: Math.exp(nats / tokens),
  };
}
