// Browser test of the text-to-image demo page (demos/latent), run by
// browser-tests/demos.spec.ts (which passes its `check`, its canvas measurements, the
// site's address, the backend and the screenshot folder). On one load of the
// page: the panel runs on the expected backend; a typed prompt generates a row
// of digits that are not blank, decoded step by step, that @sculpt/metrics'
// classifier (run in the page) reads as the asked digit for most of the row; a
// word outside the caption vocabulary shows the library's error under the box
// and the panel keeps working; an example chip generates its digit; tensor
// counts stay flat; no page errors. The in-page timings are returned and printed.
import { join } from 'node:path';
import { afterDraw, DEMO_TIMEOUT_MS, numbers } from './browser-test-tools.mjs';

const PAGE_TIMEOUT_MS = 30_000;
const SEL = '[data-demo="latent"]';
/** Most of a row of 8: the classifier must read the asked digit in at least this many. */
const MOST = 5;

/** Types `prompt` into the box and presses generate. */
function typeAndGenerate(page, prompt) {
  return afterDraw(page, SEL, async () => {
    await page.fill(`${SEL} [data-control="prompt"]`, prompt);
    await page.click(`${SEL} [data-action="generate"]`);
  });
}

/** The classifier's readings of the last row and how many are the asked digit. */
async function readings(page) {
  const readAs = numbers(await page.getAttribute(SEL, 'data-read-as'));
  const asked = Number(await page.getAttribute(SEL, 'data-asked'));
  return { asked, readAs, hits: readAs.filter((d) => d === asked).length };
}

async function ready(page, t, r) {
  await page.waitForFunction(
    (s) => ['ready', 'error'].includes(document.querySelector(s)?.getAttribute('data-phase') ?? ''),
    SEL,
    { timeout: DEMO_TIMEOUT_MS },
  );
  const phase = await page.getAttribute(SEL, 'data-phase');
  const backend = await page.getAttribute(`${SEL} [data-backend]`, 'data-backend');
  r.model = (await page.locator(`${SEL} .sculpt-note`).first().innerText()).trim();
  t.check('latent phase', phase === 'ready', `got '${phase}': ${await page.textContent(SEL)}`);
  t.check('latent backend', backend === t.backend, `expected '${t.backend}', got '${backend}'`);
  return phase === 'ready';
}

async function typedPrompt(page, t, r) {
  await typeAndGenerate(page, 'a thick slanted seven');
  r.seven = await readings(page);
  t.check(
    'latent "a thick slanted seven" reads as 7',
    r.seven.asked === 7 && r.seven.hits >= MOST,
    `asked ${r.seven.asked}, classifier read ${r.seven.readAs.join(' ')}`,
  );
  r.previewStep = Number(await page.getAttribute(SEL, 'data-preview-step'));
  const steps = Number(await page.getAttribute(SEL, 'data-steps'));
  t.check(
    'latent decodes every step',
    r.previewStep === steps,
    `preview at step ${r.previewStep} of ${steps}`,
  );
  r.canvases = await t.canvasStats(page, `${SEL} canvas`);
  for (const c of r.canvases)
    t.check(
      `latent canvas ${c.name}`,
      !c.blank,
      `blank (std ${c.std.toFixed(2)}, ${c.levels} levels)`,
    );
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: join(t.shots, `latent-${t.backend}.png`), fullPage: true });
}

async function unknownWord(page, t, r) {
  await typeAndGenerate(page, 'a purple seven');
  r.promptError = (await page.getAttribute(SEL, 'data-prompt-error')) ?? '';
  const shown = await page.locator(`${SEL} [data-field="prompt-error"]`).count();
  t.check(
    'latent unknown word: the library error in the page',
    shown === 1 &&
      /PromptEncoder\.tokenize/.test(r.promptError) &&
      /'purple'/.test(r.promptError) &&
      /Fix: /.test(r.promptError),
    `shown ${shown}, message: ${r.promptError}`,
  );
  const phase = await page.getAttribute(SEL, 'data-phase');
  t.check('latent unknown word: the panel keeps working', phase === 'ready', `phase '${phase}'`);
}

async function chipAndTiming(page, t, r) {
  await page.uncheck(`${SEL} [data-control="previews"]`);
  const chip = page.locator(`${SEL} [data-chip]`, { hasText: 'a small upright 2' });
  await afterDraw(page, SEL, () => chip.click());
  r.two = await readings(page);
  const error = await page.getAttribute(SEL, 'data-prompt-error');
  t.check('latent chip clears the error', !error, `error still shown: ${error}`);
  t.check(
    'latent chip "a small upright 2" reads as 2',
    r.two.asked === 2 && r.two.hits >= MOST,
    `asked ${r.two.asked}, classifier read ${r.two.readAs.join(' ')}`,
  );
  // The timed one: same knobs, a new seed, no per-step decoding, shaders compiled.
  await afterDraw(page, SEL, () => page.click(`${SEL} [data-action="new-seed"]`));
  r.generationMs = numbers(await page.getAttribute(SEL, 'data-gen-ms'));
  r.msPerImage = Number(await page.getAttribute(SEL, 'data-ms-per-image'));
  r.timingLine = (await page.locator(`${SEL} [data-field="gen-time"]`).innerText()).trim();
  r.tensorsAfter = numbers(await page.getAttribute(SEL, 'data-tensors-after'));
}

/** The latent diffusion page on `t.backend`: see the header. */
export async function testLatentDemo(page, t) {
  const r = { backend: t.backend };
  const errors = [];
  const onError = (e) => errors.push(e.message);
  page.on('pageerror', onError);
  try {
    const query = t.backend === 'webgpu' ? '' : `?backend=${t.backend}`;
    await page.goto(`${t.base}/demos/latent${query}`, { timeout: PAGE_TIMEOUT_MS });
    if (await ready(page, t, r)) {
      await typedPrompt(page, t, r);
      await unknownWord(page, t, r);
      await chipAndTiming(page, t, r);
      // After the first draw (which fills the model's caches), every draw must leave the same count.
      const settled = r.tensorsAfter.slice(1);
      t.check(
        'latent demo: no tensor leak across generations',
        settled.length >= 4 && new Set(settled).size === 1,
        r.tensorsAfter.join(' → '),
      );
    }
  } catch (err) {
    r.error = err instanceof Error ? err.message.split('\n')[0] : String(err);
    t.check('latent demo', false, r.error);
  } finally {
    page.off('pageerror', onError);
  }
  r.pageErrors = errors;
  t.check('latent demo: no page errors', errors.length === 0, errors.join(' | '));
  console.log(
    `latent demo on ${t.backend}: ${r.msPerImage} ms per image (${r.timingLine ?? 'no timing'}); ` +
      `"a thick slanted seven" read as ${r.seven?.readAs.join(' ')}, "a small upright 2" read as ${r.two?.readAs.join(' ')}`,
  );
  return r;
}
