// Reading a chart SVG written by src/plot/svg-chart.ts, so tests check its content.
/** The series drawn in an SVG: name and point count of each polyline, and its coordinates. */
export function svgSeries(svg: string): { name: string; points: number; coords: [number, number][] }[] {
  return [...svg.matchAll(/<polyline class="series" data-name="([^"]*)" data-points="(\d+)" points="([^"]*)"/g)].map(
    (m) => ({
      name: m[1]!,
      points: Number(m[2]),
      coords: m[3]!.split(' ').map((p) => p.split(',').map(Number) as [number, number]),
    }),
  );
}
