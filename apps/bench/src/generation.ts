/**
 * 7. Generation throughput: tokens/s of @sculpt/autoregressive's `char-small`
 * GPT (freshly initialised: speed does not depend on training) at batch 1,
 * 256 new tokens from a 16-character prompt, with and without the KV cache.
 * 256 tokens run past the 128-token context, so the cached run refills its
 * cache as it would in use.
 */
import { charTokenizer, GptModel } from '@sculpt/autoregressive';
import * as tf from '@tensorflow/tfjs-core';

/** What `tf.profile` resolves to. */
export type ProfileInfo = Awaited<ReturnType<typeof tf.profile>>;

import type { Result } from './result.js';

const NEW_TOKENS = 256;

function charSmall(): GptModel {
  const tokenizer = charTokenizer({
    tokens: Array.from({ length: 95 }, (_, i) => String.fromCodePoint(32 + i)),
  });
  return GptModel.create({ tokenizer, preset: 'char-small', seed: 0 });
}

/** The kernels of 16 cached tokens (after a warm-up call): `tf.profile`'s record and the token count. */
export async function profileGeneration(): Promise<{ info: ProfileInfo; tokens: number }> {
  const model = charSmall();
  const tokens = 16;
  try {
    const run = () => model.generate({ prompt: 'Call me Ishmael.', maxNewTokens: tokens, seed: 0 });
    await run();
    const info = await tf.profile(async () => {
      await run();
      return [];
    });
    return { info, tokens };
  } finally {
    model.dispose();
  }
}

/** Median tokens/s with and without the cache (one warm-up call each first). */
export async function generationTokensPerSecond(options: {
  quick: boolean;
  /** Skip the run without the cache (bench:compare: PyTorch's twin is cached only). */
  cachedOnly?: boolean;
}): Promise<Result> {
  const model = charSmall();
  try {
    const once = async (useCache: boolean): Promise<number> => {
      const start = performance.now();
      const { tokens } = await model.generate({
        prompt: 'Call me Ishmael.',
        maxNewTokens: NEW_TOKENS,
        seed: 0,
        useCache,
      });
      if (tokens.length !== NEW_TOKENS) throw new Error(`generated ${tokens.length} tokens`);
      return performance.now() - start;
    };
    const median = async (useCache: boolean): Promise<number> => {
      await once(useCache);
      const times: number[] = [];
      for (let i = 0; i < (options.quick ? 1 : 3); i++) times.push(await once(useCache));
      times.sort((a, b) => a - b);
      return times[Math.floor(times.length / 2)];
    };
    const cached = await median(true);
    const perSecond = (ms: number) => Number(((NEW_TOKENS * 1000) / ms).toFixed(1));
    if (options.cachedOnly) return { tokensPerSecondCached: perSecond(cached) };
    const uncached = await median(false);
    return {
      tokensPerSecondCached: perSecond(cached),
      tokensPerSecondUncached: perSecond(uncached),
      cacheSpeedup: Number((uncached / cached).toFixed(2)),
    };
  } finally {
    model.dispose();
  }
}
