import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initBackend } from '@sculpt/backend';
import { AbortError, Rng, SculptError } from '@sculpt/core';
import { expectNoLeak } from '@sculpt/core/testing';
import { textWindows } from '@sculpt/datasets';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { charTokenizer, GptModel, GptTrainer, KvCache } from './index.js';

const TEXT = 'the cat sat on the mat. the dog sat on the log. '.repeat(4);
const tokenizer = charTokenizer({ text: TEXT });
const ids = tokenizer.encode(TEXT);

let dir: string;
beforeAll(async () => {
  await initBackend('wasm');
  dir = await mkdtemp(join(tmpdir(), 'sculpt-gpt-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const ids2d = (rows: number[][]) =>
  tf.tensor2d(Int32Array.from(rows.flat()), [rows.length, rows[0].length], 'int32');

async function trained(
  steps: number,
  seed = 0,
): Promise<{ model: GptModel; trainer: GptTrainer; losses: number[] }> {
  const model = GptModel.create({ tokenizer, preset: 'tiny', seed });
  const trainer = new GptTrainer(model, { learningRate: 3e-3, seed });
  const losses: number[] = [];
  await trainer.fit({
    data: (_step, rng) => textWindows(ids, { batchSize: 8, blockSize: 32, rng }),
    steps,
    callbacks: { onStep: (r) => void losses.push(r.loss) },
  });
  return { model, trainer, losses };
}

describe('GptModel', () => {
  it('memorises a short text: loss falls from ln V to below 0.5 nats/token', async () => {
    const { model, trainer, losses } = await trained(200);
    expect(losses[0]).toBeGreaterThan(Math.log(tokenizer.vocabSize) - 0.3);
    expect(Math.min(...losses.slice(-10))).toBeLessThan(0.5);
    const greedy = await model.generate({ prompt: 'the cat ', maxNewTokens: 12, temperature: 0 });
    expect(greedy.text).toBe('sat on the m');
    trainer.dispose();
    model.dispose();
  }, 120_000);

  it('is causal: changing a future token never changes past logits', () => {
    const model = GptModel.create({ tokenizer, preset: 'tiny', seed: 3 });
    const a = Array.from(ids.subarray(0, 20));
    const b = [...a];
    b[12] = (b[12] + 1) % tokenizer.vocabSize;
    const [la, lb] = [a, b].map((row) => model.forward(ids2d([row])));
    const past = (l: tf.Tensor3D) => tf.slice(l, [0, 0, 0], [1, 12, -1]);
    const diffPast = tf.tidy(() => tf.max(tf.abs(tf.sub(past(la), past(lb)))).dataSync()[0]);
    const diffFuture = tf.tidy(() => tf.max(tf.abs(tf.sub(la, lb))).dataSync()[0]);
    expect(diffPast).toBe(0);
    expect(diffFuture).toBeGreaterThan(1e-4);
    tf.dispose([la, lb]);
    model.dispose();
  });

  for (const positions of ['learned', 'rotary'] as const) {
    it(`cached logits equal uncached logits (${positions} positions)`, () => {
      const model = GptModel.create({ tokenizer, preset: 'tiny', seed: 4, config: { positions } });
      const row = Array.from(ids.subarray(0, 24));
      const full = model.forward(ids2d([row])); // [1, 24, V]
      const cache = new KvCache();
      const parts = [model.forward(ids2d([row.slice(0, 10)]), { cache })];
      for (let t = 10; t < 24; t++) parts.push(model.forward(ids2d([[row[t]]]), { cache }));
      expect(cache.length).toBe(24);
      const stitched = tf.concat(parts, 1);
      const diff = tf.tidy(() => tf.max(tf.abs(tf.sub(full, stitched))).dataSync()[0]);
      expect(diff).toBeLessThan(1e-4);
      tf.dispose([full, stitched, ...parts]);
      cache.dispose();
      model.dispose();
    });
  }

  it('generates the same tokens with and without the cache, past a full context', async () => {
    const { model, trainer } = await trained(30);
    for (const positions of ['learned', 'rotary'] as const) {
      const m =
        positions === 'learned'
          ? model
          : GptModel.create({ tokenizer, preset: 'tiny', seed: 5, config: { positions } });
      const opts = { prompt: 'the dog', maxNewTokens: 20, seed: 9, temperature: 0.9 };
      const cached = await m.generate(opts);
      const uncached = await m.generate({ ...opts, useCache: false });
      expect(cached.tokens).toEqual(uncached.tokens);
      // 60 tokens past a 32-token context: the cache slides or refills and generation goes on.
      const long = await m.generate({ ...opts, maxNewTokens: 60 });
      expect(long.tokens.length).toBe(60);
      if (m !== model) m.dispose();
    }
    trainer.dispose();
    model.dispose();
  }, 60_000);

  it('streams the same text as generate for a seed, honouring stop strings across tokens', async () => {
    const { model, trainer } = await trained(100);
    const opts = { prompt: 'the', maxNewTokens: 40, seed: 2, temperature: 0.8, topP: 0.95 };
    const whole = await model.generate(opts);
    let streamed = '';
    for await (const piece of model.stream(opts)) streamed += piece;
    expect(streamed).toBe(whole.text);
    const free = await model.generate({ prompt: 'the cat ', maxNewTokens: 30, temperature: 0 });
    const at = free.text.indexOf(' the');
    expect(at).toBeGreaterThan(0);
    // ' the' spans four character tokens: the stream holds them back until it is sure.
    const stopped = await model.generate({
      prompt: 'the cat ',
      maxNewTokens: 30,
      temperature: 0,
      stop: ' the',
    });
    expect(stopped.finishReason).toBe('stop');
    expect(stopped.text).toBe(free.text.slice(0, at));
    trainer.dispose();
    model.dispose();
  }, 60_000);

  it('leaks nothing: train step, generate, stream (whole, abandoned, aborted), beam search, score', async () => {
    const model = GptModel.create({ tokenizer, preset: 'tiny', seed: 6 });
    const trainer = new GptTrainer(model);
    const windows = textWindows(ids, { batchSize: 4, blockSize: 32, rng: new Rng(1) });
    await trainer.step(windows); // optimizer slots are created on the first step
    await expectNoLeak(async () => {
      await trainer.step(windows);
      await model.generate({
        prompt: 'the',
        maxNewTokens: 5,
        topK: 5,
        minP: 0.05,
        typicalP: 0.9,
        repetitionPenalty: 1.2,
      });
      for await (const _ of model.stream({ prompt: 'the', maxNewTokens: 5 }));
      for await (const _ of model.stream({ prompt: 'the', maxNewTokens: 50 })) break;
      const controller = new AbortController();
      await expect(
        (async () => {
          for await (const _ of model.stream({
            prompt: 'the',
            maxNewTokens: 50,
            signal: controller.signal,
          }))
            controller.abort();
        })(),
      ).rejects.toBeInstanceOf(AbortError);
      await model.beamSearch({ prompt: 'the', numBeams: 3, maxNewTokens: 4 });
      await model.score(TEXT);
    });
    windows.dispose();
    trainer.dispose();
    model.dispose();
  }, 60_000);

  it('rejects bad input with a SculptError naming the fix', async () => {
    const model = GptModel.create({ tokenizer, preset: 'tiny' });
    const cases: [string, () => unknown][] = [
      ['empty prompt', () => model.stream({ prompt: '' })],
      ['prompt longer than the context', () => model.stream({ prompt: TEXT })],
      ['unknown character', () => model.stream({ prompt: 'xyz€' })],
      ['maxNewTokens < 0', () => model.stream({ prompt: 'the', maxNewTokens: -1 })],
      ['topP outside (0, 1]', () => model.stream({ prompt: 'the', topP: 1.5 })],
      ['topP 0', () => model.stream({ prompt: 'the', topP: 0 })],
    ];
    for (const [name, call] of cases) {
      let error: unknown;
      try {
        call();
      } catch (e) {
        error = e;
      }
      expect(error, name).toBeInstanceOf(SculptError);
      expect((error as Error).message, name).toMatch(/Fix: /);
    }
    // Truncating keeps the end of a too-long prompt.
    const truncated = await model.generate({ prompt: TEXT, truncate: 'left', maxNewTokens: 2 });
    expect(truncated.tokens.length).toBe(2);
    model.dispose();
  });

  it('saves and loads (weights, config and tokenizer), and resumes training bit-exactly', async () => {
    const data = (_s: number, rng: Rng) => textWindows(ids, { batchSize: 4, blockSize: 32, rng });
    const a = await trained(0, 7);
    await a.trainer.fit({ data, steps: 3 });
    await a.trainer.save(join(dir, 'resume'));
    await a.trainer.fit({ data, steps: 3 });
    const b = await GptTrainer.resume(join(dir, 'resume'));
    await b.trainer.fit({ data, steps: 3 });
    for (const [name, v] of Object.entries(a.model.params)) {
      const same = tf.tidy(() => tf.all(tf.equal(v, b.model.params[name])).dataSync()[0]);
      expect(same, name).toBe(1);
    }
    await a.model.save(join(dir, 'model'));
    const loaded = await GptModel.load(join(dir, 'model'));
    expect(loaded.tokenizer.toJSON()).toEqual(tokenizer.toJSON());
    const opts = { prompt: 'the', maxNewTokens: 10, seed: 1 };
    expect((await loaded.generate(opts)).text).toBe((await a.model.generate(opts)).text);
    for (const x of [a, b]) {
      x.trainer.dispose();
      x.model.dispose();
    }
    loaded.dispose();
  }, 60_000);

  it('scores text in nats per token and per character', async () => {
    const { model, trainer } = await trained(100);
    const s = await model.score(TEXT);
    expect(s.tokens).toBe(ids.length - 1);
    expect(s.chars).toBe(ids.length - 1); // char tokens: one character each
    expect(s.natsPerChar).toBeCloseTo(s.natsPerToken, 6);
    expect(s.natsPerToken).toBeLessThan(1.2);
    expect(s.perplexity).toBeCloseTo(Math.exp(s.natsPerToken), 6);
    trainer.dispose();
    model.dispose();
  }, 60_000);
});
