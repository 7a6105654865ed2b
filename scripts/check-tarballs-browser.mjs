// The browser half of check-tarballs.mjs: builds the example Vite app (already
// installed from the tarballs) for production, serves the build and runs it in
// Debian's Chromium through playwright-core, once per backend.
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from '../apps/docs/scripts/chromium.mjs';
import { serveStatic } from '../apps/docs/scripts/serve.mjs';

const repo = fileURLToPath(new URL('..', import.meta.url));
// playwright-core is a dev dependency of the docs app; never a downloaded browser.
const { chromium } = createRequire(join(repo, 'apps/docs/package.json'))('playwright-core');
const BACKENDS = ['wasm', 'webgpu'];
const RUN_TIMEOUT_MS = 240_000;

/** Opens the app with `?backend=name` and waits for its JSON result. */
async function runPage(browser, url, name) {
  const page = await browser.newPage();
  const errors = [];
  page.on('pageerror', (err) => errors.push(err.message));
  await page.goto(`${url}/?backend=${name}`);
  await page.waitForFunction(() => document.querySelector('#result')?.textContent, null, {
    timeout: RUN_TIMEOUT_MS,
  });
  const result = JSON.parse(await page.textContent('#result'));
  await page.close();
  return { ...result, pageErrors: errors };
}

/** A sample of MNIST digits: the right backend, values in range, some ink but mostly background. */
function judge(name, r) {
  const ok =
    r.ok === true &&
    r.backend === name &&
    Number.isFinite(r.mean) &&
    r.inkFraction > 0.05 &&
    r.inkFraction < 0.6;
  return { ok, out: JSON.stringify(r) };
}

/**
 * Builds, serves and runs the app in `project` on each backend.
 * @param run - the caller's command runner: (cmd, args, cwd) → { ok, out }.
 * @returns `{ results, checks }`: per backend the page's JSON; per check `{ ok, out }`.
 */
export async function runViteApp(project, run) {
  const checks = {};
  const results = {};
  checks['Vite production build (tsc + vite build)'] = run('npm', ['run', 'build'], project);
  if (!checks['Vite production build (tsc + vite build)'].ok) return { results, checks };
  const server = await serveStatic(join(project, 'dist'));
  const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS });
  try {
    for (const name of BACKENDS) {
      const started = Date.now();
      try {
        results[name] = await runPage(browser, server.url, name);
        results[name].pageSeconds = Math.round((Date.now() - started) / 1000);
        checks[`Vite app in Chromium on ${name}`] = judge(name, results[name]);
      } catch (err) {
        checks[`Vite app in Chromium on ${name}`] = { ok: false, out: String(err) };
      }
    }
    results.webgl = await runPage(browser, server.url, 'webgl').catch((err) => ({
      error: String(err),
    }));
    checks['Vite app: a backend the app did not import gets an error saying to pass it'] = {
      ok: /a bundled page cannot import @tensorflow\/tfjs-backend-webgl by name.*backends: \{ webgl: webgl \}/.test(
        results.webgl.error ?? '',
      ),
      out: JSON.stringify(results.webgl),
    };
  } finally {
    await browser.close();
    await server.close();
  }
  return { results, checks };
}
