import { describe, expect, it } from 'vitest';
import { formatTick, niceTicks, renderLossPlot, smoothLosses } from './plot.js';

/** Mean row (y) of the pixels of colour `rgb` in pixel column `x`, or NaN when none. */
function curveRow(r: ReturnType<typeof renderLossPlot>, x: number, rgb: readonly number[]): number {
  const rows: number[] = [];
  for (let y = 0; y < r.height; y++) {
    const i = (y * r.width + x) * 3;
    if (
      Math.abs(r.pixels[i] - rgb[0]) < 1e-6 &&
      Math.abs(r.pixels[i + 1] - rgb[1]) < 1e-6 &&
      Math.abs(r.pixels[i + 2] - rgb[2]) < 1e-6
    )
      rows.push(y);
  }
  return rows.length ? rows.reduce((a, b) => a + b, 0) / rows.length : Number.NaN;
}

const SMOOTH = [0.05, 0.3, 0.7];

describe('smoothLosses', () => {
  it('is the exponential moving average with alpha = 1/round(n/50)', () => {
    const losses = Array.from({ length: 100 }, (_, i) => (i % 2 === 0 ? 1 : 3));
    const out = smoothLosses(losses);
    // alpha = 1/2: m_k = (x_k + m_{k-1}) / 2, m_0 = x_0 → closed form for alternating 1, 3.
    let m = 1;
    for (let k = 0; k < 100; k++) {
      m = 0.5 * losses[k] + 0.5 * m;
      expect(out[k]).toBeCloseTo(m, 12);
    }
    expect(smoothLosses([2, 4])).toEqual([2, 4]); // alpha = 1 for short runs
  });
});

describe('formatTick', () => {
  it('keeps 3 significant digits and uses exponents for tiny or huge values', () => {
    expect(formatTick(0.123456)).toBe('0.123');
    expect(formatTick(12345)).toBe('12300');
    expect(formatTick(0.0001234)).toBe('1.2E-4');
    expect(formatTick(0)).toBe('0');
  });
});

describe('niceTicks', () => {
  it('picks round steps of 1, 2 or 5 × 10^k inside the range', () => {
    expect(niceTicks(0, 100)).toEqual([0, 20, 40, 60, 80, 100]);
    expect(niceTicks(0.501, 1.02)).toEqual([0.6, 0.8, 1]);
    expect(niceTicks(1, 30)).toEqual([10, 20, 30]);
    expect(niceTicks(-1.3, 0.7)).toEqual([-1, -0.5, 0, 0.5]);
    expect(niceTicks(2, 2)).toEqual([2]);
  });
});

describe('renderLossPlot', () => {
  it('draws a falling linear curve from the top-left to the bottom-right of the plot area', () => {
    const steps = Array.from({ length: 50 }, (_, i) => i + 1);
    const losses = steps.map((s) => 2 - s / 50); // 1.98 → 1.0, alpha = 1 → smooth = raw
    const r = renderLossPlot(steps, losses, { width: 400, height: 300 });
    expect(r.pixels.length).toBe(400 * 300 * 3);
    // Plot area: x in [80, 380], y in [36, 260]; the y axis spans [min, max] of the losses.
    const x0 = 80;
    const x1 = 380;
    const rowStart = curveRow(r, x0 + 1, SMOOTH);
    const rowEnd = curveRow(r, x1 - 1, SMOOTH);
    expect(rowStart).toBeLessThan(40); // highest loss at the top
    expect(rowEnd).toBeGreaterThan(255); // lowest at the bottom
    // Linear in between: the middle column sits halfway (± 3 px for the pen width).
    const mid = curveRow(r, Math.round((x0 + x1) / 2), SMOOTH);
    expect(Math.abs(mid - (36 + 260) / 2)).toBeLessThan(4);
  });

  it('switches to a log axis when losses span more than 20×, so an exponential decay is a straight line', () => {
    const steps = Array.from({ length: 50 }, (_, i) => i);
    const losses = steps.map((s) => 100 * 0.9 ** s); // 100 → 0.57: log-linear
    const r = renderLossPlot(steps, losses, { width: 400, height: 300 });
    const a = curveRow(r, 100, SMOOTH);
    const b = curveRow(r, 230, SMOOTH);
    const c = curveRow(r, 360, SMOOTH);
    // Equal x spacing → equal y spacing on a log axis (a linear axis would bend it).
    expect(Math.abs(b - a - (c - b))).toBeLessThan(4);
  });

  it('draws nothing but axes for an empty log and survives NaN losses', () => {
    expect(() => renderLossPlot([], [])).not.toThrow();
    const r = renderLossPlot([1, 2, 3], [1, Number.NaN, 0.5]);
    expect(r.pixels.every((v) => Number.isFinite(v))).toBe(true);
  });
});
