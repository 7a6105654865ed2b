// Browser tests of the built docs site (`pnpm build` first): Debian's Chromium
// (never a downloaded browser) with WebGPU on SwiftShader, one project per tfjs
// backend. The default run (`pnpm test`, CI) checks every demo on webgpu and
// the demos tagged @wasm on wasm; SCULPT_DOCS_ALL=1 checks every demo on every
// project (`pnpm test:browser:all --project=webgl`). A failed test keeps its
// trace: `pnpm exec playwright show-trace test-results/<test>/trace.zip`.
// Env: CHROMIUM (default /usr/bin/chromium), SCULPT_DOCS_PORT (default 4319).
import { existsSync } from 'node:fs';
import { defineConfig } from '@playwright/test';
import type { Backend } from './browser-tests/fixtures';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from './scripts/chromium.mjs';

if (!existsSync(CHROMIUM_PATH))
  throw new Error(
    `playwright.config: expected Chromium at ${CHROMIUM_PATH}, found nothing. ` +
      'Fix: apt-get install chromium (or set CHROMIUM to its path)',
  );

const port = Number(process.env.SCULPT_DOCS_PORT ?? 4319);
const everyDemo = process.env.SCULPT_DOCS_ALL === '1';

/** One project per backend; outside SCULPT_DOCS_ALL it runs the demos tagged with its name. */
const project = (backend: Backend) => ({
  name: backend,
  use: { backend },
  grep: everyDemo ? undefined : new RegExp(`@${backend}\\b`),
});

export default defineConfig<object, { backend: Backend }>({
  testDir: 'browser-tests',
  // One browser at a time: the demos time themselves, and SwiftShader takes every core.
  workers: 1,
  fullyParallel: false,
  retries: 0,
  // The longest demo (in-page VAE training on a software GPU) waits up to 10 minutes by itself.
  timeout: 15 * 60_000,
  forbidOnly: Boolean(process.env.CI),
  outputDir: 'test-results',
  reporter: [['list'], ['json', { outputFile: '.playwright-report.json' }]],
  // Prints the demos' in-page timings as one table (scripts/timings.mjs).
  globalTeardown: './browser-tests/teardown.ts',
  use: {
    baseURL: `http://127.0.0.1:${port}`,
    browserName: 'chromium',
    launchOptions: { executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS },
    viewport: { width: 1280, height: 900 },
    // DOM snapshots and a screenshot on failure; no screencast (it would compete with the demos' timings).
    trace: { mode: 'retain-on-failure', snapshots: true, screenshots: false, sources: true },
    screenshot: 'only-on-failure',
  },
  projects: [project('webgpu'), project('webgl'), project('wasm')],
  webServer: {
    command: `node scripts/serve.mjs ${port}`,
    url: `http://127.0.0.1:${port}/`,
    reuseExistingServer: false,
    timeout: 30_000,
  },
});
