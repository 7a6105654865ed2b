// Measurements the browser tests take of the page's canvases, handed to every
// demo test as part of its toolkit `t` (see browser-tests/fixtures.ts); and the
// waits the demo panels' tests share (a panel counts its draws in `data-draws`).

/** How long a demo panel may take to load or draw (WebGPU on SwiftShader compiles shaders for minutes). */
export const DEMO_TIMEOUT_MS = 300_000;

/** A comma list attribute as numbers (`null` or '' → []). */
export const numbers = (s) => (s ?? '').split(',').filter(Boolean).map(Number);

/** Waits until the panel at `sel` has drawn more than `n` times (or failed). */
export function waitForDraws(page, sel, n) {
  return page.waitForFunction(
    ([s, count]) => {
      const el = document.querySelector(s);
      return (
        el?.getAttribute('data-phase') === 'error' || Number(el?.getAttribute('data-draws')) > count
      );
    },
    [sel, n],
    { timeout: DEMO_TIMEOUT_MS },
  );
}

/** Runs `act` (one change that redraws the panel at `sel` once), then waits for that draw. */
export async function afterDraw(page, sel, act) {
  const before = Number(await page.getAttribute(sel, 'data-draws'));
  await act();
  await waitForDraws(page, sel, before);
}

/** Per canvas: size, how many distinct gray levels, the std of the pixels, whether it is blank. */
export async function canvasStats(page, selector) {
  return page.$$eval(selector, (els) =>
    els.map((c) => {
      const canvas = /** @type {HTMLCanvasElement} */ (c);
      const ctx = canvas.getContext('2d');
      const { data } = ctx.getImageData(0, 0, canvas.width, canvas.height);
      let sum = 0;
      let sum2 = 0;
      const levels = new Set();
      const n = data.length / 4;
      for (let i = 0; i < data.length; i += 4) {
        const v = (data[i] + data[i + 1] + data[i + 2]) / 3;
        sum += v;
        sum2 += v * v;
        levels.add(Math.round(v));
      }
      const mean = sum / n;
      const std = Math.sqrt(Math.max(0, sum2 / n - mean * mean));
      const name = canvas.dataset.canvas ?? canvas.dataset.sampler ?? '';
      return {
        name,
        width: canvas.width,
        height: canvas.height,
        mean,
        std,
        levels: levels.size,
        blank: std < 2 || levels.size < 3,
      };
    }),
  );
}

/** Pearson correlation of two canvases' gray values (same size). */
export async function canvasCorrelation(page, a, b) {
  return page.evaluate(
    ([sa, sb]) => {
      const gray = (sel) => {
        const c = /** @type {HTMLCanvasElement} */ (document.querySelector(sel));
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        const out = [];
        for (let i = 0; i < d.length; i += 4) out.push(d[i]);
        return out;
      };
      const x = gray(sa);
      const y = gray(sb);
      const mx = x.reduce((s, v) => s + v, 0) / x.length;
      const my = y.reduce((s, v) => s + v, 0) / y.length;
      let sxy = 0;
      let sxx = 0;
      let syy = 0;
      for (let i = 0; i < x.length; i++) {
        sxy += (x[i] - mx) * (y[i] - my);
        sxx += (x[i] - mx) ** 2;
        syy += (y[i] - my) ** 2;
      }
      return sxy / Math.sqrt(sxx * syy || 1);
    },
    [a, b],
  );
}
