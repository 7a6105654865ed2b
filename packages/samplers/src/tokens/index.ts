// Token samplers: logits processors, the draw, and beam search.

export type { Beam, BeamSearchOptions, DiverseBeamSearchOptions, NextLogitsFn } from './beam.js';
export { beamSearch, diverseBeamSearch } from './beam.js';
export { composeProcessors } from './compose.js';
export type { TokenSampler, TokenSamplerOptions, TokenStrategy } from './draw.js';
export { createTokenSampler, greedy, sampleTokens } from './draw.js';
export type {
  EpsilonOptions,
  EtaOptions,
  MinPOptions,
  MinTokensOption,
  TemperatureOptions,
  TopKOptions,
  TopPOptions,
  TypicalOptions,
} from './filters.js';
export {
  epsilonProcessor,
  etaProcessor,
  minPProcessor,
  temperatureProcessor,
  topKProcessor,
  topPProcessor,
  typicalProcessor,
} from './filters.js';
export type { CfgOptions, UnconditionalLogits } from './guidance.js';
export { cfgProcessor } from './guidance.js';
export type {
  BannedTokensOptions,
  FrequencyPenaltyOptions,
  NoRepeatNGramOptions,
  PresencePenaltyOptions,
  RepetitionPenaltyOptions,
} from './penalties.js';
export {
  bannedTokensProcessor,
  frequencyPenaltyProcessor,
  noRepeatNGramProcessor,
  presencePenaltyProcessor,
  repetitionPenaltyProcessor,
} from './penalties.js';
