/**
 * The approval page as a person uses it: headless Chromium opens it on the development host (the
 * approval functions as registered, over loopback), as a signed-in approver (the principal header App
 * Service authentication would add), writes a reason, clicks Approve, and the isolation reaches the
 * simulator. The page loads nothing else and runs no script.
 */
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'puppeteer-core';
import { APPROVAL_FUNCTIONS } from '../../functions/approvals';
import { closeRuntime, installRuntime } from '../../shared/runtime';
import { type RunningDevHost, startDevHost } from '../../simulator/dev-host';
import { launchChromium } from '../../simulator/reference-browser';
import { type Harness, postsOn, startHarness, TEST_POLICY, until } from '../integration/harness';
import { mdeAlert } from '../support/alert-payloads';

const POLICY = {
  ...TEST_POLICY,
  rules: [
    {
      name: 'ransomware-needs-approval',
      minSeverity: 'high',
      action: 'isolate',
      approval: { expiresAfter: '30m', onExpiry: 'escalate' },
    },
  ],
};

/** What App Service authentication puts in x-ms-client-principal for a signed-in approver. */
function principalHeader(name: string, roles: string[]): string {
  const claims = [
    { typ: 'name', val: name },
    {
      typ: 'http://schemas.microsoft.com/identity/claims/objectidentifier',
      val: '7e57a9b1-0000-4000-8000-00000000a001',
    },
    ...roles.map((val) => ({ typ: 'roles', val })),
  ];
  return Buffer.from(
    JSON.stringify({ auth_typ: 'aad', name_typ: 'name', role_typ: 'roles', claims }),
  ).toString('base64');
}

