/** A small chart in the terminal: one mark per series, sampled per column, with y ticks and a legend. */
import type { ChalkInstance } from 'chalk';
import type { Chart } from './series.js';
import { formatTick, linearScale, logScale } from './svg-chart.js';

const marks = ['*', 'o', '+', 'x', '#', '@', '%', '&', '=', '~'];
const colors = [
  'blue',
  'red',
  'green',
  'yellow',
  'magenta',
  'cyan',
  'white',
  'gray',
  'blueBright',
  'redBright',
] as const;

export function renderTerminal(chart: Chart, color: ChalkInstance, width = 60, height = 15): string {
  const xs = chart.series.flatMap((s) => s.points.map((p) => p[0]));
  const ys = chart.series.flatMap((s) => s.points.map((p) => p[1]));
  if (xs.length === 0) return `${chart.title}: no points`;
  const x = linearScale(xs, 0, width - 1);
  const y = (chart.logY ? logScale : linearScale)(ys, height - 1, 0);
  const grid: string[][] = Array.from({ length: height }, () => Array.from({ length: width }, () => ' '));
  chart.series.forEach((s, i) => {
    const paint = color[colors[i % colors.length]!];
    for (const [px, py] of s.points) {
      const col = Math.round(x.at(px));
      const row = Math.round(y.at(py));
      if (grid[row]?.[col] !== undefined) grid[row]![col] = paint(marks[i % marks.length]!);
    }
  });
  const label = (row: number) => {
    const t = y.ticks.find((v) => Math.round(y.at(v)) === row);
    return (t === undefined ? '' : formatTick(t, chart.logY)).padStart(9);
  };
  const lines = [`${chart.title}  (${chart.yLabel}${chart.logY ? ', log' : ''} against ${chart.xLabel})`];
  for (let r = 0; r < height; r++) lines.push(`${label(r)} |${grid[r]!.join('')}`);
  lines.push(`${' '.repeat(9)} +${'-'.repeat(width)}`);
  const lo = formatTick(x.min, false);
  const hi = formatTick(x.max, false);
  lines.push(`${' '.repeat(11)}${lo}${' '.repeat(Math.max(1, width - lo.length - hi.length))}${hi}  ${chart.xLabel}`);
  lines.push(
    chart.series.map((s, i) => `${color[colors[i % colors.length]!](marks[i % marks.length]!)} ${s.name}`).join('   '),
  );
  return lines.join('\n');
}
