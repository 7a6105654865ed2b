// GptModel: a GPT network plus the tokenizer it reads, saved together in
// sculpt's checkpoint layout so that a checkpoint alone can generate text.
import {
  assignModelWeights,
  type Checkpoint,
  type CheckpointTarget,
  checkpointFromBytes,
  checkpointToBytes,
  expectTrainingWeights,
  type FetchCheckpointOptions,
  type JsonValue,
  type LoadCheckpointOptions,
  loadCheckpoint,
  modelFromUrl,
  packTrainingCheckpoint,
  SculptError,
  saveCheckpoint,
  unpackTrainingCheckpoint,
  weightSpecs,
} from '@sculpt/core';
import * as tf from '@tensorflow/tfjs-core';
import { checkConfig, type GptConfig, type GptPreset, gptConfig } from './config.js';
import {
  type BeamTextOptions,
  type BeamTextResult,
  beamSearchText,
  type GenerateOptions,
  type GenerateResult,
  generateText,
  type ScoreOptions,
  type ScoreResult,
  scoreText,
  streamText,
} from './generate.js';
import { type ForwardOptions, gptForward, gptLoss, initGptParams } from './gpt.js';
import type { Tokenizer, TokenizerJson } from './tokenizers/index.js';
import { tokenizerFromJson } from './tokenizers/index.js';

/** The `kind` written into checkpoints of this package. */
export const CHECKPOINT_KIND = 'sculpt-gpt';

/** Options of {@link GptModel.create}. */
export interface CreateGptOptions {
  /** The tokenizer; sets `vocabSize`. */
  tokenizer: Tokenizer;
  /** A preset name (default `'tiny'`) … */
  preset?: GptPreset;
  /** … and fields that override it. */
  config?: Partial<GptConfig>;
  /** Seed of the weight initialisation. Default `0`. */
  seed?: number;
}

/** What a checkpoint's config holds. */
interface StoredConfig {
  gpt: GptConfig;
  tokenizer: TokenizerJson;
}

/**
 * A decoder-only transformer language model with its tokenizer: train it
 * with {@link GptTrainer}, then `generate`, `stream`, `beamSearch` or `score` text.
 *
 * @example
 * ```ts
 * const tokenizer = charTokenizer({ text: 'hello world' });
 * const gpt = GptModel.create({ tokenizer, preset: 'tiny', seed: 1 });
 * for await (const piece of gpt.stream({ prompt: 'he', maxNewTokens: 8, seed: 0 })) process.stdout.write(piece);
 * gpt.dispose();
 * ```
 */
export class GptModel {
  /** The frozen architecture. */
  readonly config: GptConfig;
  /** Text ↔ ids. */
  readonly tokenizer: Tokenizer;
  /** The weights by name (nanoGPT's names), owned by the model. */
  readonly params: Record<string, tf.Variable>;
  private disposed = false;

  private constructor(config: GptConfig, tokenizer: Tokenizer, seed: number) {
    if (tokenizer.vocabSize !== config.vocabSize) {
      throw new SculptError(
        'GptModel',
        `a tokenizer of vocabSize ${config.vocabSize}`,
        `got ${tokenizer.vocabSize}`,
        'build the config from tokenizer.vocabSize',
      );
    }
    this.config = config;
    this.tokenizer = tokenizer;
    this.params = initGptParams(config, seed);
  }

  /**
   * A freshly initialised model.
   * @returns a new model; the caller owns it (`dispose()`).
   * @throws SculptError for an invalid preset or config field.
   */
  static create(options: CreateGptOptions): GptModel {
    const config = gptConfig(options.preset ?? 'tiny', {
      ...options.config,
      vocabSize: options.tokenizer.vocabSize,
    });
    return new GptModel(config, options.tokenizer, options.seed ?? 0);
  }

