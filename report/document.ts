/**
 * A report as a list of blocks, written once and drawn twice: as Markdown (toMarkdown, report/markdown.ts) and as
 * HTML (toHtml, report/html.ts). The sections (report/sections.ts) say what a report shows; the renderers only say
 * how, and escape every piece of text from the sweep on the way out. Pure.
 */
import { htmlEscape as h, mdCell, mdCode, mdFence, mdInline } from './format.js';
import type { Table } from './tables.js';

/** Inline text: plain words, a code span (ids, paths, images) or strong words; a list of them runs on. */
export type Inline = string | { code: string } | { strong: string };
export type Text = Inline | readonly Inline[];

export type Block =
  | { kind: 'heading'; level: 1 | 2 | 3; text: Text }
  | { kind: 'paragraph'; text: Text }
  /** A warning that goes above everything (the simulated device). */
  | { kind: 'notice'; text: string }
  /** Label: value pairs; `summary` ones are the report's head (a definition list in HTML). */
  | { kind: 'fields'; items: readonly (readonly [label: string, value: Text])[]; summary?: boolean }
  | { kind: 'list'; items: readonly Text[] }
  | { kind: 'table'; table: Table }
  /** A chart by its id, where the renderer has it (report/charts.ts); nothing where it has not. */
  | { kind: 'chart'; id: string }
  /** Links to the charts (HTML); Markdown shows its charts in place only. */
  | { kind: 'chart-index' }
  | { kind: 'code'; text: string; lang: string };

const inlines = (t: Text): readonly Inline[] => (Array.isArray(t) ? t : [t as Inline]);

function md(t: Text): string {
  return inlines(t)
    .map((x) => (typeof x === 'string' ? mdInline(x) : 'code' in x ? mdCode(x.code) : `**${mdInline(x.strong)}**`))
    .join('');
}

function html(t: Text): string {
  return inlines(t)
    .map((x) => (typeof x === 'string' ? h(x) : 'code' in x ? `<code>${h(x.code)}</code>` : `<b>${h(x.strong)}</b>`))
    .join('');
}

export function markdownTable(table: Table): string {
  const line = (cells: string[]): string => `| ${cells.map(mdCell).join(' | ')} |`;
  return [line(table.headers), `|${table.headers.map(() => '---').join('|')}|`, ...table.rows.map(line)].join('\n');
}

export function htmlTable(table: Table): string {
  const head = `<tr>${table.headers.map((x) => `<th>${h(x)}</th>`).join('')}</tr>`;
  const body = table.rows.map(
    (row, i) => `<tr${i === table.bestRow ? ' class="best"' : ''}>${row.map((x) => `<td>${h(x)}</td>`).join('')}</tr>`,
  );
  return `<table><thead>${head}</thead><tbody>${body.join('')}</tbody></table>`;
}

/** Markdown, a blank line after each block; `image` gives a chart's lines (none when it was not written). */
export function toMarkdown(blocks: readonly Block[], image: (id: string) => string[] = () => []): string {
  const out: string[] = [];
  for (const b of blocks) {
    const lines = markdownBlock(b, image);
    if (lines.length > 0) out.push(...lines, '');
  }
  return `${out.join('\n').replace(/\n+$/, '')}\n`;
}

function markdownBlock(b: Block, image: (id: string) => string[]): string[] {
  switch (b.kind) {
    case 'heading':
      return [`${'#'.repeat(b.level)} ${md(b.text)}`];
    case 'paragraph':
      return [md(b.text)];
    case 'notice':
      return [`> **⚠ ${mdInline(b.text)}**`];
    case 'fields':
      return b.items.map(([label, value]) => `- **${label}:** ${md(value)}`);
    case 'list':
      return b.items.map((item) => `- ${md(item)}`);
    case 'table':
      return [markdownTable(b.table)];
    case 'chart':
      return image(b.id);
    case 'chart-index':
      return [];
    case 'code':
      return [mdFence(b.text, b.lang)];
  }
}

/** HTML elements, one block a line; `chart` gives a chart's figure ('' when there is none). */
export function toHtml(
  blocks: readonly Block[],
  chart: (id: string) => string,
  charts: readonly { id: string; title: string }[] = [],
): string[] {
  return blocks.map((b) => htmlBlock(b, chart, charts)).filter((x) => x !== '');
}

const htmlList = (items: readonly string[]): string =>
  ['<ul>', ...items.map((x) => `<li>${x}</li>`), '</ul>'].join('\n');

function htmlBlock(b: Block, chart: (id: string) => string, charts: readonly { id: string; title: string }[]): string {
  switch (b.kind) {
    case 'heading':
      return `<h${b.level}>${html(b.text)}</h${b.level}>`;
    case 'paragraph':
      return `<p>${html(b.text)}</p>`;
    case 'notice':
      return `<p class="simulated">⚠ ${h(b.text)}</p>`;
    case 'fields':
      return b.summary
        ? `<dl class="summary">${b.items.map(([k, v]) => `<dt>${h(k)}</dt><dd>${html(v)}</dd>`).join('')}</dl>`
        : htmlList(b.items.map(([k, v]) => `<b>${h(k)}:</b> ${html(v)}`));
    case 'list':
      return htmlList(b.items.map(html));
    case 'table':
      return htmlTable(b.table);
    case 'chart':
      return chart(b.id);
    case 'chart-index': {
      if (charts.length === 0) return '';
      const links = charts.map((c) => `<a href="#chart-${h(c.id)}">${h(c.title)}</a>`);
      return `<nav class="charts"><b>Charts:</b> ${links.join(' ')}</nav>`;
    }
    case 'code':
      return `<pre>${h(b.text)}</pre>`;
  }
}

// Constructors, so that sections read as what they show.
export const heading = (level: 1 | 2 | 3, text: Text): Block => ({ kind: 'heading', level, text });
export const paragraph = (text: Text): Block => ({ kind: 'paragraph', text });
export const table = (t: Table): Block => ({ kind: 'table', table: t });
export const chart = (id: string): Block => ({ kind: 'chart', id });
export const list = (items: readonly Text[]): Block => ({ kind: 'list', items });
