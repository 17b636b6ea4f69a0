/**
 * Renders the Teams card of an escalation (shared/notify/) to docs/images/notification-card.png, with the
 * Adaptive Cards renderer from npm in headless Chromium (Debian's), nothing loaded from the network:
 *   npm run build && node dist/test/tools/card-screenshot.js
 */
import { join } from 'node:path';
import { eventCard } from '../../shared/notify/adaptive-card';
import { present } from '../../shared/notify/presentation';
import { launchChromium } from '../../simulator/reference-browser';

const ROOT = join(__dirname, '..', '..', '..');
const OUT = join(ROOT, 'docs', 'images', 'notification-card.png');
const RENDERER = join(ROOT, 'node_modules', 'adaptivecards', 'dist', 'adaptivecards.min.js');

const card = eventCard(
  present(
    {
      kind: 'escalated',
      at: '2026-03-02T09:14:05.000Z',
      device: { name: 'sql-prod-03.corp.contoso.com', machineId: '7f3c9a1e5b2d4c6a8e0f1a2b3c4d5e6f7a8b9c0d' },
      alert: {
        title: 'Suspicious credential dumping (lsass memory access)',
        severity: 'high',
        alertId: 'da638421904567_-1823456',
        incidentId: '48213',
        incidentArmId: null,
      },
      rule: 'servers-escalate',
      reason: 'a production server: the policy asks a person before isolating it',
      requestId: 'alert:da638421904567_-1823456',
    },
    { portalUrl: 'https://security.microsoft.com' },
  ),
);

async function main(): Promise<void> {
  const browser = await launchChromium();
  try {
    const page = await browser.newPage();
    await page.setViewport({ width: 640, height: 480, deviceScaleFactor: 2 });
    await page.setContent(
      '<html><body style="margin:0;padding:16px;background:#f5f5f5;font-family:Segoe UI,Arial,sans-serif">' +
        '<div id="card" style="width:560px;background:#fff;border-radius:6px;padding:4px;box-shadow:0 1px 3px #0003"></div></body></html>',
    );
    await page.addScriptTag({ path: RENDERER });
    await page.evaluate(
      (json) => {
        const cards = (globalThis as unknown as { AdaptiveCards: Record<string, new () => unknown> })
          .AdaptiveCards;
        const adaptive = new cards.AdaptiveCard() as { parse(card: unknown): void; render(): unknown };
        adaptive.parse(json);
        const page = globalThis as unknown as {
          document: { getElementById(id: string): { appendChild(node: unknown): void } };
        };
        page.document.getElementById('card').appendChild(adaptive.render());
      },
      card as unknown as Record<string, unknown>,
    );
    const element = await page.$('#card');
    if (!element) throw new Error('the card did not render');
    await element.screenshot({ path: OUT as `${string}.png` });
    console.log(`wrote ${OUT}`);
  } finally {
    await browser.close();
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
