// The loss plot: a curve rasterised into an RGB array by hand (no canvas, no
// font files), then written as a PNG by core's writePng.
//
// Raw losses are drawn light, an exponential moving average dark. The y axis
// is logarithmic when the losses span more than a factor of 20. Tick labels
// use a 3×5 pixel font drawn at 2× scale.
import { writePng } from '@sculpt/core';
import * as tf from '@tensorflow/tfjs-core';

/** Options of {@link renderLossPlot}. */
export interface LossPlotOptions {
  /** Image width in pixels. Default 720. */
  width?: number;
  /** Image height in pixels. Default 400. */
  height?: number;
}

/** An RGB raster: `height × width × 3` floats in [0, 1], row-major. */
export interface Raster {
  readonly pixels: Float32Array;
  readonly width: number;
  readonly height: number;
}

type Rgb = readonly [number, number, number];
const WHITE: Rgb = [1, 1, 1];
const GRID: Rgb = [0.9, 0.9, 0.9];
const AXIS: Rgb = [0.35, 0.35, 0.35];
const RAW: Rgb = [0.62, 0.76, 0.93];
const SMOOTH: Rgb = [0.05, 0.3, 0.7];

// 3×5 glyphs, rows top to bottom, 3 bits each (4 = left column).
const FONT: Record<string, readonly number[]> = {
  '0': [7, 5, 5, 5, 7],
  '1': [2, 6, 2, 2, 7],
  '2': [7, 1, 7, 4, 7],
  '3': [7, 1, 7, 1, 7],
  '4': [5, 5, 7, 1, 1],
  '5': [7, 4, 7, 1, 7],
  '6': [7, 4, 7, 5, 7],
  '7': [7, 1, 2, 2, 2],
  '8': [7, 5, 7, 5, 7],
  '9': [7, 5, 7, 1, 7],
  '.': [0, 0, 0, 0, 2],
  '-': [0, 0, 7, 0, 0],
  '+': [0, 2, 7, 2, 0],
  E: [7, 4, 6, 4, 7],
  L: [4, 4, 4, 4, 7],
  O: [7, 5, 5, 5, 7],
  S: [7, 4, 7, 1, 7],
  T: [7, 2, 2, 2, 2],
  P: [7, 5, 7, 4, 4],
  G: [7, 4, 5, 5, 7],
  C: [7, 4, 4, 4, 7],
  A: [2, 5, 7, 5, 5],
  '(': [1, 2, 2, 2, 1],
  ')': [4, 2, 2, 2, 4],
  ' ': [0, 0, 0, 0, 0],
};
const SCALE = 2;

function fill(r: Raster, x0: number, y0: number, w: number, h: number, c: Rgb): void {
  for (let y = Math.max(0, y0); y < Math.min(r.height, y0 + h); y++) {
    for (let x = Math.max(0, x0); x < Math.min(r.width, x0 + w); x++) {
      const i = (y * r.width + x) * 3;
      r.pixels[i] = c[0];
      r.pixels[i + 1] = c[1];
      r.pixels[i + 2] = c[2];
    }
  }
}

/** A line from (x0, y0) to (x1, y1), `thickness` pixels wide (Bresenham, square pen). */
function line(
  r: Raster,
  x0: number,
  y0: number,
  x1: number,
  y1: number,
  c: Rgb,
  thickness = 1,
): void {
  let [x, y] = [Math.round(x0), Math.round(y0)];
  const [xe, ye] = [Math.round(x1), Math.round(y1)];
  const dx = Math.abs(xe - x);
  const dy = -Math.abs(ye - y);
  const sx = x < xe ? 1 : -1;
  const sy = y < ye ? 1 : -1;
  let err = dx + dy;
  const half = Math.floor(thickness / 2);
  for (;;) {
    fill(r, x - half, y - half, thickness, thickness, c);
    if (x === xe && y === ye) return;
    const e2 = 2 * err;
    if (e2 >= dy) {
      err += dy;
      x += sx;
    }
    if (e2 <= dx) {
      err += dx;
      y += sy;
    }
  }
}

/** Draws `text` with its top-left corner at (x, y); unknown characters are skipped. Returns the width drawn. */
function text(r: Raster, x: number, y: number, s: string, c: Rgb): number {
  let cx = x;
  for (const ch of s.toUpperCase()) {
    const glyph = FONT[ch];
    if (!glyph) continue;
    glyph.forEach((bits, row) => {
      for (let col = 0; col < 3; col++)
        if (bits & (4 >> col)) fill(r, cx + col * SCALE, y + row * SCALE, SCALE, SCALE, c);
    });
    cx += 4 * SCALE;
  }
  return cx - x;
}

function textWidth(s: string): number {
  return [...s.toUpperCase()].filter((ch) => FONT[ch]).length * 4 * SCALE;
}

/** Short tick label: 3 significant digits, exponent form for very small or large values. */
export function formatTick(v: number): string {
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1e5 || a < 1e-3) return v.toExponential(1).replace('e', 'E');
  return String(Number(v.toPrecision(3)));
}

