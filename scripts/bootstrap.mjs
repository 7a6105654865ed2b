#!/usr/bin/env node
// Makes a fresh clone runnable with nothing but Node 20 and npm:
// finds (or installs) the pinned pnpm, installs the workspace from the lockfile
// when needed, then runs `pnpm run <script> [...args]`.
//
//   node scripts/bootstrap.mjs <script> [...args]
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const wanted = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).packageManager.split(
  '@',
)[1];
const major = wanted.split('.')[0];

function pnpmVersion(bin) {
  try {
    return execFileSync(bin, ['--version'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
  } catch {
    return null;
  }
}

function findPnpm() {
  const onPath = pnpmVersion('pnpm');
  if (onPath?.split('.')[0] === major) return 'pnpm';
  const local = join(root, '.tools', 'node_modules', '.bin', 'pnpm');
  if (existsSync(local) && pnpmVersion(local) === wanted) return local;
  console.error(`[sculpt] installing pnpm@${wanted} into .tools/ (no global install needed)`);
  const res = spawnSync(
    'npm',
    [
      'install',
      '--no-save',
      '--no-audit',
      '--no-fund',
      '--prefix',
      join(root, '.tools'),
      `pnpm@${wanted}`,
    ],
    { stdio: 'inherit' },
  );
  if (res.status !== 0) {
    console.error(
      '[sculpt] could not install pnpm with npm; install it yourself (npm i -g pnpm@10) and run again.',
    );
    process.exit(res.status ?? 1);
  }
  return local;
}

function needsInstall() {
  const marker = join(root, 'node_modules', '.modules.yaml');
  if (!existsSync(marker)) return true;
  return statSync(join(root, 'pnpm-lock.yaml')).mtimeMs > statSync(marker).mtimeMs;
}

const pnpm = findPnpm();
const env = { ...process.env, PATH: `${dirname(pnpm === 'pnpm' ? '' : pnpm)}:${process.env.PATH}` };
if (needsInstall()) {
  const frozen = process.env.CI ? ['--frozen-lockfile'] : [];
  const res = spawnSync(pnpm, ['install', ...frozen], { cwd: root, stdio: 'inherit', env });
  if (res.status !== 0) process.exit(res.status ?? 1);
}
const [script, ...args] = process.argv.slice(2);
if (!script) process.exit(0);
const res = spawnSync(pnpm, ['run', script, ...args], { cwd: root, stdio: 'inherit', env });
process.exit(res.status ?? 1);
