/**
 * Charts with axes, legends and titles: Vega-Lite specifications rendered to SVG by Vega and to
 * PNG by resvg. All three load lazily, on the first chart.
 */
import { argError, DlvmError } from '../errors.js';

/** One point of a scatter chart. */
export interface ScatterPoint {
  x: number;
  y: number;
  /** Colour group (a label, a tag). */
  group?: string | number;
  /** Panel, for side-by-side charts. */
  panel?: string;
}

/** Text options shared by the charts. */
export interface ChartText {
  title?: string;
  xTitle?: string;
  yTitle?: string;
  /** Title of the colour legend. */
  legendTitle?: string;
  /** Width and height of one panel in CSS pixels (default 360). */
  size?: number;
  /** Output pixels per CSS pixel (default 2). */
  zoom?: number;
}

const FONT = 'DejaVu Sans, Liberation Sans, Arial, Helvetica, sans-serif';

/** The categorical palette (Vega's tableau10); tests look for these colours. */
export const PALETTE = ['#4c78a8', '#f58518', '#e45756', '#72b7b2', '#54a24b', '#eeca3b', '#b279a2', '#ff9da6', '#9d755d', '#bab0ac'];

/** A title above side-by-side panels, centred and clear of the panels' own titles. */
function panelTitle(title: string | undefined): Record<string, unknown> | undefined {
  return title === undefined ? undefined : { text: title, anchor: 'middle', offset: 14, fontSize: 15 };
}

/** Renders a Vega-Lite spec to PNG bytes. */
export async function renderVegaLite(spec: Record<string, unknown>, zoom = 2): Promise<Uint8Array> {
  const vl = await import('vega-lite');
  const vega = await import('vega');
  const { Resvg } = (await import('@resvg/resvg-js')) as Partial<typeof import('@resvg/resvg-js')>;
  if (typeof Resvg !== 'function') {
    throw new DlvmError('renderVegaLite: charts are rendered to PNG in Node (resvg); in a browser, render the Vega-Lite specification with vega-embed.');
  }
  const compiled = vl.compile({
    ...spec,
    config: {
      font: FONT,
      background: 'white',
      range: { category: PALETTE },
      ...(spec['config'] as object | undefined),
    },
  } as never).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none' });
  const svg = await view.toSVG();
  view.finalize();
  const png = new Resvg(svg, {
    background: 'white',
    fitTo: { mode: 'zoom', value: zoom },
    font: { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans' },
  })
    .render()
    .asPng();
  return new Uint8Array(png);
}

/**
 * Scatter chart of points coloured by `group`; one panel per distinct `panel` value, side by side
 * (each with its own axes).
 */
export async function scatterChart(points: ScatterPoint[], text: ChartText = {}): Promise<Uint8Array> {
  if (!Array.isArray(points) || points.length === 0) throw argError('scatterChart', 'points', 'a non-empty array of { x, y, group? }', points);
  const size = text.size ?? 360;
  const panels = [...new Set(points.map((p) => p.panel ?? ''))];
  const grouped = points.some((p) => p.group !== undefined);
  const layer = (panel: string) => ({
    width: size,
    height: size,
    ...(panel ? { title: panel } : {}),
    transform: panel ? [{ filter: { field: 'panel', equal: panel } }] : [],
    mark: { type: 'circle', size: 14, opacity: 1 },
    encoding: {
      x: { field: 'x', type: 'quantitative', title: text.xTitle ?? 'x', scale: { zero: false } },
      y: { field: 'y', type: 'quantitative', title: text.yTitle ?? 'y', scale: { zero: false } },
      ...(grouped ? { color: { field: 'group', type: 'nominal', title: text.legendTitle ?? 'group', sort: 'ascending' } } : {}),
    },
  });
  const data = { values: points.map((p) => ({ x: p.x, y: p.y, group: p.group === undefined ? undefined : String(p.group), panel: p.panel ?? '' })) };
  const spec =
    panels.length === 1
      ? { title: text.title, data, ...layer(panels[0]!) }
      : { title: panelTitle(text.title), data, hconcat: panels.map(layer), resolve: { scale: { x: 'independent', y: 'independent' } } };
  return renderVegaLite(spec, text.zoom);
}

/** One point of a line chart. */
export interface LinePoint {
  x: number;
  y: number;
  /** Line (colour), e.g. 'train' or 'validation'. */
  series: string;
  /** Panel, e.g. 'ELBO'. */
  panel?: string;
}

/** Line chart: one line per series, one panel per distinct `panel` (independent y axes). */
export async function lineChart(points: LinePoint[], text: ChartText = {}): Promise<Uint8Array> {
  if (!Array.isArray(points) || points.length === 0) throw argError('lineChart', 'points', 'a non-empty array of { x, y, series }', points);
  const size = text.size ?? 300;
  const panels = [...new Set(points.map((p) => p.panel ?? ''))];
  const layer = (panel: string) => ({
    width: size,
    height: Math.round(size * 0.7),
    ...(panel ? { title: panel } : {}),
    transform: panel ? [{ filter: { field: 'panel', equal: panel } }] : [],
    mark: { type: 'line', point: points.length < 60, strokeWidth: 2 },
    encoding: {
      x: { field: 'x', type: 'quantitative', title: text.xTitle ?? 'step' },
      y: { field: 'y', type: 'quantitative', title: panel || text.yTitle || 'value', scale: { zero: false } },
      color: { field: 'series', type: 'nominal', title: text.legendTitle ?? 'data' },
    },
  });
  const data = { values: points.map((p) => ({ ...p, panel: p.panel ?? '' })) };
  const spec =
    panels.length === 1
      ? { title: text.title, data, ...layer(panels[0]!) }
      : { title: panelTitle(text.title), data, hconcat: panels.map(layer), resolve: { scale: { y: 'independent' } } };
  return renderVegaLite(spec, text.zoom);
}