/** About five round values (multiples of 1, 2 or 5 × 10^k) in `[lo, hi]`. */
export function niceTicks(lo: number, hi: number): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / 5;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = ([1, 2, 5, 10].find((m) => m * magnitude >= raw) ?? 10) * magnitude;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step)
    out.push(Number(v.toPrecision(12)));
  return out;
}

/** Exponential moving average with a window of about 2% of the run (at least 1 step). */
export function smoothLosses(losses: readonly number[]): number[] {
  const alpha = 1 / Math.max(1, Math.round(losses.length / 50));
  const out: number[] = [];
  let m = losses[0] ?? 0;
  for (const v of losses) {
    m = alpha * v + (1 - alpha) * m;
    out.push(m);
  }
  return out;
}

/**
 * Draws a training-loss curve.
 *
 * @param steps - the step of each loss (increasing).
 * @param losses - finite losses, one per step.
 * @param options - `width` (default 720), `height` (default 400).
 * @returns a {@link Raster} owned by the caller (plain arrays; no tensors).
 * @example
 * ```ts
 * const raster = renderLossPlot([1, 2, 3], [0.9, 0.5, 0.4]);
 * ```
 */
export function renderLossPlot(
  steps: readonly number[],
  losses: readonly number[],
  options: LossPlotOptions = {},
): Raster {
  const { width = 720, height = 400 } = options;
  const r: Raster = { pixels: new Float32Array(width * height * 3), width, height };
  fill(r, 0, 0, width, height, WHITE);
  const left = 80;
  const right = width - 20;
  const top = 36;
  const bottom = height - 40;
  const finite = losses.filter((v) => Number.isFinite(v));
  const smooth = smoothLosses(losses);
  const positive = finite.length > 0 && finite.every((v) => v > 0);
  let lo = finite.length ? Math.min(...finite) : 0;
  // The first steps' loss is often far above the rest: scale to the smoothed curve's peak.
  let hi = finite.length ? Math.max(...smooth.filter((v) => Number.isFinite(v)), lo) : 1;
  const logScale = positive && hi / lo > 20;
  const f = (v: number) => (logScale ? Math.log10(v) : v);
  if (hi === lo) {
    hi = lo + (Math.abs(lo) || 1) * 0.5;
    lo -= (Math.abs(lo) || 1) * 0.5;
  }
  const [fy0, fy1] = [f(lo), f(hi)];
  const s0 = steps[0] ?? 0;
  const s1 = Math.max(steps[steps.length - 1] ?? 1, s0 + 1);
  const px = (s: number) => left + ((s - s0) / (s1 - s0)) * (right - left);
  const py = (v: number) => {
    const t = (f(v) - fy0) / (fy1 - fy0);
    return bottom - Math.min(1.02, Math.max(-0.02, t)) * (bottom - top);
  };
  // Grid and tick labels at round values (1, 2 or 5 × 10^k) inside the axes' ranges.
  for (const fv of niceTicks(fy0, fy1)) {
    const y = Math.round(py(logScale ? 10 ** fv : fv));
    line(r, left, y, right, y, GRID);
    const label = formatTick(logScale ? 10 ** fv : fv);
    text(r, left - 8 - textWidth(label), y - 5, label, AXIS);
  }
  for (const sv of niceTicks(s0, s1).filter(Number.isInteger)) {
    const x = Math.round(px(sv));
    line(r, x, top, x, bottom, GRID);
    text(r, x - textWidth(String(sv)) / 2, bottom + 8, String(sv), AXIS);
  }
  line(r, left, top, left, bottom, AXIS);
  line(r, left, bottom, right, bottom, AXIS);
  text(r, left, 10, logScale ? 'LOSS (LOG SCALE)' : 'LOSS', AXIS);
  text(r, right - textWidth('STEP'), height - 14, 'STEP', AXIS);
  const curve = (values: readonly number[], c: Rgb, thickness: number) => {
    for (let i = 1; i < values.length; i++) {
      if (!Number.isFinite(values[i - 1]) || !Number.isFinite(values[i])) continue;
      line(r, px(steps[i - 1]), py(values[i - 1]), px(steps[i]), py(values[i]), c, thickness);
    }
    if (values.length === 1 && Number.isFinite(values[0]))
      fill(r, px(steps[0]) - 2, py(values[0]) - 2, 5, 5, c);
  };
  curve(losses, RAW, 1);
  curve(smooth, SMOOTH, 2);
  return r;
}

/**
 * Renders the loss curve and writes it as a PNG.
 *
 * @param path - the file to write (its folder must exist).
 * @param steps - step of each loss.
 * @param losses - the losses.
 * @returns when the file is written.
 * @example
 * ```ts
 * await writeLossPlot('runs/x/loss.png', [1, 2], [0.9, 0.5]);
 * ```
 */
export async function writeLossPlot(
  path: string,
  steps: readonly number[],
  losses: readonly number[],
): Promise<void> {
  const raster = renderLossPlot(steps, losses);
  const image = tf.tensor3d(raster.pixels, [raster.height, raster.width, 3], 'float32');
  try {
    await writePng(path, image);
  } finally {
    image.dispose();
  }
}
