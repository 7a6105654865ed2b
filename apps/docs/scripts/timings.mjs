// The demos' in-page timings, one Markdown table with a column per backend,
// from the results files the browser tests write (screenshots/results-<demo>-<backend>.json).
// Playwright prints it after every run (browser-tests/teardown.ts); by hand:
//   node scripts/timings.mjs [screenshots]
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const BACKENDS = ['webgpu', 'webgl', 'wasm'];

/** Median of the warm runs: every value after the first (which compiles shaders) when there are several. */
function warm(values) {
  const xs = (values.length > 1 ? values.slice(1) : values).filter(Number.isFinite);
  if (xs.length === 0) return undefined;
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

/** What each demo's results hold as timings: [row label, reader of the results, unit]. */
const ROWS = {
  denoising: [['20-step generation (warm median)', (r) => warm(r.generationMs ?? []), 'ms']],
  gpt: [
    ['generation, KV cache', (r) => r.tokensPerSecond?.cached, 'tokens/s'],
    ['generation, no cache', (r) => r.tokensPerSecond?.uncached, 'tokens/s'],
    ['streamed (warm median)', (r) => warm(r.streamedTokensPerSecond ?? []), 'tokens/s'],
  ],
  'vae-explorer': [['latent map', (r) => r.mapMs, 'ms']],
  'vae-train': [['in-page training', (r) => r.stepsPerSecond, 'steps/s']],
  gan: [
    ['conditional batch (warm median)', (r) => warm(r.conditionalBatchMs ?? []), 'ms'],
    ['StyleGAN batch (warm median)', (r) => warm(r.styleBatchMs ?? []), 'ms'],
    ['CycleGAN A→B (warm)', (r) => warm(r.aToBMs ?? []), 'ms'],
  ],
  latent: [['text-to-image, 20 steps', (r) => r.msPerImage, 'ms per image']],
};

/**
 * The table as Markdown lines, or [] when no results file exists.
 * @param dir - the folder the browser tests write their results to.
 * @param since - leave out files written before this time (ms since the epoch): an earlier run's.
 */
export function timingsTable(dir, since = 0) {
  if (!existsSync(dir)) return [];
  const results = {};
  for (const name of readdirSync(dir)) {
    const m = /^results-(.+)-(webgpu|webgl|wasm)\.json$/.exec(name);
    if (!m || statSync(join(dir, name)).mtimeMs < since) continue;
    const [, demo, backend] = m;
    results[demo] = {
      ...results[demo],
      [backend]: JSON.parse(readFileSync(join(dir, name), 'utf8')),
    };
  }
  const backends = BACKENDS.filter((b) => Object.values(results).some((r) => b in r));
  const lines = [];
  for (const [demo, rows] of Object.entries(ROWS)) {
    if (!results[demo]) continue;
    for (const [label, read, unit] of rows) {
      const cells = backends.map((b) => {
        const v = results[demo][b] ? read(results[demo][b]) : undefined;
        return Number.isFinite(v) ? String(Number(v.toPrecision(3))) : '–';
      });
      lines.push(`| ${demo} | ${label} | ${unit} | ${cells.join(' | ')} |`);
    }
  }
  if (lines.length === 0) return [];
  return [
    `| demo | timing | unit | ${backends.join(' | ')} |`,
    `|---|---|---|${backends.map(() => '---').join('|')}|`,
    ...lines,
  ];
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const dir = process.argv[2] ?? join(fileURLToPath(new URL('..', import.meta.url)), 'screenshots');
  console.log(timingsTable(dir).join('\n') || `no results-*.json under ${dir}`);
}
