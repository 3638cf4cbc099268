import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { Resvg } from '@resvg/resvg-js';
import * as vega from 'vega';
import * as vl from 'vega-lite';
import type { TopLevelSpec } from 'vega-lite';

/**
 * A vega-lite spec to SVG and PNG, the same bytes on every machine: vega renders the SVG headless
 * (renderer 'none'; text widths from vega's own estimate, not from whatever fonts a host has), and
 * resvg rasterizes it with DejaVu Sans from the dejavu-fonts-ttf package only (system fonts are not
 * loaded). Labels are therefore drawn in the font the layout was
 * planned for, wherever the report is built.
 */

export const CHART_FONT = 'DejaVu Sans';
/** PNG pixels per SVG unit: 2 gives sharp charts on high-density screens and in slides. */
export const PNG_SCALE = 2;

const require = createRequire(import.meta.url);
const FONT_DIR = join(dirname(require.resolve('dejavu-fonts-ttf/package.json')), 'ttf');
/** Regular for labels, Bold for titles (vega draws titles bold). */
export const FONT_FILES = [join(FONT_DIR, 'DejaVuSans.ttf'), join(FONT_DIR, 'DejaVuSans-Bold.ttf')];

export interface RenderedChart {
  svg: string;
  png: Uint8Array;
}

/** Puts the chart font in the spec's config unless the spec sets one itself. */
function withFont(spec: TopLevelSpec): TopLevelSpec {
  const config = { ...(spec.config ?? {}) };
  if (config.font === undefined) config.font = CHART_FONT;
  return { ...spec, config } as TopLevelSpec;
}

/**
 * vega measures text with node-canvas when that optional package can be imported, and estimates
 * from the font size otherwise (vega-scenegraph's textMetrics). Always estimate: a host that happens
 * to have `canvas` installed must not lay the same chart out differently.
 */
function useEstimatedTextWidths(): void {
  const metrics = (vega as unknown as { textMetrics?: { canvas?: (use: boolean) => void } }).textMetrics;
  metrics?.canvas?.(false);
}

/** Compiles a vega-lite spec and renders it to SVG text and PNG bytes. */
export async function renderChart(spec: TopLevelSpec): Promise<RenderedChart> {
  useEstimatedTextWidths();
  const compiled = vl.compile(withFont(spec)).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none' });
  let svg: string;
  try {
    svg = await view.toSVG();
  } finally {
    view.finalize();
  }
  return { svg, png: svgToPng(svg) };
}

export function svgToPng(svg: string, scale = PNG_SCALE): Uint8Array {
  const resvg = new Resvg(svg, {
    fitTo: { mode: 'zoom', value: scale },
    font: { fontFiles: FONT_FILES, loadSystemFonts: false, defaultFontFamily: CHART_FONT },
  });
  return new Uint8Array(resvg.render().asPng());
}
