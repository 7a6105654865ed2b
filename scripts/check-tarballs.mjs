// Installs sculpt as a user would: packs every package, installs the tarballs
// with npm into a fresh temporary project (a copy of examples/vite-app) and
// checks it there:
//   - ESM import and CJS require of every package, with the same exports;
//   - TypeScript with `nodenext` and with `bundler` resolution;
//   - the `sculpt` command (`--version` matches its package.json);
//   - each package README's example (its first ```ts block), run with tsx after
//     a prelude that starts a backend (as the docs' example runner does);
//   - the Vite app built for production and run in Chromium (wasm and webgpu).
// Prints one JSON summary line (tarball sizes, install size, each check) and
// exits non-zero when a check fails. Needs the packages built, npm, the npm
// registry, and Chromium for the browser part.
// Usage: node scripts/check-tarballs.mjs [--keep] [--no-browser] [--readmes=core,vae|none]
// Env: CHROMIUM (default /usr/bin/chromium), SCULPT_CHECK_README_TIMEOUT_S (per example, default 300).
import { execFileSync, spawnSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runViteApp } from './check-tarballs-browser.mjs';

const repo = fileURLToPath(new URL('..', import.meta.url));
const args = process.argv.slice(2);
const keep = args.includes('--keep');
const readmeArg = args.find((a) => a.startsWith('--readmes='))?.slice('--readmes='.length);
const README_TIMEOUT_MS = 1000 * Number(process.env.SCULPT_CHECK_README_TIMEOUT_S ?? 300);
// Peers and tools the checks use besides the tarballs (the versions the workspace uses).
const EXTRA = ['@tensorflow/tfjs-backend-cpu@4.22.0', '@types/node@20.19.43', 'tsx@4.23.15'];

const localPnpm = join(repo, '.tools/node_modules/.bin/pnpm');
const pnpm = existsSync(localPnpm) ? localPnpm : 'pnpm';

const summary = { packages: {}, checks: {} };
const failures = [];

/** Runs a command; returns { ok, out } (stdout + stderr), never throws. */
function run(cmd, cmdArgs, cwd, timeout = 600_000) {
  const r = spawnSync(cmd, cmdArgs, { cwd, encoding: 'utf8', timeout, env: process.env });
  const out = `${r.stdout ?? ''}${r.stderr ?? ''}`;
  return {
    ok: r.status === 0,
    out: r.error ? `${out}${r.error.message}` : out,
    stdout: r.stdout ?? '',
  };
}

/** Records a check; a failing one keeps the tail of its output. */
function check(name, result) {
  summary.checks[name] = result.ok ? 'ok' : 'FAILED';
  if (!result.ok) failures.push(`${name}:\n${result.out.slice(-3000)}`);
  return result.ok;
}

/** The publishable packages: every packages/* that is not private. */
function packageDirs() {
  return readdirSync(join(repo, 'packages'))
    .map((name) => join(repo, 'packages', name))
    .filter((dir) => !JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).private);
}

/** Packs each package into `out`; records what `npm pack --dry-run` lists. */
function packAll(dirs, out) {
  const tarballs = [];
  for (const dir of dirs) {
    const [dry] = JSON.parse(
      execFileSync('npm', ['pack', '--dry-run', '--json'], { cwd: dir, encoding: 'utf8' }),
    );
    summary.packages[dry.name] = {
      packedBytes: dry.size,
      unpackedBytes: dry.unpackedSize,
      files: dry.entryCount,
    };
    // pnpm pack turns `workspace:^` into a real range, as publishing does.
    const packed = execFileSync(pnpm, ['pack', '--pack-destination', out], {
      cwd: dir,
      encoding: 'utf8',
    });
    tarballs.push(packed.trim().split('\n').pop());
  }
  return tarballs;
}

/** Copies the example app into a fresh folder and installs the tarballs there. */
function install(project, tarballs) {
  cpSync(join(repo, 'examples/vite-app'), project, {
    recursive: true,
    filter: (src) => !/node_modules|[/\\]dist$/.test(src),
  });
  const r = run(
    'npm',
    ['install', '--no-audit', '--no-fund', '--foreground-scripts', ...tarballs, ...EXTRA],
    project,
  );
  return check('npm install of the tarballs', r);
}

/** Bytes under `dir` (du -sb). */
function sizeOf(dir) {
  return Number(execFileSync('du', ['-sb', dir], { encoding: 'utf8' }).split('\t')[0]);
}

/** `@sculpt/diffusion` alone (with its dependencies and tfjs-core) in a folder of its own. */
function diffusionInstallSize(root, tarballs) {
  const dir = join(root, 'diffusion-only');
  mkdirSync(dir);
  writeFileSync(join(dir, 'package.json'), '{"private":true}');
  const own = tarballs.filter((t) => /sculpt-(diffusion|core|samplers)-/.test(t));
  const r = run(
    'npm',
    ['install', '--no-audit', '--no-fund', ...own, '@tensorflow/tfjs-core@4.22.0'],
    dir,
  );
  if (check('npm install of @sculpt/diffusion alone', r))
    summary.diffusionInstallBytes = sizeOf(join(dir, 'node_modules'));
}

