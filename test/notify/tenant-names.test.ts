/**
 * With a tenant list, every notification about something in a tenant names it (display name and id),
 * so an MSSP's SOC reading "Isolated: WS-0042" knows which customer; without a list the messages are
 * as they were. Through the runtime (intake, the tenant's lane, the notifier) to a loopback receiver
 * for the escalation, the read-only runtime of one tenant for a breaker reset, and the notifier's
 * reporter for an outcome record.
 */
import { outcomeRecord } from '../../shared/dispatch/outcome';
import type { IsolationRequest } from '../../shared/dispatch/request';
import { Notifier } from '../../shared/notify/notifier';
import { readNotifySettings } from '../../shared/notify/settings';
import { loadPolicy } from '../../shared/policy/load';
import { createRuntime, openReadOnly, type Runtime } from '../../shared/runtime';
import { InMemoryStateStore } from '../../shared/state/memory';
import { tenantDirectory } from '../../shared/tenants/lookup';
import { parseTenantList } from '../../shared/tenants/parse';
import { mdeAlert } from '../support/alert-payloads';
import { fireUntil, handTimers } from '../support/hand-timers';
import { silentReporter } from '../support/reporter';
import { trackingRequest } from '../support/tracking-request';
import { WebhookReceiver } from '../support/webhook-receiver';

const CONTOSO = '2f4a9c1e-7b3d-4e8a-9c21-5d6e7f8a9b0c';
const FABRIKAM = '8d1b6e3f-2a4c-4b5d-8e9f-0a1b2c3d4e5f';
const MACHINE = '1e5bc9d7e413ddd7902c2932e418702b84d0cc07';
const SECRET = `whsec_${Buffer.from('0123456789abcdef0123456789abcdef').toString('base64')}`;
const TENANT_LIST = JSON.stringify([
  { tenantId: CONTOSO, displayName: 'Contoso' },
  { tenantId: FABRIKAM, displayName: 'Fabrikam' },
]);
const TENANT_ENV = {
  AZURE_CLIENT_ID: '0c0ffee0-1111-4222-8333-444444444444',
  MDE_TENANT_APP_CLIENT_ID: '6a1f0e2d-3c4b-4a59-8e7f-90a1b2c3d4e5',
  MDE_TENANTS: TENANT_LIST,
};
const ESCALATE_ALL = loadPolicy(
  {
    kind: 'inline',
    text: JSON.stringify({
      version: 'names-1',
      mode: 'enforce',
      rules: [{ name: 'analyst-decides', minSeverity: 'low', action: 'escalate' }],
      defaultAction: 'escalate',
      blastRadius: { maxDevicesPerAlert: 50, maxIsolations: 100, windowMinutes: 60 },
    }),
  },
  null,
);

interface Fact {
  title: string;
  value: string;
}
interface TeamsCard {
  body: [{ text: string }, { facts: Fact[] }];
}

let receiver: WebhookReceiver;
beforeAll(async () => {
  receiver = await WebhookReceiver.start();
});
afterAll(() => receiver.close());
beforeEach(() => {
  receiver.received.length = 0;
});

function channels(): string {
  return JSON.stringify([
    { name: 'soc-teams', kind: 'teams', url: receiver.url('teams') },
    { name: 'siem', kind: 'webhook', url: receiver.url('webhook'), secret: SECRET },
  ]);
}

/** The Teams card and the webhook payload of the one event told. */
function told() {
  const on = (name: string) => receiver.received.filter((r) => r.path.startsWith(`/hooks/${name}/`));
  const [teams] = on('teams');
  const [webhook] = on('webhook');
  const card = JSON.parse(teams.body).attachments[0].content as TeamsCard;
  return {
    headline: card.body[0].text,
    facts: card.body[1].facts,
    data: JSON.parse(webhook.body).data as Record<string, unknown>,
  };
}

describe('an escalation through the runtime', () => {
  let runtime: Runtime | undefined;
  afterEach(async () => {
    await runtime?.close();
    runtime = undefined;
  });

  async function escalate(env: Record<string, string>, aadTenantId?: string) {
    const timers = handTimers(Date.parse('2026-12-08T02:00:00Z'));
    runtime = createRuntime({
      env: { NOTIFY_CHANNELS: channels(), NOTIFY_DIGEST_INTERVAL: '1m', ...env },
      policy: ESCALATE_ALL,
      startWorker: false,
      reporter: silentReporter,
      notifyTimers: timers,
      store: new InMemoryStateStore(),
      tenantStore: () => new InMemoryStateStore(),
    });
    const intake = await runtime.receiveAlerts(
      mdeAlert(
        { machineId: MACHINE, dnsName: 'ws-0042.corp.example' },
        { ...(aadTenantId && { aadTenantId }) },
      ),
    );
    expect(intake.alerts.map((a) => a.status)).toEqual(['accepted']);
    await fireUntil(timers, () => receiver.received.length >= 2);
    return told();
  }

  it("names the tenant's display name and id when tenants are listed", async () => {
    const { headline, facts, data } = await escalate(TENANT_ENV, FABRIKAM);
    expect(headline).toBe('Escalated: a person must decide: ws-0042.corp.example in Fabrikam');
    expect(facts[0]).toEqual({ title: 'Tenant', value: `Fabrikam (${FABRIKAM})` });
    expect(data.tenant).toEqual({ tenantId: FABRIKAM, displayName: 'Fabrikam' });
  });

  it('is as before without a tenant list: no tenant in the headline, the facts or the payload', async () => {
    const { headline, facts, data } = await escalate({});
    expect(headline).toBe('Escalated: a person must decide: ws-0042.corp.example');
    expect(facts.map((f) => f.title)).toEqual(['Device', 'Alert', 'Rule', 'Reason', 'Request']);
    expect(data).not.toHaveProperty('tenant');
  });
});

