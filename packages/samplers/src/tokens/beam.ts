// Beam search and diverse (group) beam search over any next-token function.
//
// Notation (Vijayakumar et al. 2016, arXiv 1610.02424): B beams split into
// G groups of B/G beams. A beam's score s is its summed log-probability; at
// each step group g extends its beams by
//   s' = s + log p(v | y) − λ · h_g(v),
// where h_g(v) counts how many beams of groups 0 … g−1 chose token v at this
// step (Hamming diversity) and λ = diversityPenalty. One group with λ = 0 is
// plain beam search. A finished hypothesis of length L (eos included, as in
// fairseq) scores s / L^α, α = lengthPenalty. Candidates per group: the best
// 2·B/G (beam, token) pairs, as in transformers.

import type { LogitsProcessor } from '@sculpt/core';
import { AbortError, formatShape, SculptError } from '@sculpt/core';
import * as tf from '@tensorflow/tfjs-core';
import { checkFinite, checkInteger } from './internal.js';

/** A model step for beam search: one token sequence per live beam (prompt included) → next-token logits [rows, V]. The search disposes the tensor it gets. */
export type NextLogitsFn = (tokens: number[][]) => tf.Tensor2D | Promise<tf.Tensor2D>;

/** Options for {@link beamSearch}. */
export interface BeamSearchOptions {
  /** Beams kept per step. Default `4`. */
  numBeams?: number;
  /** Tokens generated at most (eos included). Default `20`. */
  maxNewTokens?: number;
  /** Tokens the sequences start from; handed to `nextLogits` in front of every beam. Default `[]`. */
  prompt?: readonly number[];
  /** End-of-sequence id(s); a beam that emits one is finished. Default: none (every beam runs to `maxNewTokens`). */
  eosTokenId?: number | readonly number[];
  /** α in score = Σ log p / L^α. > 0 favours longer sequences, < 0 shorter. Default `1`. */
  lengthPenalty?: number;
  /**
   * transformers' `early_stopping`: `true` stops a group as soon as it has
   * `numBeams` finished hypotheses; `false` (default) stops when no live beam
   * can still beat the worst of them (heuristic); `'never'` only stops when
   * that is impossible in principle (or at `maxNewTokens`).
   */
  earlyStopping?: boolean | 'never';
  /** How many of the best hypotheses to return. Default `numBeams`. */
  numReturnSequences?: number;
  /** Applied to the log-probabilities [rows, V] before they are added to the beam scores (e.g. no-repeat n-gram). Default: none. */
  processor?: LogitsProcessor;
  /** Stops the search between steps with an `AbortError`. */
  signal?: AbortSignal;
}

/** Options for {@link diverseBeamSearch}. */
export interface DiverseBeamSearchOptions extends BeamSearchOptions {
  /** Number of groups G; must divide `numBeams`. Default `2`. */
  numBeamGroups?: number;
  /** λ ≥ 0, subtracted per earlier-group use of a token at the same step. Default `0.5`. */
  diversityPenalty?: number;
}

/** One returned hypothesis, a plain object. */
export interface Beam {
  /** The generated tokens (prompt excluded, eos included when finished). */
  tokens: number[];
  /** Ranking score: `logProb` minus diversity penalties, divided by length^lengthPenalty. */
  score: number;
  /** Σ log p of the generated tokens after `processor` (no diversity or length penalty). */
  logProb: number;
  /** True if the hypothesis ended with eos; false if it ran out of `maxNewTokens`. */
  finished: boolean;
  /** Group index (always 0 for plain beam search). */
  group: number;
}

interface Live {
  tokens: number[];
  /** Penalised running sum (what the beams are ranked by). */
  sum: number;
  logProb: number;
}

interface Group {
  live: Live[];
  hyps: Beam[]; // sorted by score, best first, at most `size`
  done: boolean;
}

