/**
 * Inline SVG bar charts for the HTML report: no scripts, no external assets, every string escaped. Pure.
 */
import { fmt2, htmlEscape } from './format.js';

export interface Bar {
  label: string;
  /** null: the row has no measurement; the note says why. */
  value: number | null;
  note?: string;
  highlight?: boolean;
}

export interface BarChartSpec {
  title: string;
  unit: string;
  bars: Bar[];
}

const BAR_AREA = 340;
const VALUE_W = 90;
const ROW_H = 22;
const TOP = 28;
/** Rough advance of a 12 px system-ui glyph; the label column grows with the longest label (within bounds). */
const CHAR_W = 7;

/** A horizontal bar chart, one bar per row, scaled to the largest value. */
export function barChartSvg(spec: BarChartSpec): string {
  const max = Math.max(0, ...spec.bars.map((b) => (b.value !== null && Number.isFinite(b.value) ? b.value : 0)));
  const scale = max > 0 ? BAR_AREA / max : 0;
  const labelW = Math.min(480, Math.max(120, 16 + CHAR_W * Math.max(0, ...spec.bars.map((b) => [...b.label].length))));
  const width = labelW + BAR_AREA + VALUE_W;
  const height = TOP + spec.bars.length * ROW_H + 8;
  const rows = spec.bars.map((bar, i) => {
    const y = TOP + i * ROW_H;
    const label = `<text x="${labelW - 8}" y="${y + 15}" text-anchor="end">${htmlEscape(bar.label)}</text>`;
    if (bar.value === null || !Number.isFinite(bar.value)) {
      return `${label}<text x="${labelW}" y="${y + 15}" class="note">${htmlEscape(bar.note ?? 'no data')}</text>`;
    }
    const w = Math.max(1, bar.value * scale);
    return (
      `${label}<rect x="${labelW}" y="${y + 3}" width="${w.toFixed(1)}" height="${ROW_H - 6}" class="${bar.highlight ? 'bar best' : 'bar'}"/>` +
      `<text x="${(labelW + w + 6).toFixed(1)}" y="${y + 15}">${htmlEscape(fmt2(bar.value))}</text>`
    );
  });
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">` +
    `<title>${htmlEscape(`${spec.title} (${spec.unit})`)}</title>` +
    `<text x="0" y="16" class="title">${htmlEscape(`${spec.title} (${spec.unit})`)}</text>` +
    rows.join('') +
    '</svg>'
  );
}
