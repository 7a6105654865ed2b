// Browser tests of the diffusion pages (demos/denoising, demos/samplers), run
// by browser-tests/demos.spec.ts (which passes the toolkit `t`: its `check`,
// its canvas measurements, the site's address, the backend and the
// screenshot folder). Denoising: the demo runs on the expected backend, a
// second generation leaves the tensor count flat, a trained model brings the
// noised digit back and draws the 7 it was asked for, and a reload takes the
// weights from the browser cache. Samplers: every sampler draws and the
// conformance table is filled. Timings are returned.
import { join } from 'node:path';

const PAGE_TIMEOUT_MS = 30_000;
const DEMO_TIMEOUT_MS = 300_000;

// webgpu is what 'auto' must pick here; any other backend is forced with ?backend=.
const query = (backend) => (backend === 'webgpu' ? '' : `?backend=${backend}`);
const shotSuffix = (backend) => (backend === 'webgpu' ? '' : `-${backend}`);

/** Opens a demo page and waits until it names its backend; checks it is `t.backend`. */
async function openDemo(page, t, name) {
  await page.goto(`${t.base}/demos/${name}${query(t.backend)}`, { timeout: PAGE_TIMEOUT_MS });
  const demo = page.locator(`[data-demo="${name}"]`);
  await demo.waitFor({ timeout: PAGE_TIMEOUT_MS });
  await page.waitForFunction(
    (n) =>
      document.querySelector(`[data-demo="${n}"] [data-backend]`)?.getAttribute('data-backend'),
    name,
    { timeout: 60_000 },
  );
  return demo;
}

/** The denoising page on `t.backend`: see the header. */
export async function testDenoising(page, t) {
  const r = {};
  const demo = await openDemo(page, t, 'denoising');
  r.backend = await demo.locator('[data-backend]').getAttribute('data-backend');
  r.backendLine = (await demo.locator('.sculpt-backend').innerText()).trim();
  t.check(
    'denoising backend',
    r.backend === t.backend,
    `expected '${t.backend}', got '${r.backend}' (${r.backendLine})`,
  );
  await page.waitForFunction(
    () => {
      const el = document.querySelector('[data-demo="denoising"]');
      return el && (el.getAttribute('data-phase') === 'error' || el.getAttribute('data-gen-ms'));
    },
    null,
    { timeout: DEMO_TIMEOUT_MS },
  );
  r.phase = await demo.getAttribute('data-phase');
  r.model = (await demo.locator('.sculpt-note').first().innerText()).trim();
  if (
    !t.check(
      'denoising phase',
      r.phase === 'done',
      `expected 'done', got '${r.phase}': ${await demo.innerText()}`,
    )
  )
    return r;
  const suffix = shotSuffix(t.backend);
  await page.screenshot({ path: join(t.shots, `denoising${suffix}.png`), fullPage: true });
  await secondGeneration(page, t, demo, r);
  await page.evaluate(() => window.scrollTo(0, 0)); // the fixed header would land mid-page otherwise
  await page.screenshot({ path: join(t.shots, `denoising${suffix}-2.png`), fullPage: true });
  if (!/untrained/.test(r.model)) await testDenoisingCache(page, t, r);
  return r;
}

