// Browser test of the GAN demo page (demos/gan), run by
// browser-tests/demos.spec.ts (which passes the toolkit `t`: its `check`, its
// canvas measurements, the site's address, the backend and the screenshot
// folder). On one load of the page: the three
// panels run on the expected backend and draw; the truncation slider changes
// the batch; ψ = 0 gives one image for every seed; the crossover slider
// changes the mix; the class picker changes the digits; CycleGAN translates
// both ways; tensor counts stay flat; no page errors; and the page downloaded
// the two GANs as generator-only exports (G alone, no D: the kind in the
// file's header, no `d/` tensor, the size its JSON sidecar reports) and the
// CycleGAN whole. Timings and the bytes downloaded are returned.
import { join } from 'node:path';
import { afterDraw, DEMO_TIMEOUT_MS, numbers } from './browser-test-tools.mjs';

const PAGE_TIMEOUT_MS = 30_000;
const STYLE = '[data-demo="gan-style"]';
const CONDITIONAL = '[data-demo="gan-conditional"]';
const CYCLE = '[data-demo="cyclegan"]';
const DIGIT = 28;
/** Checkpoint kind of `GanModel.exportGenerator()` (@sculpt/gan's GENERATOR_KIND). */
const GENERATOR_KIND = 'sculpt-gan-generator';
const GENERATOR_ASSETS = ['gan-cdcgan', 'gan-stylegan'];
const ASSET_URL = /\/checkpoints\/(gan-[a-z]+\.(?:safetensors|json))(?:\?|$)/;

/**
 * Records the page's downloads of the GAN assets: file name → { url, status, body }.
 * @returns the map, `settle()` (waits for the bodies) and `stop()`.
 */
function recordAssets(page) {
  const files = new Map();
  const pending = [];
  const onResponse = (res) => {
    const match = ASSET_URL.exec(res.url());
    if (!match) return;
    const save = (body) => files.set(match[1], { url: res.url(), status: res.status(), body });
    pending.push(res.body().then(save, () => save(null)));
  };
  page.on('response', onResponse);
  return {
    files,
    settle: () => Promise.all(pending),
    stop: () => page.off('response', onResponse),
  };
}

/** The safetensors header of core's checkpoint bytes: its JSON kind and tensor names. */
function checkpointHeader(body) {
  const n = Number(body.readBigUInt64LE(0));
  const header = JSON.parse(body.subarray(8, 8 + n).toString('utf8'));
  const meta = JSON.parse(header.__metadata__?.['sculpt.checkpoint'] ?? '{}');
  return {
    kind: meta.json?.kind,
    tensors: Object.keys(header).filter((k) => k !== '__metadata__'),
  };
}

/** The GANs came as generator-only exports of the size their sidecars report; the CycleGAN whole. */
async function shippedAssets(assets, t, r) {
  await assets.settle();
  r.downloadedBytes = {};
  for (const name of [...GENERATOR_ASSETS, 'gan-cyclegan']) {
    const file = assets.files.get(`${name}.safetensors`);
    const sidecar = assets.files.get(`${name}.json`);
    const ok = t.check(
      `${name}: downloaded with its sidecar`,
      file?.status === 200 && Boolean(file.body) && sidecar?.status === 200,
      `weights ${file?.status ?? 'not requested'}, sidecar ${sidecar?.status ?? 'not requested'}`,
    );
    if (!ok) continue;
    const report = JSON.parse(sidecar.body.toString('utf8'));
    const { kind, tensors } = checkpointHeader(file.body);
    r.downloadedBytes[name] = file.body.length;
    t.check(
      `${name}: the file its sidecar describes`,
      file.body.length === report.bytes && file.url.endsWith(`?v=${report.sha256}`),
      `${file.body.length} bytes from ${file.url}; sidecar: ${report.bytes} bytes, sha256 ${report.sha256}`,
    );
    if (!GENERATOR_ASSETS.includes(name)) continue;
    const discriminator = tensors.filter((k) => k.startsWith('model/d/'));
    t.check(
      `${name}: generator only`,
      kind === GENERATOR_KIND && discriminator.length === 0 && tensors.length > 0,
      `kind '${kind}', ${tensors.length} tensors, ${discriminator.length} of D`,
    );
    t.check(
      `${name}: smaller than G + D`,
      file.body.length < report.fullModelBytes,
      `${file.body.length} bytes; G + D: ${report.fullModelBytes}`,
    );
  }
}

/** Gray values of one canvas. */
function grayOf(page, selector) {
  return page.$eval(selector, (c) => {
    const canvas = /** @type {HTMLCanvasElement} */ (c);
    const d = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
    const out = [];
    for (let i = 0; i < d.length; i += 4) out.push(d[i]);
    return { width: canvas.width, values: out };
  });
}

