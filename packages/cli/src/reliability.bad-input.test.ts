// The bad-input table (scripts/reliability/bad-inputs.ts), one test per row:
// the call gives a SculptError with the row's text and leaks no tensor.
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-layers';
import { initBackend } from '@sculpt/backend';
import { SculptError } from '@sculpt/core';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type BadInput,
  type BadInputContext,
  callRow,
  familyBadInputs,
  PACKAGE_BAD_INPUTS,
  packageModels,
} from '../scripts/reliability/bad-inputs.js';
import { AUDIT_BAD_INPUTS } from '../scripts/reliability/bad-inputs-audit.js';
import { smokeModel } from '../scripts/reliability/soak.js';
import { FAMILIES } from './families/index.js';

let ctx: BadInputContext;

beforeAll(async () => {
  await initBackend('cpu');
  const families = new Map();
  for (const f of FAMILIES) families.set(f.name, await smokeModel(f, 10));
  ctx = { ...packageModels(), families, inputs: [] };
});

afterAll(() => {
  for (const m of [
    ctx.diffusion,
    ctx.vae,
    ctx.gan,
    ctx.gpt,
    ctx.vq,
    ctx.cycle,
    ...ctx.families.values(),
  ])
    m.dispose();
});

/** Calls the row and returns what it threw, checking no tensor outlived the call. */
async function thrown(r: BadInput): Promise<unknown> {
  // A first call may fill a model's caches (schedules as tensors); count leaks on the second.
  await callRow(r, ctx);
  const before = tf.memory().numTensors;
  const error = await callRow(r, ctx);
  expect(tf.memory().numTensors - before, 'tensors leaked').toBe(0);
  return error;
}

const rows = [...PACKAGE_BAD_INPUTS, ...AUDIT_BAD_INPUTS, ...FAMILIES.flatMap(familyBadInputs)];

describe('bad inputs give a SculptError naming the problem, and leak nothing', () => {
  it.each(rows.map((r) => [r.entry, r.argument, r.value, r] as const))(
    '%s %s = %s',
    async (_e, _a, _v, r) => {
      const error = await thrown(r);
      expect(error).toBeInstanceOf(SculptError);
      expect((error as Error).message).toMatch(r.expected);
    },
  );
});
