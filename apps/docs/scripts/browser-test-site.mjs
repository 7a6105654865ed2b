// Browser test of the site itself, run by browser-tests/demos.spec.ts (which
// passes the toolkit `t`): the home page answers, and the math page's
// formulas were rendered at build time.
import { join } from 'node:path';

const PAGE_TIMEOUT_MS = 30_000;

/** The home page's HTTP status and the number of rendered formulas on the math page. */
export async function testSite(page, t) {
  const response = await page.goto(`${t.base}/`, { timeout: PAGE_TIMEOUT_MS });
  const home = response?.status();
  t.check('home page', home === 200, `HTTP ${home}`);
  await page.goto(`${t.base}/math`, { timeout: PAGE_TIMEOUT_MS });
  // markdown-it-mathjax3 renders formulas to SVG at build time.
  const formulas = await page.locator('mjx-container svg').count();
  t.check('math rendered', formulas >= 20, `expected ≥ 20 rendered formulas, got ${formulas}`);
  await page.screenshot({ path: join(t.shots, 'math.png'), fullPage: false });
  return { home, formulas };
}
