// The checkpoint fuzzer: mutated blobs against decodeSafetensors,
// checkpointFromBytes and every registered family's restore. The only allowed
// outcomes are a correct load (the same tensors and JSON as the original, no
// tensor leaked) or a CheckpointError; anything else is a finding, kept with
// its bytes so it can join the corpus that the unit tests replay.
import {
  type Checkpoint,
  CheckpointError,
  checkpointFromBytes,
  checkpointToBytes,
  decodeSafetensors,
  encodeSafetensors,
  Rng,
} from '@sculpt/core';
import * as tf from '@tensorflow/tfjs-core';
import { loadData, parseDataSpec } from '../../src/data.js';
import type { FamilyAdapter } from '../../src/family.js';
import { mutate } from './mutate.js';

/** One format under test: a well-formed blob and a loader that throws on anything wrong. */
export interface FuzzTarget {
  name: string;
  base: Uint8Array;
  /** Loads `bytes`; returns normally only for a correct load (disposing what it made). */
  load(bytes: Uint8Array): Promise<void>;
  dispose(): void;
}

/** A mutated input that gave neither a correct load nor a CheckpointError. */
export interface Finding {
  target: string;
  kind: string;
  error: string;
  /** The input, base64. */
  bytes: string;
}

/** Per-target outcome counts and worst costs. */
export interface FuzzSummary {
  target: string;
  inputs: number;
  loaded: number;
  refused: number;
  findings: number;
  worstMs: number;
  worstKind: string;
  worstHeapMB: number;
  /** Wall time of the whole target. */
  seconds: number;
  /** Stopped by the time budget before `inputs` reached what was asked. */
  stoppedByBudget: boolean;
  kinds: Record<string, number>;
}

/** Per-input bounds: a loader must answer any input of these few-kB files within them (generous for a shared machine). */
export const LIMIT_MS = 5000;
export const LIMIT_HEAP_MB = 256;

/** The same bytes as a Node Buffer that is a view into a larger pool at an odd offset. */
function asPooledBuffer(bytes: Uint8Array): Uint8Array {
  const pool = Buffer.alloc(bytes.length + 3);
  pool.set(bytes, 3);
  return pool.subarray(3);
}

/** Throws unless `got` holds exactly the tensors and JSON of `want`. */
async function expectSame(got: Checkpoint, want: Checkpoint): Promise<void> {
  const names = Object.keys(want.tensors).sort();
  if (Object.keys(got.tensors).sort().join() !== names.join())
    throw new Error('silent load: tensor names differ');
  if (JSON.stringify(got.json) !== JSON.stringify(want.json))
    throw new Error('silent load: JSON differs');
  for (const n of names) {
    const [a, b] = [got.tensors[n], want.tensors[n]];
    if (a.dtype !== b.dtype || a.shape.join() !== b.shape.join())
      throw new Error(`silent load: '${n}' shape or dtype differs`);
    const [va, vb] = [await a.data(), await b.data()];
    if (!va.every((v, i) => Object.is(v, vb[i])))
      throw new Error(`silent load: '${n}' values differ`);
  }
}

/** Loads a checkpoint blob and checks it against the original. */
async function loadSame(bytes: Uint8Array, original: Checkpoint): Promise<Checkpoint> {
  const got = checkpointFromBytes(bytes);
  try {
    await expectSame(got, original);
  } catch (e) {
    tf.dispose(Object.values(got.tensors));
    throw e;
  }
  return got;
}

/** A small safetensors file of every dtype tfjs writes. */
export async function safetensorsTarget(): Promise<FuzzTarget> {
  const tensors = {
    a: tf.tensor2d([1, 2, 3, 4, 5, 6], [2, 3]),
    b: tf.tensor1d([7, 8, 9], 'int32'),
    c: tf.tensor1d([1, 0], 'bool'),
  };
  const base = await encodeSafetensors(tensors, { note: 'fuzz' });
  tf.dispose(Object.values(tensors));
  return {
    name: 'decodeSafetensors',
    base,
    async load(bytes) {
      tf.dispose(Object.values(decodeSafetensors(bytes).tensors));
    },
    dispose() {},
  };
}

/** A checkpoint with two same-shape tensors (a swap must be caught) and nested JSON. */
export async function checkpointTarget(): Promise<FuzzTarget> {
  const original: Checkpoint = {
    tensors: {
      w1: tf.tensor2d([1, 2, 3, 4, 5, 6], [3, 2]),
      w2: tf.tensor2d([6, 5, 4, 3, 2, 1], [3, 2]),
      steps: tf.tensor1d([3, 1, 4, 1, 5], 'int32'),
      mask: tf.tensor1d([1, 0, 1], 'bool'),
    },
    json: { step: 7, lr: 0.001, nested: { x: [1, 2, { y: 'z' }] } },
  };
  return {
    name: 'checkpointFromBytes',
    base: await checkpointToBytes(original),
    async load(bytes) {
      tf.dispose(Object.values((await loadSame(bytes, original)).tensors));
    },
    dispose: () => tf.dispose(Object.values(original.tensors)),
  };
}

