// Browser test of the GPT demo page (demos/gpt), run by
// browser-tests/demos.spec.ts (which passes the toolkit `t`: its `check`, its
// canvas measurements, the site's address, the backend and the screenshot
// folder). It writes text on the expected backend, a second generation and a
// KV-cache speed run leave the tensor count flat, and a trained model's
// held-out score in the page matches Node's. Tokens per second are returned.
import { join } from 'node:path';

const PAGE_TIMEOUT_MS = 30_000;
const DEMO_TIMEOUT_MS = 300_000;
const SEL = '[data-demo="gpt"]';
/**
 * Tokens per generation and tokens timed with and without the KV cache. WebGPU
 * here is SwiftShader (a CPU emulating a GPU, a few tokens a second): a short
 * run; elsewhere the full 256-token timing.
 */
const RUN = {
  webgpu: { tokens: 24, speedTokens: 32 },
  other: { tokens: 200, speedTokens: 256 },
};

/** Waits until the demo has finished `n` runs (or failed). */
function settled(page, n) {
  return page.waitForFunction(
    ([s, count]) => {
      const el = document.querySelector(s);
      if (!el) return false;
      if (el.getAttribute('data-phase') === 'error') return true;
      const runs = (el.getAttribute('data-tensors-after') ?? '').split(',').filter(Boolean);
      return runs.length >= count && el.getAttribute('data-phase') === 'done';
    },
    [SEL, n],
    { timeout: DEMO_TIMEOUT_MS },
  );
}

/** The GPT page on `t.backend`: see the header. */
export async function testGpt(page, t) {
  const { tokens, speedTokens } = RUN[t.backend] ?? RUN.other;
  const r = { tokens, speedTokens };
  const params = new URLSearchParams({ tokens: String(tokens), speedTokens: String(speedTokens) });
  if (t.backend !== 'webgpu') params.set('backend', t.backend);
  await page.goto(`${t.base}/demos/gpt?${params}`, { timeout: PAGE_TIMEOUT_MS });
  const demo = page.locator(SEL);
  await demo.waitFor({ timeout: PAGE_TIMEOUT_MS });
  await page.waitForFunction(
    (s) => document.querySelector(`${s} [data-backend]`)?.getAttribute('data-backend'),
    SEL,
    { timeout: 60_000 },
  );
  r.backend = await demo.locator('[data-backend]').getAttribute('data-backend');
  t.check(`gpt backend`, r.backend === t.backend, `expected '${t.backend}', got '${r.backend}'`);
  await settled(page, 1); // the page generates once when it loads
  r.phase = await demo.getAttribute('data-phase');
  r.model = (await demo.locator('.sculpt-note').first().innerText()).trim();
  if (
    !t.check(
      'gpt phase',
      r.phase === 'done',
      `expected 'done', got '${r.phase}': ${await demo.innerText()}`,
    )
  )
    return r;
  r.trained = (await demo.getAttribute('data-trained')) === 'true';
  r.output = await demo.locator('[data-field="output"]').innerText();
  r.outputLength = Number(await demo.getAttribute('data-output-length'));
  t.check(
    'gpt wrote text',
    r.outputLength >= tokens * 0.75,
    `expected ≥ ${tokens * 0.75} characters, got ${r.outputLength}`,
  );
  r.bars = await demo.locator('.gpt-bar').count();
  t.check('gpt distribution bars', r.bars >= 10, `expected ≥ 10 bars, got ${r.bars}`);
  await page.screenshot({ path: join(t.shots, `gpt-${t.backend}.png`), fullPage: true });
  await rerunAndTime(page, t, demo, r);
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: join(t.shots, `gpt-${t.backend}-2.png`), fullPage: true });
  return r;
}

/** A second generation with other knobs and the speed run: flat tensor counts, tokens per second, the score. */
async function rerunAndTime(page, t, demo, r) {
  await demo.locator('[data-control="temperature"]').fill('0.5');
  await demo.locator('[data-action="generate"]').click();
  await settled(page, 2);
  await demo.locator('[data-action="speed"]').click();
  await settled(page, 3);
  r.tensorsAfter = (await demo.getAttribute('data-tensors-after')).split(',').map(Number);
  t.check(
    'no tensor leak across generations',
    new Set(r.tensorsAfter).size === 1,
    `tf.memory().numTensors after each run: ${r.tensorsAfter.join(' → ')}`,
  );
  r.streamedTokensPerSecond = (await demo.getAttribute('data-tokens-per-s')).split(',').map(Number);
  r.tokensPerSecond = {
    cached: Number(await demo.getAttribute('data-cached-tps')),
    uncached: Number(await demo.getAttribute('data-uncached-tps')),
  };
  r.tokensPerSecond.speedup = r.tokensPerSecond.cached / r.tokensPerSecond.uncached;
  t.check(
    'gpt speed measured',
    r.tokensPerSecond.cached > 0 && r.tokensPerSecond.uncached > 0,
    JSON.stringify(r.tokensPerSecond),
  );
  if (!r.trained) return;
  // The served model must be the trained one, computed right on this backend:
  // its held-out score here matches Node's, and is far below an untrained model's ln V ≈ 4.4.
  r.score = {
    browser: Number(await demo.getAttribute('data-score-browser')),
    node: Number(await demo.getAttribute('data-score-node')),
  };
  t.check(
    'gpt held-out score matches Node',
    Math.abs(r.score.browser - r.score.node) < 0.01,
    JSON.stringify(r.score),
  );
  t.check('gpt held-out score is a trained model', r.score.browser < 2.5, JSON.stringify(r.score));
}