describe("an operator's breaker reset in a tenant", () => {
  it('is told in the name of the tenant the read-only runtime opened', async () => {
    const timers = handTimers(Date.parse('2026-12-08T02:00:00Z'));
    const reads = openReadOnly({
      env: { NOTIFY_CHANNELS: channels(), NOTIFY_DIGEST_INTERVAL: '1m', ...TENANT_ENV },
      tenantId: CONTOSO,
      reporter: silentReporter,
      notifyTimers: timers,
      tenantStore: () => new InMemoryStateStore(),
    });
    reads.notify({ kind: 'breaker-reset', at: '2026-12-08T02:00:00.000Z', by: 'jo', reason: 'rule fixed' });
    await fireUntil(timers, () => receiver.received.length >= 2);
    await reads.close();
    const { headline, facts } = told();
    expect(headline).toBe('Blast-radius breaker reset in Contoso');
    expect(facts[0]).toEqual({ title: 'Tenant', value: `Contoso (${CONTOSO})` });
  });
});

/** A tracked isolation in `tenantId`. */
function trackedIn(tenantId: string | undefined): IsolationRequest {
  return trackingRequest({
    requestId: 'req-42',
    alert: { alertId: 'alert-42', title: 'Ransomware on WS-0042' },
    tenantId,
    tracking: {
      actionId: 'act-42',
      machineId: MACHINE,
      computerDnsName: 'ws-0042.corp.example',
      postedAt: '2026-12-08T01:00:02.000Z',
      polls: 3,
    },
  });
}

describe('the notifier with a tenant list', () => {
  function notifier() {
    const timers = handTimers(Date.parse('2026-12-08T02:00:00Z'));
    const { tenants } = parseTenantList(TENANT_LIST);
    const settings = readNotifySettings(
      { NOTIFY_CHANNELS: channels(), NOTIFY_DIGEST_INTERVAL: '1m' },
      'commercial',
    );
    return {
      timers,
      notifier: new Notifier({ settings, log: () => undefined, timers, tenants: tenantDirectory(tenants) }),
    };
  }

  it("names the tenant of an isolation's and a failure's outcome record", async () => {
    const { notifier: n, timers } = notifier();
    const at = Date.parse('2026-12-08T01:05:00Z');
    n.reporting(silentReporter).outcome(
      outcomeRecord(trackedIn(CONTOSO), { outcome: 'failed', reason: 'MDE said Failed' }, at),
    );
    await fireUntil(timers, () => receiver.received.length >= 2);
    const { headline, facts, data } = told();
    expect(headline).toBe('Isolation failed: ws-0042.corp.example in Contoso');
    expect(facts[0]).toEqual({ title: 'Tenant', value: `Contoso (${CONTOSO})` });
    expect(data.tenant).toEqual({ tenantId: CONTOSO, displayName: 'Contoso' });
    await n.close();
  });

  it("names the tenant of a note that carries one (a tenant's reconciler's drift)", async () => {
    const { notifier: n, timers } = notifier();
    n.reporting(silentReporter).note('warn', {
      event: 'isolation-drift',
      tenant: FABRIKAM,
      machineId: MACHINE,
      computerDnsName: 'ws-0042.corp.example',
      kind: 'lifted-by-platform',
      reason: 'MDE lifted the isolation after 7 days',
    });
    await fireUntil(timers, () => receiver.received.length >= 2);
    expect(told().headline).toBe('Drift found: ws-0042.corp.example (lifted-by-platform) in Fabrikam');
    await n.close();
  });

  it("tells two tenants' breakers opening at the same instant as two events, each named", async () => {
    const { notifier: n, timers } = notifier();
    const at = '2026-12-08T02:00:00.000Z';
    n.notify({ kind: 'breaker-opened', at, reason: 'over 10 isolations in 60 minutes' }, CONTOSO);
    n.notify({ kind: 'breaker-opened', at, reason: 'over 10 isolations in 60 minutes' }, FABRIKAM);
    await fireUntil(timers, () => receiver.received.length >= 2);
    timers.advance(60_000);
    await fireUntil(timers, () => receiver.received.length >= 4);
    const headlines = receiver.received
      .filter((r) => r.path.startsWith('/hooks/webhook/'))
      .map((r) => JSON.parse(r.body).data)
      .flatMap((data) => (data.events ?? [data]) as { tenant?: { displayName: string } }[])
      .map((event) => event.tenant?.displayName);
    expect(headlines).toEqual(['Contoso', 'Fabrikam']);
    await n.close();
  });
});
