/**
 * Takes the guide's picture of the API reference (docs/images/api-reference.png):
 *   npm run build && node dist/simulator/reference-screenshot.js
 * Serves the functions with the development host on a free port and shoots the page in headless Chromium.
 */
import { join } from 'node:path';
import { loadHttpFunctions, startDevHost } from './dev-host';
import { launchChromium, openReference } from './reference-browser';

const OUT = join(__dirname, '..', '..', 'docs', 'images', 'api-reference.png');

async function main(): Promise<void> {
  const host = await startDevHost({ functions: loadHttpFunctions(), port: 0, log: () => undefined });
  const browser = await launchChromium();
  try {
    const { page } = await openReference(browser, host.baseUrl);
    // The manual isolate opened on its named examples: what the page teaches best.
    await page.click('.opblock-summary-path[data-path="/api/isolate"]');
    await page.waitForSelector('#operations-manual-isolate .opblock-section-request-body .examples-select');
    // From the operation's title down to the end of its request body, in page coordinates.
    const [top, bottom] = await page.$eval('#operations-manual-isolate', (block) => {
      const body = block.querySelector('.opblock-section-request-body') ?? block;
      return [block, body].map((element, index) => {
        const box = element.getBoundingClientRect();
        return (index === 0 ? box.top : box.bottom) + (globalThis as unknown as { scrollY: number }).scrollY;
      });
    });
    await page.screenshot({
      path: OUT as `${string}.png`,
      clip: { x: 0, y: top - 8, width: 1280, height: bottom - top + 24 },
    });
    console.log(`wrote ${OUT}`);
  } finally {
    await browser.close();
    await host.close();
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
