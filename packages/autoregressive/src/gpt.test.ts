import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initBackend } from '@sculpt/backend';
import { AbortError, Rng, SculptError } from '@sculpt/core';
import { expectNoLeak } from '@sculpt/core/testing';
import { textWindows } from '@sculpt/datasets';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { crossEntropy, gelu, layerNormOp } from './gpt.js';
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
    // One buffer, as a page fetches it (Node's Buffer is a view: offset ≠ 0).
    const fromBytes = GptModel.fromBytes(Buffer.from(new Uint8Array(await a.model.toBytes())));
    expect((await fromBytes.generate(opts)).text).toBe((await a.model.generate(opts)).text);
    fromBytes.dispose();
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

describe('hand-written gradients', () => {
  const rng = new Rng(3);
  it('cross-entropy matches autodiff of −mean(logSoftmax · onehot), value and gradient', () => {
    const z = rng.normal([5, 7], { std: 3 });
    const y = tf.tensor1d([0, 6, 3, 3, 1], 'int32');
    const reference = (t: tf.Tensor) =>
      tf.neg(tf.mean(tf.sum(tf.mul(tf.logSoftmax(t), tf.cast(tf.oneHot(y, 7), 'float32')), -1)));
    const ours = tf.valueAndGrad((t: tf.Tensor) => crossEntropy(t as tf.Tensor2D, y))(z);
    const theirs = tf.valueAndGrad((t: tf.Tensor) => reference(t) as tf.Scalar)(z);
    expect(ours.value.dataSync()[0]).toBeCloseTo(theirs.value.dataSync()[0], 5);
    expect(Math.max(...tf.abs(tf.sub(ours.grad, theirs.grad)).dataSync())).toBeLessThan(1e-6);
  });
  const x = () => rng.normal([6, 8], { std: 2 });
  it('GELU matches autodiff of its formula', () => {
    const input = x();
    const reference = (t: tf.Tensor) => {
      const inner = tf.mul(tf.add(t, tf.mul(tf.pow(t, 3), 0.044715)), Math.sqrt(2 / Math.PI));
      return tf.mul(tf.mul(t, 0.5), tf.add(tf.tanh(inner), 1));
    };
    const w = rng.normal([6, 8]);
    const [ours] = tf.grads((t: tf.Tensor) => tf.sum(tf.mul(gelu(t), w)))([input]);
    const [theirs] = tf.grads((t: tf.Tensor) => tf.sum(tf.mul(reference(t), w)))([input]);
    expect(Math.max(...tf.abs(tf.sub(gelu(input), reference(input))).dataSync())).toBeLessThan(
      1e-5,
    );
    expect(Math.max(...tf.abs(tf.sub(ours, theirs)).dataSync())).toBeLessThan(1e-5);
  });
  it('LayerNorm matches autodiff of moments → normalise → scale, with and without bias', () => {
    const input = x();
    const g = rng.normal([8]);
    const b = rng.normal([8]);
    const w = rng.normal([6, 8]);
    const reference = (t: tf.Tensor, gain: tf.Tensor, bias?: tf.Tensor) => {
      const { mean, variance } = tf.moments(t, -1, true);
      const y = tf.mul(tf.mul(tf.sub(t, mean), tf.rsqrt(tf.add(variance, 1e-5))), gain);
      return bias ? tf.add(y, bias) : y;
    };
    const loss = (f: typeof reference) => (t: tf.Tensor, gain: tf.Tensor, bias: tf.Tensor) =>
      tf.sum(tf.mul(f(t, gain, bias), w));
    const ours = tf.grads(loss(layerNormOp))([input, g, b]);
    const theirs = tf.grads(loss(reference))([input, g, b]);
    ours.forEach((d, i) => {
      expect(Math.max(...tf.abs(tf.sub(d, theirs[i])).dataSync())).toBeLessThan(1e-4);
    });
    const [dx] = tf.grads((t: tf.Tensor) => tf.sum(tf.mul(layerNormOp(t, g), w)))([input]);
    const [rx] = tf.grads((t: tf.Tensor) => tf.sum(tf.mul(reference(t, g), w)))([input]);
    expect(Math.max(...tf.abs(tf.sub(dx, rx)).dataSync())).toBeLessThan(1e-4);
  });
});

describe('onToken', () => {
  it("reports each draw with the model's distribution and the processed one it came from", async () => {
    const model = GptModel.create({ tokenizer, preset: 'tiny', seed: 5 });
    const events: { id: number; probs: Float32Array; modelProbs: Float32Array }[] = [];
    await expectNoLeak(async () => {
      const out = await model.generate({
        prompt: 'the',
        maxNewTokens: 6,
        topK: 3,
        seed: 2,
        onToken: (e) => void events.push(e),
      });
      expect(out.tokens).toEqual(events.map((e) => e.id));
    });
    expect(events).toHaveLength(6);
    const sum = (a: Float32Array) => a.reduce((s, v) => s + v, 0);
    for (const e of events) {
      expect(sum(e.probs)).toBeCloseTo(1, 4);
      expect(sum(e.modelProbs)).toBeCloseTo(1, 4);
      expect(e.probs.filter((p) => p > 0).length).toBe(3); // top-k kept three
      expect(e.modelProbs.filter((p) => p > 0).length).toBe(tokenizer.vocabSize);
      expect(e.probs[e.id]).toBeGreaterThan(0);
    }
    model.dispose();
  });
});
