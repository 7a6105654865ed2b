/**
 * @sculpt/autoregressive — tokenizers (char, byte, byte-level BPE) and a GPT
 * with a KV cache that trains on a book in minutes and streams text, in Node
 * and the browser. Sampling knobs come from `@sculpt/samplers`.
 * @packageDocumentation
 */
export type { GptConfig, GptConfigInput, GptPreset, PositionKind } from './config.js';
export { checkConfig, gptConfig, PRESETS } from './config.js';
export type {
  BeamTextOptions,
  BeamTextResult,
  GenerateOptions,
  GenerateResult,
  ScoreOptions,
  ScoreResult,
  TokenEvent,
} from './generate.js';
export { END_OF_TEXT } from './generate.js';
export type { EncodeHiddenOptions, ForwardOptions } from './gpt.js';
export { gptEncode, gptForward, gptLoss, initGptParams, KvCache } from './gpt.js';
export type { CreateGptOptions } from './model.js';
export { CHECKPOINT_KIND, GptModel } from './model.js';
export type {
  BpeTokenizerOptions,
  BpeTrainProgress,
  EncodeOptions,
  InvalidInput,
  SimpleTokenizerOptions,
  Tokenizer,
  TokenizerJson,
  TokenizerKind,
  TrainBpeOptions,
} from './tokenizers/index.js';
export {
  BpeTokenizer,
  byteTokenizer,
  charTokenizer,
  GPT2_SPLIT_PATTERN,
  GPT4_SPLIT_PATTERN,
  tokenizerFromJson,
  trainBpe,
} from './tokenizers/index.js';
export type { GptTrainOptions } from './train.js';
export { GptTrainer } from './train.js';