describe('the approval page in Chromium', () => {
  let h: Harness;
  let host: RunningDevHost;
  let browser: Browser;
  beforeAll(async () => {
    h = await startHarness({ policy: POLICY, env: { MANUAL_EASY_AUTH: 'on' } });
    installRuntime(h.runtime);
    host = await startDevHost({
      functions: Object.entries(APPROVAL_FUNCTIONS).map(([name, fn]) => ({
        name,
        ...fn,
        methods: [...fn.methods],
      })),
      port: 0,
      log: () => undefined,
    });
    browser = await launchChromium();
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await host?.close();
    await closeRuntime();
    await h?.sim.close();
  });

  /** An alert the policy holds: answers the approval id and the machine. */
  const held = async (name: string) => {
    const machineId = h.machineId(name);
    const intake = await h.submit(mdeAlert({ machineId }));
    const [accepted] = intake.alerts;
    if (accepted?.status !== 'accepted') throw new Error('alert refused');
    const requestId = accepted.requests[0]?.requestId as string;
    await until(() => h.outcomes.some((o) => o.requestId === requestId), 'the hold');
    const outcome = h.outcomes.find((o) => o.requestId === requestId);
    expect(outcome?.outcome).toBe('awaiting-approval');
    return { machineId, approvalId: outcome?.approvalId as string };
  };

  /** A tab signed in as `name`, collecting whatever the browser refused or failed to load. */
  const openAs = async (name: string, roles: string[], url: string) => {
    const page: Page = await browser.newPage();
    await page.setViewport({ width: 900, height: 900 });
    await page.setJavaScriptEnabled(false);
    await page.setExtraHTTPHeaders({ 'x-ms-client-principal': principalHeader(name, roles) });
    const refused: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error') refused.push(m.text());
    });
    page.on('requestfailed', (r) => void refused.push(`${r.url()}: ${r.failure()?.errorText}`));
    const response = await page.goto(url, { waitUntil: 'load' });
    return { page, refused, status: response?.status() };
  };

  it('shows what is asked and why, and Approve posts the isolation to MDE', async () => {
    const { machineId, approvalId } = await held('ws-hr-02.contoso.local');
    const { page, refused, status } = await openAs(
      'Dana Approver',
      ['Isolation.Approver'],
      `${host.baseUrl}/api/approvals/${approvalId}/page`,
    );
    expect(status).toBe(200);
    const text = await page.$eval('main', (m) => m.textContent ?? '');
    expect(text).toContain('Isolate ws-hr-02.contoso.local?');
    expect(text).toContain('ransomware-needs-approval');
    expect(await page.$$eval('a', (links) => links.map((a) => a.getAttribute('href')))).toContain(
      `https://security.microsoft.com/machines/v2/${machineId}/overview`,
    );
    await page.screenshot({ path: join(tmpdir(), 'approval-page.png') as `${string}.png`, fullPage: true });

    await page.type('#reason', 'IR-1042: encryption seen on the file share');
    await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), page.click('button[value=approve]')]);
    expect(await page.$eval('main', (m) => m.textContent ?? '')).toContain('Approved.');
    expect(refused).toEqual([]);

    await until(() => h.outcomes.some((o) => o.requestId === approvalId), 'the approved isolation');
    expect(h.outcomes.find((o) => o.requestId === approvalId)).toMatchObject({
      outcome: 'succeeded',
      approval: {
        votes: [
          {
            by: expect.stringContaining('Dana Approver'),
            reason: 'IR-1042: encryption seen on the file share',
          },
        ],
      },
    });
    expect(postsOn(h, machineId, 'isolate')).toHaveLength(1);
    await page.close();
  }, 60_000);

  it('lists approvals and takes a deny as JSON over the keyed API, for the approver role only', async () => {
    const { machineId, approvalId } = await held('web10.contoso.local');
    const as = (roles: string[]) => ({
      'x-functions-key': host.key,
      'x-ms-client-principal': principalHeader('Dana Approver', roles),
      'content-type': 'application/json',
    });
    const approver = as(['Isolation.Approver']);
    const list = await fetch(`${host.baseUrl}/api/approvals?state=pending`, { headers: approver });
    expect(list.status).toBe(200);
    const { items } = (await list.json()) as { items: Record<string, unknown>[] };
    const item = items.find((i) => i.id === approvalId);
    expect(item).toMatchObject({ state: 'pending', machineId, askedBy: 'ransomware-needs-approval' });
    // The held message and the page key are the app's own.
    expect(item).not.toHaveProperty('request');
    expect(item).not.toHaveProperty('pageKey');

    const deny = (id: string, body: unknown, headers = approver) =>
      fetch(`${host.baseUrl}/api/approvals/${id}/deny`, {
        method: 'POST',
        headers,
        body: JSON.stringify(body),
      });
    expect((await deny(approvalId, { reason: 'no' }, as(['Isolation.Operator']))).status).toBe(403);
    const noReason = await deny(approvalId, {});
    expect([noReason.status, await noReason.json()]).toEqual([
      400,
      { error: expect.objectContaining({ code: 'invalid-order', path: '$.reason' }) },
    ]);
    expect((await deny('not-a-guid', { reason: 'no' })).status).toBe(400);
    const denied = await deny(approvalId, { reason: 'false positive: backup job' });
    expect([denied.status, await denied.json()]).toEqual([
      200,
      expect.objectContaining({ status: 'denied', approval: expect.objectContaining({ state: 'denied' }) }),
    ]);
    const again = await deny(approvalId, { reason: 'twice' });
    expect([again.status, ((await again.json()) as { error: { code: string } }).error.code]).toEqual([
      409,
      'already-decided',
    ]);
    expect(postsOn(h, machineId, 'isolate')).toEqual([]);
  }, 60_000);

  it('refuses a caller without the approver role, and a form sent from another site', async () => {
    const { machineId, approvalId } = await held('web1.contoso.local');
    const url = `${host.baseUrl}/api/approvals/${approvalId}/page`;
    const operator = await openAs('Oscar Operator', ['Isolation.Operator'], url);
    expect(operator.status).toBe(403);
    await operator.page.close();

    // A page elsewhere that posts to the approval page: the browser marks it cross-site.
    const approver = await openAs('Dana Approver', ['Isolation.Approver'], url);
    const token = await approver.page.$eval('input[name=token]', (i) => i.getAttribute('value') ?? '');
    const attacker = `data:text/html,<form method="post" action="${url}"><input name="token" value="${token}"><input name="reason" value="x"><button name="verdict" value="approve">go</button></form>`;
    await approver.page.goto(attacker);
    const [answer] = await Promise.all([
      approver.page.waitForNavigation({ waitUntil: 'load' }),
      approver.page.click('button'),
    ]);
    expect(answer?.status()).toBe(403);
    expect(await approver.page.$eval('main', (m) => m.textContent ?? '')).toContain('another site');
    expect((await h.runtime.store.approvals.get(approvalId))?.state).toBe('pending');
    expect(postsOn(h, machineId, 'isolate')).toEqual([]);
    await approver.page.close();
  }, 60_000);
});
