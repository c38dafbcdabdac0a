import { chromium } from 'playwright-core';
const [,, file, prefix] = process.argv;
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] });
const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
await page.goto('file://' + file);
const figs = await page.$$('figure.chart');
let i = 0;
for (const f of figs) { const id = await f.getAttribute('data-chart'); await f.screenshot({ path: `${prefix}-${i++}-${id}.png` }); }
await browser.close();
