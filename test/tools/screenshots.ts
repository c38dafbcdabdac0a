/**
 * Screenshots for the README (docs/*.png): the HTML report of a sweep in the results database and the Temporal Web
 * UI's page of that sweep, taken with headless Chromium. Not a test; run after a sweep (e.g. `npm run demo`):
 *
 *   npm run build && node dist/test/tools/screenshots.js <sweep-id> [--ui http://localhost:8233] [--out docs]
 *
 * THORBENCH_RESULTS selects the results database as for the CLI; THORBENCH_CHROMIUM the browser.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';
import { cliEnv } from '../../cli/context.js';
import { loadRequestSamples } from '../../cli/report-samples.js';
import { renderHtmlReport } from '../../report/index.js';
import { openResultsStore } from '../../store/store.js';
import { chromiumPath } from '../helpers/chromium.js';

const { values, positionals } = parseArgs({
  options: { ui: { type: 'string' }, out: { type: 'string' } },
  allowPositionals: true,
});
const sweepId = positionals[0];
if (!sweepId) throw new Error('usage: screenshots.js <sweep-id> [--ui URL] [--out DIR]');
const outDir = path.resolve(values.out ?? 'docs');
mkdirSync(outDir, { recursive: true });
const env = cliEnv();
const exe = chromiumPath();
if (!exe) throw new Error('no Chromium: apt-get install -y chromium, or set THORBENCH_CHROMIUM');

const store = await openResultsStore(env.dbFile);
const sweep = await store.getSweep(sweepId);
if (!sweep) throw new Error(`no sweep ${sweepId} in ${env.dbFile}`);
const cells = await store.listCells(sweepId);
const samples = await loadRequestSamples(store, cells);
await store.close();
const htmlFile = path.join(os.tmpdir(), `thorbench-${sweepId}-report.html`);
writeFileSync(htmlFile, await renderHtmlReport({ sweep, cells, samples }));

const browser = await chromium.launch({ executablePath: exe, args: ['--no-sandbox', '--disable-gpu'] });
try {
  const page = await browser.newPage({ viewport: { width: 1180, height: 900 }, deviceScaleFactor: 1 });
  await page.goto(pathToFileURL(htmlFile).href);
  // The top of the report down to the throughput chart: summary, tables, first chart (the page is many screens long).
  const box = await page
    .$eval('#chart-throughput', (f) => f.getBoundingClientRect().bottom + window.scrollY)
    .catch(() => 1600);
  await page.screenshot({
    path: path.join(outDir, 'report.png'),
    fullPage: true,
    clip: { x: 0, y: 0, width: 1180, height: Math.ceil(box) + 16 },
  });
  for (const id of ['tradeoff', 'power-clocks', 'timeline']) {
    const figure = await page.$(`#chart-${id}`);
    if (figure) await figure.screenshot({ path: path.join(outDir, `report-${id}.png`) });
  }
  console.log(`wrote ${outDir}/report.png and chart screenshots (report: ${htmlFile})`);
  if (values.ui) {
    const ui = await browser.newPage({ viewport: { width: 1440, height: 1250 }, deviceScaleFactor: 1 });
    await ui.goto(`${values.ui}/namespaces/${env.namespace}/workflows/${encodeURIComponent(sweepId)}`, {
      waitUntil: 'networkidle',
    });
    await ui.waitForTimeout(1500);
    await ui.screenshot({ path: path.join(outDir, 'web-ui-sweep.png') });
    console.log(`wrote ${outDir}/web-ui-sweep.png`);
  }
} finally {
  await browser.close();
}
