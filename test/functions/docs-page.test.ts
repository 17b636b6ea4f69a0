/** The API reference page as a browser renders it: headless Chromium against the development host. */
import type { Browser } from 'puppeteer-core';
import { type RunningDevHost, startDevHost } from '../../simulator/dev-host';
import { launchChromium, openReference } from '../../simulator/reference-browser';
import { PATHS } from '../support/openapi';
import { registeredHttpFunctions } from '../support/registration';

describe('GET /api/docs in Chromium', () => {
  let host: RunningDevHost;
  let browser: Browser;
  beforeAll(async () => {
    host = await startDevHost({ functions: registeredHttpFunctions(), port: 0, log: () => undefined });
    browser = await launchChromium();
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await host?.close();
  });

  it('lists every documented operation, loading nothing the page policy refuses', async () => {
    const { page, operations, refused } = await openReference(browser, host.baseUrl);
    const documented = Object.entries(PATHS).flatMap(([path, item]) =>
      Object.keys(item)
        .filter((method) => !method.startsWith('x-'))
        .map((method) => `${method.toUpperCase()} ${path}`),
    );
    expect(operations.sort()).toEqual(documented.sort());
    expect(refused).toEqual([]);
    // The tags group the operations; no "Try it out" button: the page cannot call the API.
    const tags = await page.$$eval('.opblock-tag', (items) => items.map((i) => i.getAttribute('data-tag')));
    expect(tags.sort()).toEqual(['alerts', 'health', 'manual', 'register']);
    await page.click('.opblock-summary-path[data-path="/api/isolate"]');
    await page.waitForSelector('.opblock-body');
    expect(await page.$('.try-out__btn')).toBeNull();
  }, 60_000);
});
