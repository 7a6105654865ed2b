// A short seeded run of the checkpoint fuzzer (scripts/reliability) over
// decodeSafetensors, checkpointFromBytes and every registered family's
// restore, and a replay of the corpus of inputs that once broke a loader.
import '@tensorflow/tfjs-backend-cpu';
import { initBackend } from '@sculpt/backend';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readCorpus, unpack } from '../scripts/reliability/corpus.js';
import {
  checkpointTarget,
  type FuzzTarget,
  familyTarget,
  fuzzTarget,
  safetensorsTarget,
  tryInput,
} from '../scripts/reliability/fuzz.js';
import { FAMILIES } from './families/index.js';

const INPUTS = 250;
const targets = new Map<string, FuzzTarget>();

beforeAll(async () => {
  await initBackend('cpu');
  for (const t of [await safetensorsTarget(), await checkpointTarget()]) targets.set(t.name, t);
  for (const f of FAMILIES) targets.set(`family:${f.name}`, await familyTarget(f));
});

afterAll(() => {
  for (const t of targets.values()) t.dispose();
});

describe('the corpus of inputs that once broke a loader', () => {
  const corpus = readCorpus();
  it.each(corpus.map((e) => [e.note, e] as const))('%s', async (_note, entry) => {
    const target = targets.get(entry.target);
    expect(target, `no fuzz target ${entry.target}`).toBeDefined();
    expect(await tryInput(target as FuzzTarget, unpack(entry.bytes))).toMatch(/^(loaded|refused)$/);
  });

  it('keeps the historic checkpoint defects refused, never loaded', async () => {
    // The ones that loaded wrong values silently before the checksums covered the header.
    const historic = corpus.filter((e) => /silently|wrong names/.test(e.note));
    expect(historic.length).toBeGreaterThanOrEqual(5);
    for (const e of historic) {
      expect(await tryInput(targets.get(e.target) as FuzzTarget, unpack(e.bytes)), e.note).toBe(
        'refused',
      );
    }
  });
});

describe('seeded fuzz', () => {
  it.each(['decodeSafetensors', 'checkpointFromBytes', ...FAMILIES.map((f) => `family:${f.name}`)])(
    `%s: ${INPUTS} mutated inputs load correctly or give a CheckpointError`,
    async (name) => {
      const { summary, findings } = await fuzzTarget(targets.get(name) as FuzzTarget, {
        inputs: INPUTS,
        seed: 7,
      });
      expect(findings.map((f) => `${f.kind}: ${f.error}`)).toEqual([]);
      expect(summary.inputs).toBe(INPUTS);
      // Most mutations must be refused: a fuzzer whose inputs all load tests nothing
      // (plain safetensors has no checksum, so its flipped data bytes load).
      expect(summary.refused).toBeGreaterThan(INPUTS * 0.6);
    },
  );
});
