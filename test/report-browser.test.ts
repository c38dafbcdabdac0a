/**
 * The HTML report in a real browser: headless Chromium (Debian's `chromium`, driven by playwright-core) opens the
 * report of a sweep that varies power, clocks, model and scenario, and every chart must render (an SVG with a size
 * and drawn marks), with no console error and no request beyond the file itself. Skipped, saying why, only where
 * no Chromium is installed (.ci/run installs it).
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';
import { buildComparison, renderComparisonHtml, renderHtmlReport } from '../report/index.js';
import { chromiumPath } from './helpers/chromium.js';
import { fullMatrixSweep } from './helpers/report-sweeps.js';
import { tempDir } from './helpers/files.js';

interface ChartCheck {
  id: string;
  width: number;
  height: number;
  /** Drawn items inside Vega's mark groups (bars, points, lines, rules, labels). */
  marks: number;
}

async function openInChromium(executablePath: string, file: string) {
  const browser = await chromium.launch({ executablePath, args: ['--no-sandbox', '--disable-gpu'] });
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const problems: string[] = [];
    const requests: string[] = [];
    page.on('console', (msg) => {
      if (msg.type() === 'error' || msg.type() === 'warning') problems.push(`console ${msg.type()}: ${msg.text()}`);
    });
    page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
    page.on('request', (req) => requests.push(req.url()));
    await page.goto(pathToFileURL(file).href, { waitUntil: 'load' });
    const charts: ChartCheck[] = await page.$$eval('figure.chart', (figures) =>
      figures.map((f) => {
        const svg = f.querySelector('svg');
        const box = svg?.getBoundingClientRect();
        const marks = svg
          ? svg.querySelectorAll('g.role-mark > path, g.role-mark > line, g.role-mark > text, g.role-mark > rect')
              .length
          : 0;
        return { id: f.getAttribute('data-chart') ?? '?', width: box?.width ?? 0, height: box?.height ?? 0, marks };
      }),
    );
    return { charts, problems, requests };
  } finally {
    await browser.close();
  }
}

describe('the HTML report in headless Chromium', { timeout: 120_000 }, () => {
  const exe = chromiumPath();
  const skip =
    exe === null
      ? 'Chromium is not installed (apt-get install -y chromium, as .ci/run does; or set THORBENCH_CHROMIUM)'
      : false;

  it('renders every chart, with no console error and no network request', { skip }, async () => {
    const dir = tempDir('browser');
    const file = path.join(dir, 'report.html');
    const { sweep, cells } = fullMatrixSweep();
    writeFileSync(file, await renderHtmlReport({ sweep, cells }));
    const { charts, problems, requests } = await openInChromium(exe!, file);
    assert.deepEqual(
      charts.map((c) => c.id),
      [
        'throughput',
        'ttft',
        'tpot',
        'power-clocks',
        'tradeoff',
        'energy',
        'latency-distributions',
        'pareto-high-load',
        'pareto-low-load',
        'timeline',
      ],
    );
    for (const c of charts) {
      assert.ok(c.width > 200 && c.height > 100, `${c.id} has a size: ${c.width}×${c.height}`);
      assert.ok(c.marks >= 10, `${c.id} draws marks: ${c.marks}`);
    }
    assert.deepEqual(problems, []);
    assert.deepEqual(requests, [pathToFileURL(file).href], 'the page loads nothing but itself');
  });

  it('renders the comparison page the same way', { skip }, async () => {
    const dir = tempDir('browser-compare');
    const file = path.join(dir, 'compare.html');
    const { sweep, cells } = fullMatrixSweep();
    const slower = cells.map((c) =>
      c.metrics ? { ...c, metrics: { ...c.metrics, output_throughput: c.metrics.output_throughput * 0.9 } } : c,
    );
    writeFileSync(
      file,
      await renderComparisonHtml(
        buildComparison({ sweep, cells }, { sweep: { ...sweep, sweepId: 'b' }, cells: slower }),
      ),
    );
    const { charts, problems, requests } = await openInChromium(exe!, file);
    assert.deepEqual(
      charts.map((c) => c.id),
      ['compare'],
    );
    assert.ok(charts[0]!.marks >= 10);
    assert.deepEqual(problems, []);
    assert.equal(requests.length, 1);
  });
});