/** Tile (row, col) of a grid of 28×28 digits. */
function tile({ width, values }, row, col) {
  const out = [];
  for (let y = 0; y < DIGIT; y++)
    for (let x = 0; x < DIGIT; x++) out.push(values[(row * DIGIT + y) * width + col * DIGIT + x]);
  return out;
}

const meanAbsDiff = (a, b) => a.reduce((s, v, i) => s + Math.abs(v - b[i]), 0) / a.length;

/** Sets a range input and fires its input event. */
function setRange(page, selector, value) {
  return page.$eval(
    selector,
    (el, v) => {
      const input = /** @type {HTMLInputElement} */ (el);
      input.value = String(v);
      input.dispatchEvent(new Event('input', { bubbles: true }));
    },
    value,
  );
}

async function panelsReady(page, t, r) {
  for (const sel of [CONDITIONAL, STYLE, CYCLE]) {
    await page.waitForFunction(
      (s) =>
        ['ready', 'error'].includes(document.querySelector(s)?.getAttribute('data-phase') ?? ''),
      sel,
      { timeout: DEMO_TIMEOUT_MS },
    );
    const phase = await page.getAttribute(sel, 'data-phase');
    const backend = await page.getAttribute(`${sel} [data-backend]`, 'data-backend');
    t.check(`${sel} phase`, phase === 'ready', `got '${phase}': ${await page.textContent(sel)}`);
    t.check(`${sel} backend`, backend === t.backend, `expected '${t.backend}', got '${backend}'`);
  }
  // Tensor counts from here on: every model is loaded, so each redraw must leave the same count.
  r.drawsWhenReady = {};
  for (const sel of [CONDITIONAL, STYLE, CYCLE])
    r.drawsWhenReady[sel] = numbers(await page.getAttribute(sel, 'data-tensors-after')).length;
  r.canvases = await t.canvasStats(
    page,
    '[data-demo^="gan"] canvas, [data-demo="cyclegan"] canvas',
  );
  for (const c of r.canvases)
    t.check(
      `gan canvas ${c.name}`,
      !c.blank,
      `blank (std ${c.std.toFixed(2)}, ${c.levels} levels)`,
    );
}

async function styleControls(page, t, r) {
  const at = async (psi) => {
    await afterDraw(page, STYLE, () => setRange(page, `${STYLE} [data-control="truncation"]`, psi));
    return {
      batch: await grayOf(page, `${STYLE} [data-canvas="batch"]`),
      mix: await grayOf(page, `${STYLE} [data-canvas="mix"]`),
    };
  };
  const full = await at(1);
  const half = await at(0.5);
  const zero = await at(0);
  r.truncationChange = meanAbsDiff(full.batch.values, half.batch.values);
  t.check(
    'gan truncation slider changes the batch',
    r.truncationChange > 2,
    `mean |Δ gray| ${r.truncationChange.toFixed(2)}`,
  );
  // ψ = 0: every seed maps to w̄, so the batch's tiles and the pair A, B are one image.
  r.seedsAtFull = meanAbsDiff(tile(full.batch, 0, 0), tile(full.batch, 0, 1));
  r.seedsAtZero = meanAbsDiff(tile(zero.batch, 0, 0), tile(zero.batch, 0, 1));
  r.pairAtZero = meanAbsDiff(tile(zero.mix, 0, 0), tile(zero.mix, 0, 2));
  t.check(
    'gan ψ = 0: two seeds give one image',
    r.seedsAtZero < 1 && r.pairAtZero < 1,
    `mean |Δ gray| between seeds ${r.seedsAtZero.toFixed(3)}, A vs B ${r.pairAtZero.toFixed(3)}`,
  );
  t.check(
    'gan ψ = 1: two seeds differ',
    r.seedsAtFull > 5,
    `mean |Δ gray| ${r.seedsAtFull.toFixed(2)}`,
  );
  await at(0.7);
  const mixAt = async (c) => {
    await afterDraw(page, STYLE, () => setRange(page, `${STYLE} [data-control="crossover"]`, c));
    return tile(await grayOf(page, `${STYLE} [data-canvas="mix"]`), 0, 1);
  };
  r.crossoverChange = meanAbsDiff(await mixAt(1), await mixAt(5));
  t.check(
    'gan crossover slider changes the mix',
    r.crossoverChange > 1,
    `mean |Δ gray| ${r.crossoverChange.toFixed(2)}`,
  );
  const before = (await grayOf(page, `${STYLE} [data-canvas="batch"]`)).values;
  await afterDraw(page, STYLE, () => page.click(`${STYLE} [data-action="new-batch"]`));
  r.newBatchChange = meanAbsDiff(
    before,
    (await grayOf(page, `${STYLE} [data-canvas="batch"]`)).values,
  );
  t.check(
    'gan new batch draws other digits',
    r.newBatchChange > 2,
    `mean |Δ gray| ${r.newBatchChange.toFixed(2)}`,
  );
  r.styleBatchMs = numbers(await page.getAttribute(STYLE, 'data-batch-ms'));
  r.styleTensorsAfter = numbers(await page.getAttribute(STYLE, 'data-tensors-after'));
}

