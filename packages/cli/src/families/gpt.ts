// The GPT family: @sculpt/autoregressive's GPT on characters (char-small) or
// byte-level BPE tokens (bpe-small, tokenizer learned from the training text
// when the run starts), trained by its GptTrainer on core's Trainer, streamed
// by `sculpt generate`, scored by held-out nats per character.
import {
  charTokenizer,
  END_OF_TEXT,
  GptModel,
  type GptPreset,
  GptTrainer,
  type Tokenizer,
  trainBpe,
} from '@sculpt/autoregressive';
import {
  type Checkpoint,
  constantLr,
  type JsonValue,
  type LrSchedule,
  type LrSpec,
  ownTrainingCheckpoint,
  type StepResult,
  warmupCosineLr,
} from '@sculpt/core';
import { textWindows } from '@sculpt/datasets';
import { UsageError } from '../errors.js';
import type {
  CreateModelOptions,
  EvalReport,
  EvaluateRequest,
  FamilyAdapter,
  FamilyModel,
  GenerateRequest,
  TextFamilyModel,
  TrainingData,
} from '../family.js';

const PRESETS = [
  {
    name: 'tiny',
    description: '2 layers of width 32 on characters: a step takes milliseconds (tests)',
  },
  {
    name: 'char-small',
    description: '4 layers, 4 heads, width 160, context 128 on characters (≈ 1.3 M weights)',
  },
  {
    name: 'bpe-small',
    description: 'the same body on a 1,024-token byte-level BPE learned from the training text',
  },
] as const;

const BATCH: Record<string, number> = { tiny: 8, 'char-small': 32, 'bpe-small': 32 };
/** Peak learning rate per preset: the small models take a larger step (measured on Moby-Dick). */
const PEAK_LR: Record<string, number> = { tiny: 1e-3, 'char-small': 2e-3, 'bpe-small': 2e-3 };
/** BPE vocabulary of the bpe-small preset. */
const BPE_VOCAB = 1024;
/** Held-out tokens `sculpt eval` scores at most (all of Moby-Dick's held-out chapters fit). */
const EVAL_MAX_TOKENS = 400_000;

function textOf(data: TrainingData): Extract<TrainingData, { kind: 'text' }> {
  if (data.kind !== 'text') {
    throw new UsageError(
      '--data',
      'expected text for gpt',
      `got images ('${data.spec}')`,
      'use --data moby-dick, --data sotu or --data text:FILE',
    );
  }
  return data;
}

function tokenizerFor(preset: string, data: Extract<TrainingData, { kind: 'text' }>): Tokenizer {
  if (preset === 'bpe-small')
    return trainBpe({ text: data.train, vocabSize: BPE_VOCAB + 1, specialTokens: [END_OF_TEXT] });
  // Characters of both splits, so that held-out text encodes; BOS for empty prompts.
  return charTokenizer({ text: data.train + data.heldOut }, { specialTokens: [END_OF_TEXT] });
}

/** Warm-up + cosine to a tenth of the peak when the run length is known; else the peak after nothing. */
function scheduleFor(totalSteps: number | undefined, peak: number): LrSchedule {
  if (!totalSteps || totalSteps < 2) return constantLr(peak);
  const warmupSteps = Math.min(100, Math.floor(totalSteps / 10));
  return warmupCosineLr({ peak, warmupSteps, totalSteps, minLr: peak / 10 });
}

/** The peak rate of a checkpoint's stored schedule (a resumed run re-plans its length, not its peak). */
function storedPeak(checkpoint: Checkpoint): number {
  const spec = (checkpoint.json as { learningRate?: LrSpec } | null)?.learningRate;
  if (!spec) return 1e-3;
  return spec.kind === 'constant' ? spec.learningRate : spec.peak;
}

class GptRun implements TextFamilyModel {
  readonly kind = 'text' as const;
  readonly parameterCount: number;
  readonly contextLength: number;
  private ids: Int32Array | undefined;

  constructor(
    private readonly model: GptModel,
    private readonly trainer: GptTrainer,
    readonly batchSize: number,
    private readonly text: string | undefined,
  ) {
    this.parameterCount = model.parameterCount;
    this.contextLength = model.config.contextLength;
  }

