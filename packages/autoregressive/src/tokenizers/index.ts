// Public tokenizer API of @sculpt/autoregressive.

export type { BpeTokenizerOptions } from './bpe.js';
export { BpeTokenizer } from './bpe.js';
export { tokenizerFromJson } from './json.js';
export { GPT2_SPLIT_PATTERN, GPT4_SPLIT_PATTERN, splitText } from './patterns.js';
export type { SimpleTokenizerOptions } from './simple.js';
export { byteTokenizer, charTokenizer } from './simple.js';
export type {
  EncodeOptions,
  InvalidInput,
  Tokenizer,
  TokenizerJson,
  TokenizerKind,
} from './tokenizer.js';
export type { BpeTrainProgress, TrainBpeOptions } from './train-bpe.js';
export { trainBpe } from './train-bpe.js';