interface Settings {
  where: string;
  numBeams: number;
  groupSize: number;
  numGroups: number;
  diversity: number;
  maxNewTokens: number;
  prompt: number[];
  eos: Set<number>;
  lengthPenalty: number;
  earlyStopping: boolean | 'never';
  numReturn: number;
  processor?: LogitsProcessor;
  signal?: AbortSignal;
}

function settle(
  where: string,
  o: DiverseBeamSearchOptions,
  numGroups: number,
  diversity: number,
): Settings {
  const numBeams = o.numBeams ?? 4;
  checkInteger(where, 'numBeams', numBeams, 1);
  checkInteger(where, 'numBeamGroups', numGroups, 1);
  if (numBeams % numGroups !== 0) {
    throw new SculptError(
      where,
      'numBeamGroups must divide numBeams',
      `got numBeams ${numBeams}, numBeamGroups ${numGroups}`,
    );
  }
  checkFinite(where, 'diversityPenalty', diversity);
  if (diversity < 0)
    throw new SculptError(where, 'diversityPenalty must be ≥ 0', `got ${diversity}`);
  const maxNewTokens = o.maxNewTokens ?? 20;
  checkInteger(where, 'maxNewTokens', maxNewTokens, 1);
  const lengthPenalty = o.lengthPenalty ?? 1;
  checkFinite(where, 'lengthPenalty', lengthPenalty);
  const earlyStopping = o.earlyStopping ?? false;
  if (earlyStopping !== true && earlyStopping !== false && earlyStopping !== 'never') {
    throw new SculptError(
      where,
      "earlyStopping must be true, false or 'never'",
      `got ${String(earlyStopping)}`,
    );
  }
  const numReturn = o.numReturnSequences ?? numBeams;
  checkInteger(where, 'numReturnSequences', numReturn, 1);
  if (numReturn > numBeams)
    throw new SculptError(
      where,
      `numReturnSequences must be ≤ numBeams (${numBeams})`,
      `got ${numReturn}`,
    );
  const prompt = [...(o.prompt ?? [])];
  const eosList =
    o.eosTokenId === undefined
      ? []
      : typeof o.eosTokenId === 'number'
        ? [o.eosTokenId]
        : [...o.eosTokenId];
  for (const t of [...prompt, ...eosList]) checkInteger(where, 'token ids', t, 0);
  if (o.processor !== undefined && typeof o.processor !== 'function') {
    throw new SculptError(
      where,
      'processor must be a LogitsProcessor function',
      `got ${typeof o.processor}`,
    );
  }
  return {
    where,
    numBeams,
    groupSize: numBeams / numGroups,
    numGroups,
    diversity,
    maxNewTokens,
    prompt,
    eos: new Set(eosList),
    lengthPenalty,
    earlyStopping,
    numReturn,
    processor: o.processor,
    signal: o.signal,
  };
}

function addHypothesis(group: Group, beam: Beam, size: number): void {
  if (group.hyps.length >= size && beam.score <= group.hyps[group.hyps.length - 1].score) return;
  group.hyps.push(beam);
  group.hyps.sort((a, b) => b.score - a.score);
  if (group.hyps.length > size) group.hyps.pop();
}

/** Log-probabilities [rows, V] for the live beams: one model call, then the processor. */
async function stepScores(
  next: NextLogitsFn,
  s: Settings,
  rows: number[][],
  step: number,
): Promise<tf.Tensor2D> {
  const logits = await next(rows);
  if (!(logits instanceof tf.Tensor) || logits.rank !== 2 || logits.shape[0] !== rows.length) {
    if (logits instanceof tf.Tensor) logits.dispose();
    const got =
      logits instanceof tf.Tensor
        ? `got shape ${formatShape(logits.shape)}`
        : `got ${typeof logits}`;
    throw new SculptError(
      s.where,
      `nextLogits must return a Tensor2D [${rows.length}, V] (one row per sequence)`,
      got,
    );
  }
  const logp = tf.tidy(() => tf.logSoftmax(logits) as tf.Tensor2D);
  logits.dispose();
  if (!s.processor) return logp;
  try {
    return s.processor(logp, { tokens: rows, step });
  } finally {
    logp.dispose();
  }
}

