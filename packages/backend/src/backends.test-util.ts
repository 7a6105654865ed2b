// Test helpers for suites that run the same computation on several backends
// in one process (not shipped: only *.test.ts files import this).
import * as tf from '@tensorflow/tfjs-core';
import { type BackendName, initBackend } from './init.js';

/** Backends the cross-backend suites compare; cpu is the reference. */
export const SUITE_BACKENDS: readonly BackendName[] = ['cpu', 'wasm', 'webgpu'];

/** `SCULPT_SKIP_WEBGPU=1` is the only way to run these suites without webgpu. */
export const skipWebGpu = process.env.SCULPT_SKIP_WEBGPU === '1';

/** Which backends started, and why the others did not. */
export interface StartedBackends {
  started: Set<BackendName>;
  failures: Map<BackendName, unknown>;
}

/** Starts every suite backend once (webgpu unless skipped); leaves cpu active. */
export async function startSuiteBackends(): Promise<StartedBackends> {
  const started = new Set<BackendName>();
  const failures = new Map<BackendName, unknown>();
  for (const name of SUITE_BACKENDS) {
    if (name === 'webgpu' && skipWebGpu) continue;
    try {
      await initBackend(name);
      started.add(name);
    } catch (err) {
      failures.set(name, err);
    }
  }
  await initBackend('cpu');
  return { started, failures };
}

/**
 * Throws the start-up error of `name` (so the test fails loudly), or returns
 * false when the caller should skip (webgpu with SCULPT_SKIP_WEBGPU=1).
 */
export function requireBackend(state: StartedBackends, name: BackendName): boolean {
  if (name === 'webgpu' && skipWebGpu) return false;
  if (!state.started.has(name)) {
    const err = state.failures.get(name);
    throw err instanceof Error ? err : new Error(`backend ${name} did not start: ${String(err)}`);
  }
  return true;
}

/** Runs `fn` on `name`, reads every returned tensor back and disposes them all. */
export async function runOn(
  name: BackendName,
  fn: () => tf.Tensor | tf.Tensor[],
): Promise<Float32Array[]> {
  await initBackend(name);
  const before = tf.memory().numTensors;
  const out = tf.tidy(fn);
  const list = Array.isArray(out) ? out : [out];
  const arrays: Float32Array[] = [];
  for (const t of list) arrays.push(Float32Array.from(await t.data()));
  tf.dispose(list);
  const after = tf.memory().numTensors;
  if (after !== before) throw new Error(`runOn(${name}): ${after - before} tensors leaked`);
  return arrays;
}

/** Largest `|a − b| / (atol + rtol·|b|)` over all elements: ≤ 1 means within tolerance. */
export function worstRatio(
  actual: Float32Array[],
  reference: Float32Array[],
  atol: number,
  rtol: number,
): { ratio: number; maxAbs: number } {
  let ratio = 0;
  let maxAbs = 0;
  if (actual.length !== reference.length) return { ratio: Infinity, maxAbs: Infinity };
  for (let k = 0; k < reference.length; k++) {
    const a = actual[k];
    const b = reference[k];
    if (a.length !== b.length) return { ratio: Infinity, maxAbs: Infinity };
    for (let i = 0; i < b.length; i++) {
      const d = Math.abs(a[i] - b[i]);
      // NaN anywhere counts as infinitely wrong.
      maxAbs = Math.max(maxAbs, Number.isNaN(d) ? Infinity : d);
      ratio = Math.max(ratio, Number.isNaN(d) ? Infinity : d / (atol + rtol * Math.abs(b[i])));
    }
  }
  return { ratio, maxAbs };
}
