/**
 * Headless Chromium on the API reference page (GET /api/docs) of a running host: for the test that sees
 * it render and for the guide's screenshot. Chromium comes from Debian (`apt-get install -y chromium`);
 * nothing here downloads a browser.
 */
import { existsSync } from 'node:fs';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM))
    throw new Error(
      `no Chromium at ${CHROMIUM}: install it with apt-get install -y chromium (.ci/run does), or set CHROMIUM_PATH`,
    );
  // --no-sandbox: CI runs as root, where Chromium's sandbox refuses to start.
  return puppeteer.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] });
}

export interface RenderedReference {
  page: Page;
  /** Every operation listed, as "METHOD /path". */
  operations: string[];
  /** What the browser refused or failed to load: Content-Security-Policy violations, failed requests. */
  refused: string[];
}

export async function openReference(browser: Browser, baseUrl: string): Promise<RenderedReference> {
  const page = await browser.newPage();
  await page.setViewport({ width: 1280, height: 900 });
  const refused: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') refused.push(message.text());
  });
  page.on(
    'requestfailed',
    (request) => void refused.push(`${request.url()}: ${request.failure()?.errorText}`),
  );
  await page.goto(`${baseUrl}/api/docs`, { waitUntil: 'networkidle0' });
  await page.waitForSelector('.opblock-summary-path');
  const operations = await page.$$eval('.opblock-summary', (rows) =>
    rows.map(
      (row) =>
        `${row.querySelector('.opblock-summary-method')?.textContent?.trim()} ${row.querySelector('.opblock-summary-path')?.getAttribute('data-path')}`,
    ),
  );
  return { page, operations, refused };
}
