// The `sculpt` binary as a script sees it: --json gives one JSON object per
// line on stdout (jq reads it), --quiet prints nothing but errors, messages and
// progress stay on stderr, and the bash completion script completes names
// from the registries.
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import '@tensorflow/tfjs-backend-cpu';
import { initBackend } from '@sculpt/backend';
import { encodePng, Rng } from '@sculpt/core';
import { SHAPE_CLASSES, shapeImages } from '@sculpt/datasets';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, type Run, runBin } from './testing/run-bin.js';

const PKG = resolve(__dirname, '..');
const BASH_COMPLETION = '/usr/share/bash-completion/bash_completion';
let root: string;

function sculpt(...args: string[]): Run {
  return runBin(root, args, 120_000);
}

/** Runs `script` in bash with a `sculpt` on PATH that starts the built binary. */
function bash(script: string): Run {
  const r = spawnSync('bash', ['-c', script], {
    cwd: root,
    encoding: 'utf8',
    timeout: 60_000,
    env: { ...process.env, PATH: `${join(root, 'bin')}:${process.env.PATH}` },
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Every stdout line as JSON (throws on a line that is not). */
function events(stdout: string): { event: string; [k: string]: unknown }[] {
  return stdout
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as { event: string });
}

async function writeShapes(dir: string): Promise<void> {
  const set = shapeImages({ count: 24, rng: new Rng(3), size: 8 });
  for (const name of SHAPE_CLASSES) mkdirSync(join(dir, name), { recursive: true });
  for (let i = 0; i < set.count; i++) {
    const image = tf.tensor3d(set.images.subarray(i * 64, (i + 1) * 64), [8, 8, 1]);
    writeFileSync(join(dir, SHAPE_CLASSES[set.labels[i]], `${i}.png`), await encodePng(image));
    image.dispose();
  }
}

let train: Run;

beforeAll(async () => {
  if (!existsSync(BIN)) execFileSync('npx', ['tsup'], { cwd: PKG, stdio: 'ignore' });
  await initBackend('cpu');
  root = mkdtempSync(join(tmpdir(), 'sculpt-scripts-'));
  mkdirSync(join(root, 'bin'));
  writeFileSync(
    join(root, 'bin', 'sculpt'),
    `#!/bin/sh\nexec "${process.execPath}" "${BIN}" "$@"\n`,
  );
  chmodSync(join(root, 'bin', 'sculpt'), 0o755);
  await writeShapes(join(root, 'shapes'));
  train = sculpt(
    ...['train', 'diffusion', '--preset', 'tiny', '--data', `images:${join(root, 'shapes')}`],
    ...['--batch', '8', '--steps', '40', '--sample-every', '20', '--out', 'run', '--json'],
  );
}, 120_000);

afterAll(() => {
  if (root) rmSync(root, { recursive: true, force: true });
});

describe('sculpt for scripts', () => {
  it('train --json: step, checkpoint, sample and done events, one per line', () => {
    expect(train.status, train.stderr).toBe(0);
    const all = events(train.stdout);
    const steps = all.filter((e) => e.event === 'step');
    expect(steps[0]).toMatchObject({ step: 1, totalSteps: 40 });
    expect(steps.at(-1)).toMatchObject({ step: 40 });
    expect(steps.every((e) => Number.isFinite(e.loss))).toBe(true);
    expect(all.filter((e) => e.event === 'sample').map((e) => e.step)).toEqual([20, 40]);
    expect(all.some((e) => e.event === 'checkpoint' && e.step === 40)).toBe(true);
    expect(all.at(-1)).toMatchObject({ event: 'done', command: 'train', status: 0 });
    expect(train.stderr).toMatch(/done: step 40/); // people still read stderr
  });

  it('sample --json | jq . works, and the sample event names the file written', () => {
    const r = bash('set -o pipefail; sculpt sample run --steps 3 --n 3 --json | jq -c .');
    expect(r.status, r.stderr).toBe(0);
    const [sample, done] = events(r.stdout);
    expect(sample).toMatchObject({ event: 'sample', numSamples: 3, steps: 3 });
    expect(existsSync(sample.path as string)).toBe(true);
    expect(done).toMatchObject({ event: 'done', command: 'sample', status: 0 });
  });

  it('--quiet prints nothing on success and only the error on failure', () => {
    const ok = sculpt('sample', 'run', '--steps', '2', '--n', '2', '--out', 'q.png', '--quiet');
    expect(ok).toEqual({ status: 0, stdout: '', stderr: '' });
    expect(existsSync(join(root, 'q.png'))).toBe(true);
    const bad = sculpt('sample', 'nowhere', '--quiet');
    expect(bad.status).toBe(2);
    expect(bad.stdout).toBe('');
    expect(bad.stderr).toMatch(/^sculpt sample: .*Fix: /);
  });

  it('human mode: the path on stdout, the message on stderr', () => {
    const r = sculpt('sample', 'run', '--steps', '2', '--n', '2', '--out', 'h.png');
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toBe(`${join(root, 'h.png')}\n`);
    expect(r.stderr).toMatch(/^wrote 2 samples/);
  });

  it('--json failures: an error event on stdout and the exit status kept', () => {
    const missing = sculpt('sample', 'nowhere', '--json');
    expect(missing.status).toBe(2);
    expect(events(missing.stdout)).toEqual([
      { event: 'error', message: expect.stringMatching(/nowhere.*Fix: /), status: 2 },
    ]);
    const flag = sculpt('sample', 'run', '--steps', 'many', '--json');
    expect(flag.status).toBe(2);
    expect(events(flag.stdout)[0]).toMatchObject({ event: 'error', status: 2 });
  });

  it.skipIf(!existsSync(BASH_COMPLETION))(
    'the bash completion script completes commands, families, presets and samplers',
    () => {
      const complete = (line: string) =>
        bash(
          `source ${BASH_COMPLETION}; source <(sculpt completion bash)
           COMP_LINE='${line}'; COMP_POINT=\${#COMP_LINE}
           read -ra COMP_WORDS <<< "$COMP_LINE"; [[ "$COMP_LINE" == *' ' ]] && COMP_WORDS+=('')
           COMP_CWORD=$(( \${#COMP_WORDS[@]} - 1 ))
           __sculpt_complete 2>/dev/null; printf '%s\\n' "\${COMPREPLY[@]}"`,
        ).stdout.trim();
      expect(complete('sculpt sa').split('\n').sort()).toEqual(['sample', 'samplers']);
      expect(complete('sculpt train d')).toBe('diffusion');
      // Presets of every family are offered (the library's handlers do not see the family).
      expect(complete('sculpt train diffusion --preset ti').split('\n')).toContain('tiny');
      expect(complete('sculpt train vae --preset mnist-v')).toBe('mnist-vq');
      expect(complete('sculpt train gpt --preset ').split('\n')).toContain('char-small');
      expect(complete('sculpt sample run --sampler dpm2-')).toBe('dpm2-ancestral');
    },
  );
});
