// A short soak (scripts/reliability/soak.ts) over every registered family: train
// steps and sample/generate calls with live tensors read every 10 — flat is the
// pass — and every bad-input row repeated, leaving no tensor behind.
import { describe, expect, it } from 'vitest';
import {
  familyBadInputs,
  PACKAGE_BAD_INPUTS,
  packageModels,
  soakRows,
} from '../scripts/reliability/bad-inputs.js';
import { smokeModel, soakFamily } from '../scripts/reliability/soak.js';
import { startBackend } from './backend.js';
import { FAMILIES } from './families/index.js';

describe.each(FAMILIES.map((f) => [f.name, f] as const))('family %s', (_name, family) => {
  it('trains 40 steps and samples 30 times with a flat tensor count', async () => {
    await startBackend('auto');
    const report = await soakFamily(family, { trainSteps: 40, calls: 30, every: 10 });
    // From step 20 on: the first steps make each stage's optimizer state once (latent's
    // smoke preset trains its autoencoder for 10 steps, then starts the U-Net's trainer).
    expect(report.train.map((p) => p.tensors).slice(2)).toEqual(
      Array(3).fill(report.train[2].tensors),
    );
    expect(report.sample.map((p) => p.tensors).slice(1)).toEqual(
      Array(3).fill(report.sample[1].tensors),
    );
    expect(report.tensorSlope.sample).toBe(0);
  }, 120_000);
});

it('repeats every bad-input row 10 times and leaks no tensor', async () => {
  await startBackend('auto');
  const families = new Map();
  for (const f of FAMILIES) families.set(f.name, await smokeModel(f, 10));
  const ctx = { ...packageModels(), families, inputs: [] };
  try {
    const rows = [...PACKAGE_BAD_INPUTS, ...FAMILIES.flatMap(familyBadInputs)];
    const report = await soakRows(rows, ctx, 10);
    expect(report.leaking).toEqual([]);
    expect(report.calls).toBe(rows.length * 11);
  } finally {
    for (const m of [ctx.diffusion, ctx.vae, ctx.gan, ctx.gpt, ...families.values()]) m.dispose();
  }
}, 120_000);