  /** The same architecture and tokenizer with fresh weights: `fromConfig(m.getConfig(), m.tokenizer)`. */
  static fromConfig(config: GptConfig, tokenizer: Tokenizer, seed = 0): GptModel {
    return new GptModel(checkConfig(config), tokenizer, seed);
  }

  /** The frozen, JSON-serialisable config. */
  getConfig(): GptConfig {
    return this.config;
  }

  /** Number of trainable scalars. */
  get parameterCount(): number {
    return Object.values(this.params).reduce((n, v) => n + v.size, 0);
  }

  /** @throws SculptError when the model was disposed. */
  checkLive(where: string): void {
    if (this.disposed)
      throw new SculptError(where, 'a live model', 'a disposed one', 'create or load a new model');
  }

  /** Next-token logits at every position: ids [B, T] int32 → [B, T, V]; see {@link gptForward}. The caller owns the result. */
  forward(tokens: tf.Tensor2D, options: ForwardOptions = {}): tf.Tensor3D {
    this.checkLive('GptModel.forward');
    return gptForward(this.config, this.params, tokens, options);
  }

  /** Mean next-token cross-entropy (nats/token) of windows [B, T + 1]. The caller owns the scalar. */
  loss(windows: tf.Tensor2D, options: Omit<ForwardOptions, 'cache'> = {}): tf.Scalar {
    this.checkLive('GptModel.loss');
    return gptLoss(this.config, this.params, windows, options);
  }

  /** Generates a continuation; see {@link GenerateOptions}. @example `const { text } = await gpt.generate({ prompt: 'Call me', maxNewTokens: 50, topP: 0.9 })` */
  generate(options: GenerateOptions): Promise<GenerateResult> {
    return generateText(this, options);
  }

  /**
   * Streams the continuation as text pieces (whole characters; stop strings
   * held back until they are ruled out). Breaking out of the loop or aborting
   * frees everything.
   * @example `for await (const piece of gpt.stream({ prompt: 'Call me', maxNewTokens: 50 })) out.write(piece)`
   */
  stream(options: GenerateOptions): AsyncGenerator<string, void, undefined> {
    return streamText(this, options);
  }

  /** Beam search over continuations (through `@sculpt/samplers`' `beamSearch`). @example `const [best] = await gpt.beamSearch({ prompt: 'The', numBeams: 4 })` */
  beamSearch(options: BeamTextOptions): Promise<BeamTextResult[]> {
    return beamSearchText(this, options);
  }

  /** Log-likelihood of `text`: nats per token and per character, perplexity. @example `const { natsPerChar } = await gpt.score(heldOut)` */
  score(text: string, options: ScoreOptions = {}): Promise<ScoreResult> {
    return scoreText(this, text, options);
  }

  /** What checkpoints store as `config`: the architecture and the tokenizer, as JSON. */
  checkpointConfig(): JsonValue {
    return this.storedConfig() as unknown as JsonValue;
  }

  private storedConfig(): StoredConfig {
    return { gpt: this.config, tokenizer: this.tokenizer.toJSON() };
  }

  /** Weights + config + tokenizer in sculpt's checkpoint layout (tensors are the model's own variables). */
  toCheckpoint(): Checkpoint {
    return packTrainingCheckpoint({
      kind: CHECKPOINT_KIND,
      version: 1,
      config: this.storedConfig() as unknown as JsonValue,
      weights: this.params,
    });
  }

  /** An untrained model of a stored `{ gpt, tokenizer }` config. @throws SculptError when it is not one. */
  private static fromStored(where: string, config: JsonValue): GptModel {
    const stored = config as unknown as StoredConfig;
    if (!stored || typeof stored !== 'object' || !stored.gpt || !stored.tokenizer) {
      throw new SculptError(
        where,
        'a config with { gpt, tokenizer }',
        `got ${JSON.stringify(config)?.slice(0, 80)}`,
        'load a checkpoint written by GptModel.save or GptTrainer.save',
      );
    }
    return new GptModel(checkConfig(stored.gpt), tokenizerFromJson(stored.tokenizer), 0);
  }