  get config(): JsonValue {
    return this.model.checkpointConfig();
  }

  get stepCount(): number {
    return this.trainer.stepCount;
  }

  async train(options: {
    steps: number;
    signal?: AbortSignal;
    onStep: (r: StepResult) => void | Promise<void>;
  }): Promise<void> {
    if (this.text === undefined)
      throw new UsageError(
        'sculpt train',
        'expected training text',
        'got none (the model was loaded for generation)',
      );
    this.ids ??= this.model.tokenizer.encode(this.text);
    const ids: Int32Array = this.ids;
    const blockSize = this.contextLength;
    await this.trainer.fit({
      // Window starts from the step's own Rng, so a resumed run sees the same batches.
      data: (_step, rng) => textWindows(ids, { batchSize: this.batchSize, blockSize, rng }),
      steps: options.steps,
      signal: options.signal,
      callbacks: { onStep: options.onStep },
    });
  }

  checkpoint(): Checkpoint {
    return ownTrainingCheckpoint(this.trainer.checkpoint({ batchSize: this.batchSize }));
  }

  async evaluate(request: EvaluateRequest): Promise<EvalReport> {
    const data = textOf(request.data);
    const s = await this.model.score(data.heldOut, { maxTokens: EVAL_MAX_TOKENS });
    return {
      natsPerChar: round(s.natsPerChar),
      natsPerToken: round(s.natsPerToken),
      bitsPerChar: round(s.bitsPerChar),
      perplexity: round(s.perplexity),
      heldOutTokens: s.tokens,
      heldOutChars: s.chars,
    };
  }

  async *generate(request: GenerateRequest): AsyncIterable<string> {
    yield* this.model.stream({
      prompt: request.prompt,
      maxNewTokens: request.maxNewTokens,
      temperature: request.temperature,
      topK: request.topK,
      topP: request.topP,
      minP: request.minP,
      repetitionPenalty: request.repetitionPenalty,
      stop: request.stop,
      seed: request.seed,
      signal: request.signal,
      truncate: 'left',
    });
  }

  dispose(): void {
    this.trainer.dispose();
    this.model.dispose();
  }
}

const round = (v: number): number => Number(v.toFixed(4));

/** The GPT family of the `sculpt` command. */
export const gptFamily: FamilyAdapter = Object.freeze({
  name: 'gpt',
  description: 'GPT language model on characters or BPE tokens; held-out nats per character',
  presets: PRESETS,
  defaultPreset: 'char-small',
  dataKinds: ['text'] as const,
  defaultData: 'moby-dick',
  generates: 'text',
  usesSamplers: false,
  sampleDefaults: {},
  metrics: ['natsPerChar', 'natsPerToken', 'perplexity'],
  smoke: { preset: 'tiny', data: 'moby-dick', batchSize: 4 },

  async create(options: CreateModelOptions): Promise<FamilyModel> {
    const data = textOf(options.data);
    const tokenizer = tokenizerFor(options.preset, data);
    const model = GptModel.create({
      tokenizer,
      preset: options.preset as GptPreset,
      seed: options.seed,
    });
    const trainer = new GptTrainer(model, {
      learningRate: scheduleFor(options.totalSteps, PEAK_LR[options.preset] ?? 1e-3),
      seed: options.seed + 1,
    });
    const batchSize = options.batchSize ?? BATCH[options.preset] ?? 32;
    return new GptRun(model, trainer, batchSize, data.train);
  },

  async restore(
    checkpoint: Checkpoint,
    options: { data?: TrainingData; totalSteps: number | undefined },
  ): Promise<FamilyModel> {
    const json = checkpoint.json as { batchSize?: number } | null;
    // A resumed run keeps its stored schedule unless the planned length changed.
    const learningRate =
      options.totalSteps === undefined
        ? undefined
        : scheduleFor(options.totalSteps, storedPeak(checkpoint));
    const { model, trainer } = GptTrainer.fromCheckpoint(
      'sculpt',
      checkpoint,
      learningRate ? { learningRate } : {},
    );
    const text = options.data === undefined ? undefined : textOf(options.data).train;
    return new GptRun(model, trainer, json?.batchSize ?? 32, text);
  },
});