/** The best `k` (score, flat index) candidates of rows [offset, offset+n): s + log p − λ·h. One small read-back. */
async function topCandidates(
  logp: tf.Tensor2D,
  offset: number,
  beams: Live[],
  penalty: Float32Array | null,
  k: number,
): Promise<{ values: Float32Array; indices: Int32Array }> {
  const v = logp.shape[1];
  const n = beams.length;
  const { values, indices } = tf.tidy(() => {
    let scores: tf.Tensor = tf.add(
      tf.slice(logp, [offset, 0], [n, v]),
      tf.tensor2d(
        beams.map((b) => b.sum),
        [n, 1],
      ),
    );
    if (penalty) scores = tf.sub(scores, tf.tensor2d(penalty, [1, v]));
    return tf.topk(tf.reshape(scores, [n * v]), Math.min(k, n * v));
  });
  try {
    return {
      values: (await values.data()) as Float32Array,
      indices: (await indices.data()) as Int32Array,
    };
  } finally {
    values.dispose();
    indices.dispose();
  }
}

/** Extends one group by a step; returns the tokens its new live beams chose (for the Hamming penalty of later groups). */
function extendGroup(
  s: Settings,
  group: Group,
  gi: number,
  cand: { values: Float32Array; indices: Int32Array },
  v: number,
  used: Float32Array,
  step: number,
): number[] {
  const next: Live[] = [];
  for (let r = 0; r < cand.values.length && next.length < s.groupSize; r++) {
    const sum = cand.values[r];
    if (!(sum > -Infinity)) break; // the rest are −∞ (or NaN)
    const beam = group.live[Math.floor(cand.indices[r] / v)];
    const token = cand.indices[r] % v;
    const logProb = beam.logProb + (sum - beam.sum + s.diversity * used[token]);
    const tokens = [...beam.tokens, token];
    if (s.eos.has(token)) {
      if (r < s.groupSize)
        addHypothesis(
          group,
          {
            tokens,
            score: sum / tokens.length ** s.lengthPenalty,
            logProb,
            finished: true,
            group: gi,
          },
          s.groupSize,
        );
    } else {
      next.push({ tokens, sum, logProb });
    }
  }
  group.live = next;
  group.done = next.length === 0 || isDone(s, group, step + 1);
  return next.map((b) => b.tokens[b.tokens.length - 1]);
}

/** transformers' BeamHypotheses.is_done, with L = tokens generated so far. */
function isDone(s: Settings, group: Group, length: number): boolean {
  if (group.hyps.length < s.groupSize) return false;
  if (s.earlyStopping === true) return true;
  const best = group.live[0].sum;
  const denominator = s.earlyStopping === 'never' && s.lengthPenalty > 0 ? s.maxNewTokens : length;
  return group.hyps[group.hyps.length - 1].score >= best / denominator ** s.lengthPenalty;
}

async function search(next: NextLogitsFn, s: Settings): Promise<Beam[]> {
  if (typeof next !== 'function') {
    throw new SculptError(
      s.where,
      'nextLogits must be a function (tokens: number[][]) => Tensor2D',
      `got ${typeof next}`,
    );
  }
  const groups: Group[] = Array.from({ length: s.numGroups }, () => ({
    live: [{ tokens: [], sum: 0, logProb: 0 }],
    hyps: [],
    done: false,
  }));
  for (let step = 0; step < s.maxNewTokens; step++) {
    if (s.signal?.aborted)
      throw new AbortError(s.where, 'stopped by the AbortSignal', `at step ${step}`);
    const active = groups.filter((g) => !g.done);
    if (active.length === 0) break;
    const rows = active.flatMap((g) => g.live.map((b) => [...s.prompt, ...b.tokens]));
    const logp = await stepScores(next, s, rows, step);
    try {
      const v = logp.shape[1];
      const used = new Float32Array(v); // h(v): picks of earlier groups at this step
      let offset = 0;
      for (const g of active) {
        const penalty = s.diversity > 0 ? used.map((c) => c * s.diversity) : null;
        const cand = await topCandidates(logp, offset, g.live, penalty, 2 * s.groupSize);
        offset += g.live.length;
        const picks = extendGroup(s, g, groups.indexOf(g), cand, v, used.slice(), step);
        for (const t of picks) used[t] += 1;
      }
    } finally {
      logp.dispose();
    }
  }
  return finalize(s, groups);
}