/** ESM and CJS: every package loads both ways with the same export names. */
function checkModules(project, names) {
  const esm = `const names = ${JSON.stringify(names)};
const out = {};
for (const n of names) out[n] = Object.keys(await import(n)).sort();
console.log(JSON.stringify(out));`;
  const cjs = `const names = ${JSON.stringify(names)};
const out = {};
for (const n of names) out[n] = Object.keys(require(n)).filter((k) => k !== 'default' && k !== '__esModule').sort();
console.log(JSON.stringify(out));`;
  writeFileSync(join(project, 'esm-check.mjs'), esm);
  writeFileSync(join(project, 'cjs-check.cjs'), cjs);
  const a = run('node', ['esm-check.mjs'], project);
  const b = run('node', ['cjs-check.cjs'], project);
  check('ESM import of every package', a);
  check('CJS require of every package', b);
  if (a.ok && b.ok) {
    const same = a.out.trim().split('\n').pop() === b.out.trim().split('\n').pop();
    check('ESM and CJS export the same names', { ok: same, out: `${a.out}\n---\n${b.out}` });
  }
}

/** TypeScript sees every package's types under `nodenext` and under `bundler`. */
function checkTypes(project, names) {
  const lines = names.map((n, i) => `import * as p${i} from '${n}';`);
  lines.push(`export const loaded = [${names.map((_, i) => `p${i}`).join(', ')}].length;`);
  // Typed, not any: a wrong call must be an error.
  lines.push(
    "import { type BackendInfo, initBackend } from '@sculpt/backend';",
    "export const started: Promise<BackendInfo> = initBackend('wasm', { threads: 1 });",
    "// @ts-expect-error: 'tpu' is not a backend",
    "export const wrong = initBackend('tpu');",
  );
  mkdirSync(join(project, 'types-check'));
  writeFileSync(join(project, 'types-check/index.ts'), `${lines.join('\n')}\n`);
  for (const [label, module, resolution] of [
    ['nodenext', 'nodenext', 'nodenext'],
    ['bundler', 'esnext', 'bundler'],
  ]) {
    // skipLibCheck as tfjs needs (its own .d.ts fail under strict + DOM); a package whose
    // types do not resolve is still an error (an implicit any under strict).
    const config = {
      compilerOptions: {
        target: 'ES2022',
        module,
        moduleResolution: resolution,
        strict: true,
        skipLibCheck: true,
        noEmit: true,
        types: ['node'],
        lib: ['ES2022', 'DOM'],
      },
      files: ['types-check/index.ts'],
    };
    writeFileSync(join(project, `tsconfig.${label}.json`), JSON.stringify(config));
    check(`TypeScript (${label})`, run('npx', ['tsc', '-p', `tsconfig.${label}.json`], project));
  }
}

/** The CLI runs and its --version is its package.json's version. */
function checkCli(project) {
  const version = JSON.parse(
    readFileSync(join(project, 'node_modules/@sculpt/cli/package.json'), 'utf8'),
  ).version;
  const r = run('npx', ['sculpt', '--version'], project);
  check('sculpt --version', {
    // stdout only: npm may warn on stderr about config it does not know (set by pnpm).
    ok: r.ok && r.stdout.trim() === version,
    out: `expected ${version}, got: ${r.out}`,
  });
  check('sculpt --help', run('npx', ['sculpt', '--help'], project));
  const addon = run(
    'node',
    [
      '-e',
      "import('@sculpt/native').then((m) => console.log(JSON.stringify(m.nativeStatus?.() ?? Object.keys(m))))",
    ],
    project,
  );
  summary.native = addon.out.trim().split('\n').pop();
}

/** The first ```ts block of each installed package's README, run with tsx (the docs type-check them). */
function checkReadmes(project, names) {
  const wanted = readmeArg === 'none' ? [] : readmeArg?.split(',');
  const dir = join(project, 'readme-examples');
  mkdirSync(dir);
  // As in the docs' example runner: a backend is started first, the way an app would.
  writeFileSync(
    join(dir, '_prelude.mts'),
    "import { initBackend } from '@sculpt/backend';\nawait initBackend('auto');\nexport {};\n",
  );
  for (const name of names) {
    const short = name.replace('@sculpt/', '');
    if (wanted && !wanted.includes(short)) continue;
    const readme = readFileSync(join(project, 'node_modules', name, 'README.md'), 'utf8');
    const code = /```ts\n([\s\S]*?)```/.exec(readme)?.[1];
    if (!code) continue;
    const file = join(dir, `${short}.mts`);
    writeFileSync(file, `import './_prelude.mts';\n${code}`);
    const started = Date.now();
    const r = run('npx', ['tsx', file], dir, README_TIMEOUT_MS);
    summary.readmeSeconds = {
      ...summary.readmeSeconds,
      [short]: Math.round((Date.now() - started) / 1000),
    };
    check(`README example of ${name}`, r);
  }
}

const root = mkdtempSync(join(tmpdir(), 'sculpt-tarballs-'));
try {
  const dirs = packageDirs();
  const names = dirs.map((d) => JSON.parse(readFileSync(join(d, 'package.json'), 'utf8')).name);
  mkdirSync(join(root, 'tarballs'));
  const tarballs = packAll(dirs, join(root, 'tarballs'));
  const project = join(root, 'app');
  if (install(project, tarballs)) {
    summary.installBytes = sizeOf(join(project, 'node_modules'));
    checkModules(project, names);
    checkTypes(project, names);
    checkCli(project);
    if (!args.includes('--no-browser')) {
      const browser = await runViteApp(project, run);
      summary.vite = browser.results;
      for (const [name, result] of Object.entries(browser.checks)) check(name, result);
    }
    checkReadmes(project, names);
  }
  diffusionInstallSize(root, tarballs);
} finally {
  if (keep) summary.kept = root;
  else rmSync(root, { recursive: true, force: true });
}
console.log(JSON.stringify(summary));
for (const f of failures) console.error(`\nFAILED ${f}`);
process.exit(failures.length ? 1 : 0);
