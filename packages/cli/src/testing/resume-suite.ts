// The resume suite of reliability.resume.{cpu,wasm}.test.ts: one backend, every
// registered family's tiny presets, through the API and the CLI.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { initBackend } from '@sculpt/backend';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN } from '../../scripts/reliability/fault.js';
import { apiResume, cliResume } from '../../scripts/reliability/resume.js';
import { FAMILIES } from '../families/index.js';

/** Registers the suite for one backend (call at a test file's top level, after importing the backend). */
export function resumeSuite(backend: 'cpu' | 'wasm'): void {
  let root: string;

  beforeAll(async () => {
    if (!existsSync(BIN))
      execFileSync('npx', ['tsup'], { cwd: resolve(__dirname, '../..'), stdio: 'ignore' });
    await initBackend(backend);
    root = mkdtempSync(join(tmpdir(), `sculpt-resume-${backend}-`));
  });

  afterAll(() => {
    if (root) rmSync(root, { recursive: true, force: true });
  });

  // Every family's smoke preset, and every other tiny one it offers (vae's tiny-vq).
  const CASES = FAMILIES.flatMap((f) =>
    f.presets
      .filter((p) => p.name === f.smoke.preset || p.name.startsWith('tiny'))
      .map((p) => [`${f.name}/${p.name}`, f, p.name] as const),
  );

  describe.each(CASES)(`resume on ${backend}: %s`, (label, family, preset) => {
    it('through the API: trained 5 + 2 steps across a save and load equals 7 uninterrupted, bit for bit', async () => {
      const dir = join(root, `api-${label.replace(/\W+/g, '-')}`);
      const r = await apiResume(family, preset, dir, { steps: 7, stopAt: 5 });
      expect(r.tensors).toBeGreaterThan(0);
      expect(r.differing).toEqual([]);
    }, 120_000);

    it.runIf(preset === family.smoke.preset)(
      'through the CLI: Ctrl-C after 2 steps, then a plain --resume to 5 equals an uninterrupted run',
      async () => {
        const r = await cliResume(family, root, backend, { steps: 5, stopAt: 2 });
        expect([r.reference, r.interrupted, r.resumed], r.stderr).toEqual([0, 130, 0]);
        expect(r.differing).toEqual([]);
      },
      180_000,
    );
  });
}