  /**
   * @internal How `load`, `fromBytes` and `GptTrainer.resume` read a
   * checkpoint: every `model/` tensor checked (name, shape, dtype) against the
   * architecture of the stored config before any tensor is made.
   */
  static loadOptions(): LoadCheckpointOptions {
    return expectTrainingWeights(CHECKPOINT_KIND, (config) =>
      weightSpecs(GptModel.fromStored('GptModel.load', config), (m) => m.params),
    );
  }

  /**
   * A model from a checkpoint of this package (model-only or a trainer's).
   * @returns a new model; the caller owns it. The checkpoint's tensors are read, not taken.
   * @throws CheckpointError for another kind or a missing, extra or mismatched weight; SculptError for a malformed config.
   */
  static fromCheckpoint(where: string, checkpoint: Checkpoint): GptModel {
    const { config, weights } = unpackTrainingCheckpoint(where, checkpoint, CHECKPOINT_KIND);
    const model = GptModel.fromStored(where, config);
    try {
      assignModelWeights(where, model.params, weights);
    } catch (error) {
      model.dispose();
      throw error;
    }
    return model;
  }

  /** Saves weights, config and tokenizer (core's atomic checkpoint). @example `await gpt.save('runs/gpt')` */
  async save(target: CheckpointTarget): Promise<void> {
    this.checkLive('GptModel.save');
    await saveCheckpoint(target, this.toCheckpoint());
  }

  /**
   * Loads a model from a URL: the bytes of `toBytes()` or a saved folder's
   * `weights.safetensors`, with progress, an AbortSignal and a cache (the
   * browser Cache API by default; see core's `fetchCheckpoint`).
   * @returns a new model; the caller owns it.
   * @throws CheckpointError on a 404, a truncated download or corrupt bytes; AbortError when aborted.
   * @example `const model = await GptModel.fromUrl('https://example.com/gpt/weights.safetensors', { onProgress: (p) => console.log(p.loadedBytes) })`
   */
  static fromUrl(url: string, options: FetchCheckpointOptions = {}): Promise<GptModel> {
    return modelFromUrl(url, options, (c) => GptModel.fromCheckpoint('GptModel.fromUrl', c));
  }

  /** Loads a model saved by `save` (or a trainer checkpoint). @returns the caller owns it. */
  static async load(target: CheckpointTarget): Promise<GptModel> {
    const ckpt = await loadCheckpoint(target, GptModel.loadOptions());
    try {
      return GptModel.fromCheckpoint('GptModel.load', ckpt);
    } finally {
      tf.dispose(Object.values(ckpt.tensors));
    }
  }

  /**
   * Weights, config and tokenizer as one buffer (serve it to a page, keep it in IndexedDB).
   * @returns a new `ArrayBuffer` holding a core checkpoint blob; {@link GptModel.fromBytes} reads it.
   * @example `await writeFile('gpt.safetensors', new Uint8Array(await gpt.toBytes()))`
   */
  async toBytes(): Promise<ArrayBuffer> {
    this.checkLive('GptModel.toBytes');
    const bytes = await checkpointToBytes(this.toCheckpoint());
    return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  }

  /** A model from checkpoint bytes (e.g. fetched in a browser). @example `GptModel.fromBytes(await (await fetch(url)).arrayBuffer())` */
  static fromBytes(bytes: ArrayBuffer | Uint8Array): GptModel {
    const checkpoint = checkpointFromBytes(
      bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes),
      GptModel.loadOptions(),
    );
    try {
      return GptModel.fromCheckpoint('GptModel.fromBytes', checkpoint);
    } finally {
      tf.dispose(Object.values(checkpoint.tensors));
    }
  }

  /** Frees the weights. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    tf.dispose(Object.values(this.params));
  }
}
