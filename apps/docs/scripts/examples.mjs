// Examples that cannot rot: every ```ts runnable block in the guides
// (apps/docs/**/*.md) and in every package README, plus each README's first
// ```ts block (the package's example, which must run), is
// extracted, type-checked with tsc (strict) and executed with tsx in Node on
// the wasm/cpu backend. A fence marked `ts no-run` is never run.
//
// Mark a block with the fence info string `ts runnable`:
//   ```ts runnable
//   import { Rng } from '@sculpt/core';
//   console.log(new Rng(0).normalArray(3));
//   ```
// Each block is a module of its own (top-level await works); before it runs,
// a prelude calls `initBackend(SCULPT_EXAMPLES_BACKEND ?? 'auto')` (Node:
// wasm, else cpu). Blocks import the packages by name, so the packages must be
// built (`turbo run build --filter=@sculpt/docs^...`).
// Usage: node scripts/examples.mjs [--list] [filter]
// Env: SCULPT_EXAMPLES_BACKEND (default 'auto'), SCULPT_EXAMPLES_TIMEOUT_S (per block, default 360: the diffusion README trains 200 steps, ~250 s here).
import { spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const docs = fileURLToPath(new URL('..', import.meta.url));
const repo = join(docs, '../..');
const work = join(docs, '.examples');
const require = createRequire(import.meta.url);
const args = process.argv.slice(2);
const listOnly = args.includes('--list');
const filter = args.find((a) => !a.startsWith('--'));
const RUN_TIMEOUT_MS = 1000 * Number(process.env.SCULPT_EXAMPLES_TIMEOUT_S ?? 360); // per block

/** Markdown files to scan: the guides (not the generated API) and each package's README. */
function sources() {
  const out = [];
  const walk = (dir) => {
    for (const name of readdirSync(dir)) {
      if (
        [
          'node_modules',
          'api',
          '.vitepress',
          '.examples',
          'screenshots',
          'public',
          'test-results',
        ].includes(name)
      )
        continue;
      const p = join(dir, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (name.endsWith('.md')) out.push(p);
    }
  };
  walk(docs);
  for (const pkg of readdirSync(join(repo, 'packages'))) {
    const readme = join(repo, 'packages', pkg, 'README.md');
    if (existsSync(readme)) out.push(readme);
  }
  return out.sort();
}

/** The blocks of one file to run, with their line numbers (see the header for which). */
function blocks(file) {
  const lines = readFileSync(file, 'utf8').split('\n');
  const isReadme = file.endsWith('README.md') && !file.startsWith(docs);
  const found = [];
  let seenTs = false;
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)(`{3,}|~{3,})\s*(ts|typescript)\b(.*)$/.exec(lines[i]);
    if (!open) continue;
    const first = !seenTs;
    seenTs = true;
    const meta = open[4];
    if (/\bno-run\b/.test(meta) || !(/\brunnable\b/.test(meta) || (isReadme && first))) continue;
    const [, indent, fence] = open;
    const body = [];
    let j = i + 1;
    for (; j < lines.length && !lines[j].trimStart().startsWith(fence); j++)
      body.push(lines[j].slice(indent.length));
    found.push({ file, line: i + 1, code: body.join('\n') });
    i = j;
  }
  return found;
}

const all = sources()
  .flatMap(blocks)
  .filter((b) => !filter || relative(repo, b.file).includes(filter));
all.forEach((b, k) => {
  const slug = relative(repo, b.file)
    .replace(/[^a-zA-Z0-9]+/g, '-')
    .replace(/-md$/, '');
  b.name = `${String(k).padStart(2, '0')}-${slug}-L${b.line}`;
  b.where = `${relative(repo, b.file)}:${b.line}`;
});
if (listOnly) {
  for (const b of all) console.log(b.where);
  process.exit(0);
}
if (all.length === 0) {
  console.error('examples: expected at least one ```ts runnable block, got none');
  process.exit(1);
}

rmSync(work, { recursive: true, force: true });
mkdirSync(work, { recursive: true });
writeFileSync(
  join(work, '_prelude.ts'),
  [
    '// Runs before every example: start a backend the way an app would.',
    "import { type BackendPreference, initBackend } from '@sculpt/backend';",
    "await initBackend((process.env.SCULPT_EXAMPLES_BACKEND ?? 'auto') as BackendPreference);",
    'export {};',
    '',
  ].join('\n'),
);
for (const b of all) {
  // `export {}` makes every block a module (top-level await, no global clashes).
  // The prelude is imported by the block itself: a sibling import would not
  // wait for its top-level await.
  writeFileSync(
    join(work, `${b.name}.ts`),
    `import './_prelude.ts'; // ${b.where}\n${b.code}\nexport {};\n`,
  );
}
writeFileSync(
  join(work, 'tsconfig.json'),
  `${JSON.stringify(
    {
      compilerOptions: {
        target: 'ES2022',
        lib: ['ES2022', 'DOM'],
        module: 'ESNext',
        moduleResolution: 'Bundler',
        allowImportingTsExtensions: true,
        strict: true,
        noEmit: true,
        skipLibCheck: true,
        isolatedModules: true,
        esModuleInterop: true,
        types: ['node'],
      },
      include: ['*.ts'],
    },
    null,
    2,
  )}\n`,
);

const report = { found: all.length, typecheck: 'ok', ran: 0, passed: 0, failed: [] };

// 1. Type-check all blocks in one program.
const tsc = join(dirname(require.resolve('typescript/package.json')), 'bin/tsc');
const typed = spawnSync(process.execPath, [tsc, '-p', join(work, 'tsconfig.json')], {
  encoding: 'utf8',
});
if (typed.status !== 0) {
  report.typecheck = 'failed';
  const text = `${typed.stdout}${typed.stderr}`;
  for (const b of all) {
    const errs = text.split('\n').filter((l) => l.includes(`${b.name}.ts(`));
    if (errs.length)
      report.failed.push({ where: b.where, stage: 'typecheck', output: errs.join('\n') });
  }
  if (!report.failed.length)
    report.failed.push({ where: '(all)', stage: 'typecheck', output: text });
}

// 2. Run each block that type-checked.
const tsxCli = join(dirname(require.resolve('tsx/package.json')), 'dist/cli.mjs');
for (const b of all) {
  if (report.failed.some((f) => f.where === b.where)) continue;
  report.ran++;
  const started = Date.now();
  const run = spawnSync(process.execPath, [tsxCli, join(work, `${b.name}.ts`)], {
    cwd: work,
    encoding: 'utf8',
    timeout: RUN_TIMEOUT_MS,
    env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: '2' },
  });
  const ms = Date.now() - started;
  if (run.status === 0) {
    report.passed++;
    console.error(`ok   ${b.where} (${ms} ms)`);
  } else {
    const why = run.error ? String(run.error.message) : `exit ${run.status}`;
    report.failed.push({
      where: b.where,
      stage: 'run',
      output: `${why}\n${run.stdout}${run.stderr}`.trim().slice(-3000),
    });
    console.error(`FAIL ${b.where} (${why})`);
  }
}

console.log(
  JSON.stringify({ examples: { ...report, failed: report.failed.map((f) => f.where) } }, null, 2),
);
if (report.failed.length) {
  for (const f of report.failed) console.error(`\n--- ${f.where} (${f.stage})\n${f.output}`);
  process.exit(1);
}
