// usage: node /tmp/rui-shot.mjs file.html out.png [width]
import { chromium } from 'playwright-core';
const [,, file, outPng, width] = process.argv;
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] });
const page = await browser.newPage({ viewport: { width: Number(width ?? 1200), height: 900 } });
await page.goto('file://' + file);
await page.screenshot({ path: outPng, fullPage: true });
await browser.close();