function finalize(s: Settings, groups: Group[]): Beam[] {
  groups.forEach((g, gi) => {
    if (g.done) return;
    for (const b of g.live) {
      addHypothesis(
        g,
        {
          tokens: b.tokens,
          score: b.sum / b.tokens.length ** s.lengthPenalty,
          logProb: b.logProb,
          finished: false,
          group: gi,
        },
        s.groupSize,
      );
    }
  });
  return groups
    .flatMap((g) => g.hyps)
    .sort((a, b) => b.score - a.score)
    .slice(0, s.numReturn);
}

/**
 * Beam search: keeps the `numBeams` best partial sequences by summed
 * log-probability, finishes them at `eosTokenId`, ranks finished ones by
 * Σ log p / L^lengthPenalty. Works over any `nextLogits` (a GPT with a KV
 * cache, an n-gram table, …); one model call per step with all live beams.
 *
 * @param nextLogits - (sequences, prompt included) → logits [rows, V]; may be async. The search disposes what it returns.
 * @param options - see {@link BeamSearchOptions} (numBeams 4, maxNewTokens 20, lengthPenalty 1, earlyStopping false).
 * @returns up to `numReturnSequences` plain {@link Beam} objects, best first (no tensors).
 * @throws SculptError for invalid options or a wrongly shaped `nextLogits` result; AbortError if `signal` aborts.
 * @example
 * ```ts
 * const beams = await beamSearch((seqs) => model.nextLogits(seqs), { prompt: [bos], numBeams: 4, eosTokenId: eos, maxNewTokens: 32 });
 * console.log(beams[0].tokens, beams[0].score);
 * ```
 */
export async function beamSearch(
  nextLogits: NextLogitsFn,
  options: BeamSearchOptions = {},
): Promise<Beam[]> {
  return search(nextLogits, settle('beamSearch', options, 1, 0));
}

/**
 * Diverse beam search (Vijayakumar et al. 2016): `numBeams` beams in
 * `numBeamGroups` groups, searched group after group at every step; a group
 * pays `diversityPenalty` for each time an earlier group picked the same
 * token at that step (Hamming diversity), so groups explore different
 * continuations. Beams within a group are ranked as in {@link beamSearch}.
 *
 * @param nextLogits - (sequences, prompt included) → logits [rows, V]; may be async. The search disposes what it returns.
 * @param options - see {@link DiverseBeamSearchOptions} (numBeams 4, numBeamGroups 2, diversityPenalty 0.5, …).
 * @returns up to `numReturnSequences` plain {@link Beam} objects, best first, each tagged with its `group`.
 * @throws SculptError for invalid options (e.g. numBeamGroups not dividing numBeams, diversityPenalty < 0); AbortError if `signal` aborts.
 * @example
 * ```ts
 * const beams = await diverseBeamSearch(next, { numBeams: 6, numBeamGroups: 3, diversityPenalty: 1, eosTokenId: eos });
 * ```
 */
export async function diverseBeamSearch(
  nextLogits: NextLogitsFn,
  options: DiverseBeamSearchOptions = {},
): Promise<Beam[]> {
  const where = 'diverseBeamSearch';
  return search(
    nextLogits,
    settle(where, options, options.numBeamGroups ?? 2, options.diversityPenalty ?? 0.5),
  );
}
