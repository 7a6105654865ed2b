// The toolkit every demo test receives as `t` (the contract of the
// scripts/browser-test-*.mjs modules): `check(name, ok, detail)` records a soft
// assertion (the test goes on, and fails at its end with every failed check
// listed), the canvas measurements, the site's address, the backend this
// project runs on, and the screenshot folder. The page's console, page errors
// and failed requests are attached to the test's report.
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { test as base, expect, type Page } from '@playwright/test';
import { canvasCorrelation, canvasStats } from '../scripts/browser-test-tools.mjs';

/** The tfjs backends the docs demos are tested on, one Playwright project each. */
export type Backend = 'webgpu' | 'webgl' | 'wasm';

/** What a demo test module's exported function receives besides the page. */
export interface DemoToolkit {
  /** Records a soft assertion named `name`; returns `ok` so a test can stop early. */
  check(name: string, ok: boolean, detail: string): boolean;
  canvasStats: typeof canvasStats;
  canvasCorrelation: typeof canvasCorrelation;
  /** Folder for the tests' screenshots (apps/docs/screenshots). */
  shots: string;
  /** The served site, e.g. http://127.0.0.1:4319 (no trailing slash). */
  base: string;
  backend: Backend;
}

/** A demo test: drives `page`, checks through `t.check`, returns its measurements (timings…). */
export type DemoTest = (page: Page, t: DemoToolkit) => Promise<Record<string, unknown>>;

const shots = fileURLToPath(new URL('../screenshots', import.meta.url));

/** Collects the page's console lines, page errors and HTTP errors. */
function recordPage(page: Page): string[] {
  const logs: string[] = [];
  page.on('console', (m) => logs.push(`[${m.type()}] ${m.text()}`));
  page.on('pageerror', (e) => logs.push(`[pageerror] ${e.message}`));
  page.on('response', (res) => {
    if (res.status() >= 400) logs.push(`[http ${res.status()}] ${res.url()}`);
  });
  return logs;
}

export const test = base.extend<{ t: DemoToolkit }, { backend: Backend }>({
  backend: ['webgpu', { option: true, scope: 'worker' }],
  t: async ({ page, backend, baseURL }, use, testInfo) => {
    mkdirSync(shots, { recursive: true });
    const logs = recordPage(page);
    const check = (name: string, ok: boolean, detail: string) => {
      expect.soft(ok, `${name}: ${detail}`).toBe(true);
      return ok;
    };
    const site = (baseURL ?? '').replace(/\/$/, '');
    await use({ check, canvasStats, canvasCorrelation, shots, base: site, backend });
    const failed = testInfo.status !== testInfo.expectedStatus || testInfo.errors.length > 0;
    if (failed && logs.length)
      await testInfo.attach('page console (last 50 lines)', {
        body: logs.slice(-50).join('\n'),
        contentType: 'text/plain',
      });
  },
});

export { expect };
