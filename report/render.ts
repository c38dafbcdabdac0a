/**
 * Draws the report's Vega-Lite charts to SVG, in Node, at report time: Vega-Lite compiles each spec to Vega, and
 * Vega's headless view (renderer "none") writes the SVG. Offline by construction: every chart carries its data
 * inline, and the view gets a loader that refuses any URL or file, so no spec can make the report reach the network.
 * Text widths are estimated by Vega (no canvas package), which keeps the output identical on every machine.
 */
import * as vega from 'vega';
import { compile } from 'vega-lite';
import type { ChartSpec } from './charts.js';

export interface RenderedChart {
  id: string;
  title: string;
  description: string;
  svg: string;
}

/**
 * A Vega loader that loads nothing and remembers what it was asked for (Vega logs a failed data load and draws on,
 * so the renderer checks the list afterwards and fails the chart).
 */
function offlineLoader(refused: string[]): vega.Loader {
  const refuse = (what: string): Promise<never> => {
    refused.push(what);
    return Promise.reject(new Error(`report charts carry their data inline; refusing to load ${what}`));
  };
  return { load: refuse, sanitize: refuse, http: refuse, file: refuse } as unknown as vega.Loader;
}

/** Fonts every browser and Markdown viewer has; nothing is fetched. */
const CONFIG = {
  font: 'Helvetica, Arial, sans-serif',
  background: 'white',
  view: { stroke: '#d0d7de' },
  axis: { labelFontSize: 11, titleFontSize: 11, gridColor: '#eaeef2' },
  legend: { labelFontSize: 11, titleFontSize: 11, labelLimit: 260 },
  title: { fontSize: 15, subtitleFontSize: 11, subtitleColor: '#57606a' },
};

/**
 * Makes the ids inside one SVG unique within a page that holds several (Vega numbers its clip paths from 1 in
 * every SVG, and inline SVGs share one id space).
 */
export function namespaceSvgIds(svg: string, prefix: string): string {
  return svg
    .replace(/\bid="([^"]+)"/g, (_, id: string) => `id="${prefix}-${id}"`)
    .replace(/url\(#([^)]+)\)/g, (_, id: string) => `url(#${prefix}-${id})`)
    .replace(/href="#([^"]+)"/g, (_, id: string) => `href="#${prefix}-${id}"`);
}

/**
 * Vega-Lite's compile warnings (e.g. about unioned domains of layered facets) go nowhere: they describe the
 * compiler's choices, not a problem of the data, and would interleave with the CLI's output.
 */
interface QuietLogger {
  level(): QuietLogger;
  info(): QuietLogger;
  debug(): QuietLogger;
  warn(): QuietLogger;
  error(...args: readonly unknown[]): never;
}
const quietLogger: QuietLogger = {
  level: () => quietLogger,
  info: () => quietLogger,
  debug: () => quietLogger,
  warn: () => quietLogger,
  error: (...args) => {
    throw new Error(`Vega-Lite: ${args.map(String).join(' ')}`);
  },
};

export async function renderChartSvg(chart: ChartSpec): Promise<string> {
  const { spec: vgSpec } = compile(chart.spec, { config: CONFIG, logger: quietLogger as never });
  const refused: string[] = [];
  const view = new vega.View(vega.parse(vgSpec), {
    renderer: 'none',
    loader: offlineLoader(refused),
    logLevel: vega.None,
  });
  try {
    const svg = await view.toSVG();
    if (refused.length > 0)
      throw new Error(
        `chart "${chart.id}": report charts carry their data inline; refusing to load ${refused.join(', ')}`,
      );
    return namespaceSvgIds(svg, `chart-${chart.id}`);
  } finally {
    view.finalize();
  }
}

export async function renderCharts(charts: readonly ChartSpec[]): Promise<RenderedChart[]> {
  const out: RenderedChart[] = [];
  // One at a time: each view holds its scenegraph until finalized.
  for (const chart of charts)
    out.push({ id: chart.id, title: chart.title, description: chart.description, svg: await renderChartSvg(chart) });
  return out;
}