/** A second generation (the first one includes compiling the shaders): timings, leaks, what it drew. */
async function secondGeneration(page, t, demo, r) {
  await demo.locator('[data-action="generate"]').click();
  await page.waitForFunction(
    () =>
      (
        document.querySelector('[data-demo="denoising"]')?.getAttribute('data-gen-times') ?? ''
      ).split(',').length >= 2,
    null,
    { timeout: DEMO_TIMEOUT_MS },
  );
  r.generationMs = (await demo.getAttribute('data-gen-times')).split(',').map(Number);
  r.generationSteps = Number(await demo.getAttribute('data-gen-steps'));
  r.tensorsAfterGenerations = (await demo.getAttribute('data-tensors-after'))
    .split(',')
    .map(Number);
  const [t1, t2] = r.tensorsAfterGenerations;
  t.check(
    'no tensor leak across generations',
    t1 === t2,
    `tf.memory().numTensors went ${t1} → ${t2}`,
  );
  t.check(
    'generation steps',
    r.generationSteps === 20,
    `expected the timed generation to take 20 steps, got ${r.generationSteps}`,
  );
  r.generationLine = (await demo.locator('[data-field="gen-time"]').innerText()).trim();
  const readAs = demo.locator('[data-field="gen-class"]');
  r.generatedDigit = (await readAs.count())
    ? Number(await readAs.getAttribute('data-digit'))
    : null;
  r.generatedReading = (await readAs.count()) ? (await readAs.innerText()).trim() : null;
  r.canvases = await t.canvasStats(page, '[data-demo="denoising"] canvas');
  for (const c of r.canvases)
    t.check(
      `denoising canvas ${c.name}`,
      !c.blank,
      `blank (std ${c.std.toFixed(2)}, ${c.levels} levels)`,
    );
  r.correlation = {
    noisyVsClean: await t.canvasCorrelation(page, '[data-canvas="x0"]', '[data-canvas="xt"]'),
    recoveredVsClean: await t.canvasCorrelation(
      page,
      '[data-canvas="x0"]',
      '[data-canvas="reverse-x0"]',
    ),
  };
  if (/untrained/.test(r.model)) return;
  // A trained model must bring the noised digit back: the prediction is closer to x₀ than x_t is.
  t.check(
    'denoising recovers the digit',
    r.correlation.recoveredVsClean > Math.max(0.5, r.correlation.noisyVsClean),
    JSON.stringify(r.correlation),
  );
  // The page asks for a 7 (at the shipped model's recommended guidance): @sculpt/metrics' MNIST classifier must read a 7.
  t.check(
    'generation follows the label',
    r.generatedDigit === 7,
    `expected the classifier to read 7, got ${r.generatedDigit}`,
  );
}

/** Reloads the demo: DiffusionModel.fromUrl must now take the weights from the Cache API. */
async function testDenoisingCache(page, t, r) {
  t.check('denoising first load', /MB downloaded/.test(r.model), `model line: ${r.model}`);
  const requests = [];
  const count = (req) => {
    if (req.url().endsWith('/mnist-diffusion.safetensors')) requests.push(req.url());
  };
  page.on('request', count);
  await page.goto(`${t.base}/demos/denoising${query(t.backend)}`, { timeout: PAGE_TIMEOUT_MS });
  await page.waitForFunction(
    () =>
      /^Model: /.test(
        document.querySelector('[data-demo="denoising"] .sculpt-note')?.textContent?.trim() ?? '',
      ),
    null,
    { timeout: DEMO_TIMEOUT_MS },
  );
  page.off('request', count);
  r.secondLoad = (
    await page.locator('[data-demo="denoising"] .sculpt-note').first().innerText()
  ).trim();
  r.secondLoadRequests = requests.length;
  console.log(`denoising model, first load: ${r.model}`);
  console.log(
    `denoising model, second load: ${r.secondLoad} (${requests.length} requests for the weights)`,
  );
  t.check(
    'denoising second load from the cache',
    /from the browser cache/.test(r.secondLoad) && requests.length === 0,
    `model line: ${r.secondLoad}; ${requests.length} requests for the weights`,
  );
}

/** The samplers page on `t.backend`: see the header. */
export async function testSamplers(page, t) {
  const r = {};
  const demo = await openDemo(page, t, 'samplers');
  r.backend = await demo.locator('[data-backend]').getAttribute('data-backend');
  t.check(
    'samplers backend',
    r.backend === t.backend,
    `expected '${t.backend}', got '${r.backend}'`,
  );
  await page.waitForFunction(
    () =>
      ['done', 'error'].includes(
        document.querySelector('[data-demo="samplers"]')?.getAttribute('data-status') ?? '',
      ),
    null,
    { timeout: DEMO_TIMEOUT_MS },
  );
  r.status = await demo.getAttribute('data-status');
  if (
    !t.check(
      'samplers status',
      r.status === 'done',
      `expected 'done', got '${r.status}': ${await demo.innerText()}`,
    )
  )
    return r;
  const stats = await t.canvasStats(page, '[data-demo="samplers"] canvas');
  r.samplers = stats.map((c) => c.name);
  t.check('samplers drawn', stats.length >= 10, `expected ≥ 10 sampler plots, got ${stats.length}`);
  for (const c of stats)
    t.check(`samplers canvas ${c.name}`, !c.blank, `blank (std ${c.std.toFixed(2)})`);
  r.table = await page.locator('[data-table="conformance"] tbody tr').count();
  t.check('conformance table', r.table >= 10, `expected ≥ 10 rows, got ${r.table}`);
  await page.screenshot({
    path: join(t.shots, `samplers${shotSuffix(t.backend)}.png`),
    fullPage: true,
  });
  return r;
}