/** A family's smoke-preset checkpoint, loaded through its adapter's restore. */
export async function familyTarget(family: FamilyAdapter): Promise<FuzzTarget> {
  const { preset, data, batchSize } = family.smoke;
  const loaded = await loadData(parseDataSpec(data));
  const model = await family.create({ preset, data: loaded, batchSize, seed: 0, totalSteps: 10 });
  const original = model.checkpoint();
  model.dispose();
  return {
    name: `family:${family.name}`,
    base: await checkpointToBytes(original),
    async load(bytes) {
      const checkpoint = await loadSame(bytes, original);
      try {
        (await family.restore(checkpoint, { totalSteps: undefined })).dispose();
      } finally {
        tf.dispose(Object.values(checkpoint.tensors));
      }
    },
    dispose: () => tf.dispose(Object.values(original.tensors)),
  };
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message.slice(0, 300)}` : String(error);
}

/** Loads one input; returns the outcome, or a finding's error text. */
export async function tryInput(
  target: FuzzTarget,
  bytes: Uint8Array,
): Promise<'loaded' | 'refused' | string> {
  const before = tf.memory().numTensors;
  let outcome: 'loaded' | 'refused' | string;
  try {
    await target.load(bytes);
    outcome = 'loaded';
  } catch (e) {
    outcome = e instanceof CheckpointError ? 'refused' : describe(e);
  }
  const leaked = tf.memory().numTensors - before;
  return leaked !== 0 ? `leaked ${leaked} tensors (${outcome})` : outcome;
}

/**
 * Runs `inputs` mutations of `target.base` (half of them as pooled Node Buffers),
 * stopping early once `seconds` (default: no limit) have passed. An input that takes
 * more than {@link LIMIT_MS} or {@link LIMIT_HEAP_MB} is a finding, like a wrong outcome.
 *
 * @returns the summary and every finding.
 * @example
 * ```ts
 * const { summary } = await fuzzTarget(await checkpointTarget(), { inputs: 100, seed: 1 });
 * ```
 */
export async function fuzzTarget(
  target: FuzzTarget,
  options: { inputs: number; seed: number; seconds?: number },
): Promise<{ summary: FuzzSummary; findings: Finding[] }> {
  const started = performance.now();
  const budgetMs = (options.seconds ?? Number.POSITIVE_INFINITY) * 1000;
  const rng = new Rng(options.seed);
  const findings: Finding[] = [];
  const summary: FuzzSummary = {
    target: target.name,
    inputs: 0,
    loaded: 0,
    refused: 0,
    findings: 0,
    worstMs: 0,
    worstKind: '',
    worstHeapMB: 0,
    seconds: 0,
    stoppedByBudget: false,
    kinds: {},
  };
  for (let i = 0; i < options.inputs; i++) {
    if (performance.now() - started > budgetMs) {
      summary.stoppedByBudget = true;
      break;
    }
    const { kind, bytes } = mutate(target.base, rng);
    const input = i % 2 ? asPooledBuffer(bytes) : bytes;
    const heap0 = process.memoryUsage().heapUsed;
    const t0 = performance.now();
    const outcome = await tryInput(target, input);
    const ms = performance.now() - t0;
    const heapMB = (process.memoryUsage().heapUsed - heap0) / 2 ** 20;
    summary.inputs++;
    summary.kinds[kind] = (summary.kinds[kind] ?? 0) + 1;
    if (ms > summary.worstMs) [summary.worstMs, summary.worstKind] = [ms, kind];
    summary.worstHeapMB = Math.max(summary.worstHeapMB, heapMB);
    const overBudget =
      ms > LIMIT_MS || heapMB > LIMIT_HEAP_MB
        ? `over the per-input budget: ${Math.round(ms)} ms, ${Math.round(heapMB)} MB heap (${outcome})`
        : undefined;
    if (!overBudget && (outcome === 'loaded' || outcome === 'refused')) summary[outcome]++;
    else {
      summary.findings++;
      findings.push({
        target: target.name,
        kind,
        error: overBudget ?? outcome,
        bytes: Buffer.from(bytes).toString('base64'),
      });
    }
  }
  summary.worstMs = Math.round(summary.worstMs * 10) / 10;
  summary.worstHeapMB = Math.round(summary.worstHeapMB * 10) / 10;
  summary.seconds = Math.round((performance.now() - started) / 100) / 10;
  return { summary, findings };
}
