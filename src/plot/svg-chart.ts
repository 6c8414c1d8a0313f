/**
 * A line chart as SVG: axes with ticks (decades on a log axis), labels, one polyline per series
 * and a legend. Small and dependency-free; each series is a <polyline class="series"> with
 * data-name and data-points, so the picture can be checked by its content.
 */
import type { Chart } from './series.js';

export const palette = [
  '#1f77b4',
  '#d62728',
  '#2ca02c',
  '#ff7f0e',
  '#9467bd',
  '#8c564b',
  '#e377c2',
  '#17becf',
  '#7f7f7f',
  '#bcbd22',
];

const W = 800;
const H = 480;
const M = { left: 80, right: 170, top: 40, bottom: 60 };

export interface Scale {
  min: number;
  max: number;
  ticks: number[];
  at: (v: number) => number;
}

/** Ticks at 1, 2 or 5 × 10^k, about `count` of them. */
export function niceTicks(min: number, max: number, count = 6): number[] {
  if (min === max) {
    const pad = Math.abs(min) || 1;
    return niceTicks(min - pad / 2, max + pad / 2, count);
  }
  const raw = (max - min) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((f) => f * mag).find((s) => s >= raw)!;
  const ticks: number[] = [];
  for (let t = Math.floor(min / step) * step; t <= max + step * 1e-9; t += step) ticks.push(Number(t.toPrecision(12)));
  if (ticks[ticks.length - 1]! < max) ticks.push(Number((ticks[ticks.length - 1]! + step).toPrecision(12)));
  return ticks;
}

export function linearScale(values: number[], from: number, to: number): Scale {
  const ticks = niceTicks(Math.min(...values), Math.max(...values));
  const min = ticks[0]!;
  const max = ticks[ticks.length - 1]!;
  return { min, max, ticks, at: (v) => from + ((v - min) / (max - min || 1)) * (to - from) };
}

export function logScale(values: number[], from: number, to: number): Scale {
  const lo = Math.floor(Math.log10(Math.min(...values)));
  let hi = Math.ceil(Math.log10(Math.max(...values)));
  if (hi === lo) hi = lo + 1;
  const ticks: number[] = [];
  for (let e = lo; e <= hi; e++) ticks.push(10 ** e);
  return { min: 10 ** lo, max: 10 ** hi, ticks, at: (v) => from + ((Math.log10(v) - lo) / (hi - lo)) * (to - from) };
}

export function formatTick(v: number, log: boolean): string {
  if (log) return `1e${Math.round(Math.log10(v))}`;
  if (v === 0) return '0';
  const a = Math.abs(v);
  return a >= 1e5 || a < 1e-3 ? v.toExponential(1) : String(Number(v.toPrecision(6)));
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

export function renderSvg(chart: Chart): string {
  const xs = chart.series.flatMap((s) => s.points.map((p) => p[0]));
  const ys = chart.series.flatMap((s) => s.points.map((p) => p[1]));
  const x = linearScale(xs.length ? xs : [0, 1], M.left, W - M.right);
  const y = (chart.logY ? logScale : linearScale)(ys.length ? ys : [chart.logY ? 0.1 : 0, 1], H - M.bottom, M.top);
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="DejaVu Sans, Liberation Sans, Arial, sans-serif" font-size="12">`,
  );
  out.push(`<rect width="${W}" height="${H}" fill="#ffffff"/>`);
  out.push(
    `<text class="title" x="${(M.left + W - M.right) / 2}" y="24" text-anchor="middle" font-size="15" font-weight="bold">${esc(chart.title)}</text>`,
  );
  // Grid and ticks.
  for (const t of x.ticks) {
    const px = x.at(t).toFixed(1);
    out.push(`<line x1="${px}" y1="${M.top}" x2="${px}" y2="${H - M.bottom}" stroke="#e5e5e5"/>`);
    out.push(
      `<text class="xtick" x="${px}" y="${H - M.bottom + 18}" text-anchor="middle">${esc(formatTick(t, false))}</text>`,
    );
  }
  for (const t of y.ticks) {
    const py = y.at(t).toFixed(1);
    out.push(`<line x1="${M.left}" y1="${py}" x2="${W - M.right}" y2="${py}" stroke="#e5e5e5"/>`);
    out.push(
      `<text class="ytick" x="${M.left - 8}" y="${py}" text-anchor="end" dominant-baseline="middle">${esc(formatTick(t, chart.logY))}</text>`,
    );
  }
  out.push(
    `<rect x="${M.left}" y="${M.top}" width="${W - M.left - M.right}" height="${H - M.top - M.bottom}" fill="none" stroke="#333333"/>`,
  );
  out.push(
    `<text class="xlabel" x="${(M.left + W - M.right) / 2}" y="${H - 16}" text-anchor="middle" font-size="13">${esc(chart.xLabel)}</text>`,
  );
  out.push(
    `<text class="ylabel" x="18" y="${(M.top + H - M.bottom) / 2}" text-anchor="middle" font-size="13" transform="rotate(-90 18 ${(M.top + H - M.bottom) / 2})">${esc(chart.yLabel)}${chart.logY ? ' (log)' : ''}</text>`,
  );
  chart.series.forEach((s, i) => {
    const color = palette[i % palette.length]!;
    const pts = s.points.map(([px, py]) => `${x.at(px).toFixed(1)},${y.at(py).toFixed(1)}`).join(' ');
    out.push(
      `<polyline class="series" data-name="${esc(s.name)}" data-points="${s.points.length}" points="${pts}" fill="none" stroke="${color}" stroke-width="2"/>`,
    );
    if (s.points.length <= 40)
      for (const [px, py] of s.points)
        out.push(`<circle cx="${x.at(px).toFixed(1)}" cy="${y.at(py).toFixed(1)}" r="3" fill="${color}"/>`);
    const ly = M.top + 10 + i * 20;
    out.push(
      `<line x1="${W - M.right + 14}" y1="${ly}" x2="${W - M.right + 38}" y2="${ly}" stroke="${color}" stroke-width="3"/>`,
    );
    out.push(`<text class="legend" x="${W - M.right + 44}" y="${ly}" dominant-baseline="middle">${esc(s.name)}</text>`);
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}

/** PNG through resvg (Rust, prebuilt per platform in the npm package: nothing downloaded at run time). */
export async function renderPng(svg: string): Promise<Buffer> {
  const { Resvg } = await import('@resvg/resvg-js');
  const resvg = new Resvg(svg, {
    background: '#ffffff',
    fitTo: { mode: 'width', value: 1600 },
    font: { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans' },
  });
  return Buffer.from(resvg.render().asPng());
}