async function conditionalControls(page, t, r) {
  const canvas = `${CONDITIONAL} [data-canvas="batch"]`;
  const before = (await grayOf(page, canvas)).values;
  await afterDraw(page, CONDITIONAL, () =>
    page.selectOption(`${CONDITIONAL} [data-control="label"]`, '7'),
  );
  r.classChange = meanAbsDiff(before, (await grayOf(page, canvas)).values);
  t.check(
    'gan class picker changes the digits',
    r.classChange > 2,
    `mean |Δ gray| ${r.classChange.toFixed(2)}`,
  );
  await afterDraw(page, CONDITIONAL, () => page.click(`${CONDITIONAL} [data-action="new-batch"]`));
  r.conditionalBatchMs = numbers(await page.getAttribute(CONDITIONAL, 'data-batch-ms'));
  r.conditionalTensorsAfter = numbers(await page.getAttribute(CONDITIONAL, 'data-tensors-after'));
}

async function cycleBothWays(page, t, r) {
  await afterDraw(page, CYCLE, () => page.click(`${CYCLE} [data-action="other-digits"]`));
  for (const [name, canvasName] of [
    ['A→B', 'atob'],
    ['B→A', 'btoa'],
  ]) {
    const g = await grayOf(page, `${CYCLE} [data-canvas="${canvasName}"]`);
    const change = meanAbsDiff(tile(g, 0, 0), tile(g, 1, 0)); // input vs its translation
    r[`${canvasName}Change`] = change;
    t.check(
      `cyclegan translates ${name}`,
      change > 5,
      `mean |Δ gray| input vs output ${change.toFixed(2)}`,
    );
  }
  const attr = (a) => page.getAttribute(CYCLE, a);
  r.aToBMs = numbers(await attr('data-atob-ms'));
  r.bToAMs = numbers(await attr('data-btoa-ms'));
  r.aToBError = Number(await attr('data-atob-error'));
  r.untranslatedError = Number(await attr('data-untranslated-error'));
  r.bToAError = Number(await attr('data-btoa-error'));
  r.cycleTensorsAfter = numbers(await attr('data-tensors-after'));
}

/** The GAN page on `t.backend`: see the header. */
export async function testGanDemo(page, t) {
  const r = { backend: t.backend };
  const errors = [];
  const onError = (e) => errors.push(e.message);
  page.on('pageerror', onError);
  const assets = recordAssets(page);
  try {
    const query = t.backend === 'webgpu' ? '' : `?backend=${t.backend}`;
    await page.goto(`${t.base}/demos/gan${query}`, { timeout: PAGE_TIMEOUT_MS });
    await panelsReady(page, t, r);
    await shippedAssets(assets, t, r);
    await conditionalControls(page, t, r);
    await styleControls(page, t, r);
    await cycleBothWays(page, t, r);
    // One tfjs engine serves the three panels: after every redraw since all three loaded,
    // tf.memory().numTensors (their weights) must be the same number.
    const settled = [
      ...r.conditionalTensorsAfter.slice(r.drawsWhenReady[CONDITIONAL]),
      ...r.styleTensorsAfter.slice(r.drawsWhenReady[STYLE]),
      ...r.cycleTensorsAfter.slice(r.drawsWhenReady[CYCLE]),
    ];
    r.tensorsAfterRedraws = settled;
    t.check(
      'gan demo: no tensor leak across redraws',
      settled.length >= 10 && new Set(settled).size === 1,
      settled.join(' → '),
    );
  } catch (err) {
    r.error = err instanceof Error ? err.message.split('\n')[0] : String(err);
    t.check('gan demo', false, r.error);
  } finally {
    page.off('pageerror', onError);
    assets.stop();
  }
  r.pageErrors = errors;
  t.check('gan demo: no page errors', errors.length === 0, errors.join(' | '));
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: join(t.shots, `gan-${t.backend}.png`), fullPage: true });
  console.log(
    `gan demo on ${t.backend}: style batch ${r.styleBatchMs?.at(-1)} ms, conditional batch ${r.conditionalBatchMs?.at(-1)} ms, ` +
      `A→B ${r.aToBMs?.at(-1)} ms, B→A ${r.bToAMs?.at(-1)} ms (last of each)`,
  );
  return r;
}
