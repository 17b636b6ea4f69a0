/**
 * Three customer tenants served by one deployment (docs/decisions/0029-many-tenants.md, the per-tenant
 * worker of decision 0031): the real runtime with MDE_TENANTS listing three tenants, each with its own
 * quota-enforcing simulator playing that tenant (a token of another tenant is a 401 there), tokens
 * through the federated user-assigned identity at a loopback Entra authority, and each tenant's tables
 * in one Azurite. Every case also shows the tenant's work reached the tenant's own simulator: with the
 * routing wrong (every message in the deployment's lane), each case fails.
 */
import { randomUUID } from 'node:crypto';
import { tmpdir } from 'node:os';
import { HttpRequest, InvocationContext } from '@azure/functions';
import { alerts as alertsFunction } from '../../functions/alerts';
import type { OutcomeRecord } from '../../shared/dispatch/outcome';
import { breakerLimits } from '../../shared/dispatch/steps/blast-radius';
import { compressTiming } from '../../shared/dispatch/timing';
import { loadPolicy } from '../../shared/policy/load';
import { closeRuntime, createRuntime, installRuntime, type Runtime } from '../../shared/runtime';
import { TableStateStore, tenantTablePrefix } from '../../shared/state/table';
import { type RunningSimulator, startSimulator } from '../../simulator';
import { type RunningAzurite, startAzurite } from '../../simulator/azurite';
import { seededRandom } from '../../simulator/random';
import { cliIn } from '../cli/run-cli';
import { mdeAlert } from '../support/alert-payloads';
import { USER_ASSIGNED_IDENTITY, USER_ASSIGNED_ROLES } from '../support/identity';
import { type LoopbackAuthority, startAuthority } from '../support/loopback-authority';
import { recordingReporter } from '../support/reporter';
import { startSimulatorWithIdentity } from '../support/simulator';
import { trustLoopback } from '../support/trust-loopback';
import { WebhookReceiver } from '../support/webhook-receiver';
import { submittedRequestIds, TEST_POLICY, until } from './harness';

/** A quota a storm of DEVICES isolate POSTs per tenant spans several windows of. */
const RATE_LIMITS = '6/400ms,60/4s';
const DEVICES = 10;
const ALERTS_PER_DEVICE = 3;
const APP_CLIENT_ID = '6a1f0e2d-3c4b-4a59-8e7f-90a1b2c3d4e5';
/** Long enough for the storm on a loaded machine; no result depends on it. */
const SETTLE_MS = 60_000;
const SHARED_NAME = 'ws-reception.contoso.local';
const SECRET = `whsec_${Buffer.from('0123456789abcdef0123456789abcdef').toString('base64')}`;
/** The harness policy, and a rule that holds an alert titled so for approval. */
const POLICY = {
  ...TEST_POLICY,
  rules: [
    {
      name: 'needs-approval',
      title: '*needs approval*',
      action: 'isolate',
      approval: { expiresAfter: '30m', onExpiry: 'drop' },
    },
    ...TEST_POLICY.rules,
  ],
};

interface TenantUnderTest {
  id: string;
  sim: RunningSimulator;
}

let azurite: RunningAzurite;
let authority: LoopbackAuthority;
/** The provider's own tenant: its identity endpoint holds the user-assigned identity. */
let provider: RunningSimulator;
let tenants: TenantUnderTest[];
let runtime: Runtime;
let outcomes: OutcomeRecord[];
let notes: Record<string, unknown>[];
/** Where approvals needed and drift are told (a signed webhook): the notifications cases here look at. */
let receiver: WebhookReceiver;

beforeAll(async () => {
  azurite = await startAzurite();
  authority = await startAuthority();
  trustLoopback(authority.certificate);
  provider = await startSimulatorWithIdentity({ userAssignedIdentities: USER_ASSIGNED_ROLES });
  receiver = await WebhookReceiver.start();
}, 30_000);
afterAll(async () => {
  jest.restoreAllMocks();
  await receiver?.close();
  await provider?.close();
  await authority?.close();
  await azurite?.stop();
});

beforeEach(async () => {
  // Tenants of their own for each case: their tables in the one Azurite start empty.
  tenants = await Promise.all(
    [1, 2, 3].map(async (seed) => {
      const id = randomUUID();
      const sim = await startSimulator({
        tenantId: id,
        rateLimits: RATE_LIMITS,
        fleet: { curated: false, generate: DEVICES * 2, offlineShare: 0, seed },
        lifecycle: { pendingMs: 40, inProgressMs: 40, offlineTimeoutMs: 600_000 },
      });
      return { id, sim };
    }),
  );
  runtime = openRuntime();
});

/** The settings of the deployment serving the three tenants, with `extra` on top. */
function deploymentEnv(extra: Record<string, string> = {}): Record<string, string> {
  return {
    ...provider.env(),
    AZURE_CLIENT_ID: USER_ASSIGNED_IDENTITY,
    MDE_TENANT_APP_CLIENT_ID: APP_CLIENT_ID,
    MDE_TENANTS: JSON.stringify(
      tenants.map((t, i) => ({ tenantId: t.id, displayName: `Customer ${i}`, apiUrl: t.sim.baseUrl })),
    ),
    MDE_RATE_LIMITS: RATE_LIMITS,
    MDE_RATE_HEADROOM: '0',
    MDE_REQUEST_TIMEOUT_MS: '10000',
    AzureWebJobsStorage: azurite.connectionString,
    NOTIFY_CHANNELS: JSON.stringify([
      {
        name: 'siem',
        kind: 'webhook',
        url: receiver.url('webhook'),
        secret: SECRET,
        events: ['approval-pending', 'drift-found'],
      },
    ]),
    ...extra,
  };
}

/** The runtime of the deployment, installed as the process's, its outcomes recorded from now on. */
function openRuntime(extra: Record<string, string> = {}): Runtime {
  const recording = recordingReporter();
  outcomes = recording.outcomes;
  notes = recording.notes;
  return installRuntime(
    createRuntime({
      env: deploymentEnv(extra),
      policy: loadPolicy({ kind: 'inline', text: JSON.stringify(POLICY) }, null),
      reporter: recording.reporter,
      timing: compressTiming(0.001),
      concurrency: 8,
      authorityHost: authority.host,
    }),
  );
}

afterEach(async () => {
  await closeRuntime();
  await Promise.all(tenants.map((t) => t.sim.close()));
});

const [A, B, C] = [0, 1, 2];

/** Windows devices of the tenant's generated fleet (each isolable with Full). */
const windowsDevices = (t: TenantUnderTest) =>
  t.sim
    .machines()
    .filter((m) => String(m.osPlatform).startsWith('Windows'))
    .slice(0, DEVICES);

const isolateActions = (t: TenantUnderTest) => t.sim.actions().filter((a) => a.type === 'Isolate');
const isolatePosts = (t: TenantUnderTest) =>
  t.sim.calls().filter((c) => c.method === 'POST' && c.path.endsWith('/isolate'));
/** Calls the tenant's simulator was asked that name `machineId`. */
const callsNaming = (t: TenantUnderTest, machineId: string) =>
  t.sim.calls().filter((c) => c.path.includes(machineId));

async function settle(): Promise<void> {
  expect(await runtime.waitForIdle(SETTLE_MS)).toBe(true);
}

/** The same Windows machine, by name, in each of `which` tenants. */
function sharedName(which: TenantUnderTest[]): string[] {
  return which.map((t) => t.sim.addMachine({ name: SHARED_NAME, osPlatform: 'Windows11' }).id);
}

describe('three tenants on one deployment', () => {
  it('isolates every device of a storm over the three tenants exactly once, each in its own tenant, inside each quota', async () => {
    const random = seededRandom(23);
    const alerts = tenants.flatMap((t) =>
      windowsDevices(t).flatMap((m) =>
        Array.from({ length: ALERTS_PER_DEVICE }, () =>
          // Every generated fleet has the same names: an alert naming a device by name alone says
          // nothing of its tenant but the tenant id.
          mdeAlert(
            random.chance(0.5)
              ? { machineId: m.id, dnsName: m.computerDnsName as string }
              : { dnsName: m.computerDnsName as string },
            { aadTenantId: t.id },
          ),
        ),
      ),
    );
    for (let i = alerts.length - 1; i > 0; i -= 1) {
      const j = random.int(0, i);
      [alerts[i], alerts[j]] = [alerts[j], alerts[i]];
    }
    const result = await runtime.receiveAlerts(alerts);
    expect(result).toMatchObject({ accepted: alerts.length, rejected: 0, failed: 0 });
    await settle();
    const submitted = submittedRequestIds(result);
    expect(submitted.map((id) => outcomes.filter((o) => o.requestId === id).length)).toEqual(
      submitted.map(() => 1),
    );

    for (const t of tenants) {
      const own = windowsDevices(t)
        .map((m) => m.id)
        .sort();
      expect(
        isolateActions(t)
          .map((a) => a.machineId)
          .sort(),
      ).toEqual(own);
      expect(t.sim.calls().filter((c) => c.status === 429 || c.status === 401)).toEqual([]);
      const register = await runtime.tenant(t.id).store.register.list({ limit: 1_000 });
      expect(register.map((r) => r.machineId).sort()).toEqual(own);
      expect(register.every((r) => r.state === 'isolated')).toBe(true);
      // In the tenant's own tables, not only through the runtime's view of them.
      const tables = new TableStateStore(
        { kind: 'connection-string', connectionString: azurite.connectionString },
        { tablePrefix: tenantTablePrefix(t.id) },
      );
      expect((await tables.register.list({ limit: 1_000 })).map((r) => r.machineId).sort()).toEqual(own);
      // Alerts naming a device by id and by name are two requests: the second adopts the first's
      // action, or is carried by it (coalesced, naming no machine of its own).
      const ended = outcomes.filter((o) => o.tenant === t.id);
      expect(new Set(ended.flatMap((o) => (o.machineId ? [o.machineId] : [])))).toEqual(new Set(own));
      expect(ended.filter((o) => o.outcome !== 'succeeded' && o.outcome !== 'coalesced')).toEqual([]);
    }
    expect(outcomes.every((o) => tenants.some((t) => t.id === o.tenant))).toBe(true);
    expect(await runtime.store.register.list({ limit: 1_000 })).toEqual([]);
    expect(runtime.inline?.deadLetters).toEqual([]);
  }, 120_000);

  it("acts on an alert of tenant B in B alone, even naming a device that exists only in A's tenant", async () => {
    const onlyInA = tenants[A].sim.addMachine({
      name: 'ws-only-in-a.contoso.local',
      osPlatform: 'Windows11',
    });
    const result = await runtime.receiveAlerts(
      mdeAlert(
        { machineId: onlyInA.id, dnsName: onlyInA.computerDnsName as string },
        { aadTenantId: tenants[B].id },
      ),
    );
    expect(result.accepted).toBe(1);
    await settle();

    expect(callsNaming(tenants[A], onlyInA.id)).toEqual([]);
    expect(isolatePosts(tenants[A])).toEqual([]);
    // B's worker looked for it in B's tenant and found nothing.
    expect(callsNaming(tenants[B], onlyInA.id).length).toBeGreaterThan(0);
    expect(isolatePosts(tenants[B])).toEqual([]);
    expect(outcomes).toEqual([expect.objectContaining({ tenant: tenants[B].id, outcome: 'escalated' })]);
    expect(await runtime.tenant(tenants[A].id).store.register.list()).toEqual([]);
  });

  it("isolates B's device of a name A has too, and not A's", async () => {
    const [inA, inB] = sharedName([tenants[A], tenants[B]]);
    await runtime.receiveAlerts(mdeAlert({ dnsName: SHARED_NAME }, { aadTenantId: tenants[B].id }));
    await settle();

    expect(isolateActions(tenants[B]).map((a) => a.machineId)).toEqual([inB]);
    expect(tenants[A].sim.calls()).toEqual([]);
    expect(tenants[A].sim.machineState(inA)?.isolated).toBe(false);
    expect((await runtime.tenant(tenants[B].id).store.register.list()).map((r) => r.machineId)).toEqual([
      inB,
    ]);
    expect(await runtime.tenant(tenants[A].id).store.register.list()).toEqual([]);
  });

  it("keeps isolating in B while A's breaker is open", async () => {
    const [inA, inB] = sharedName([tenants[A], tenants[B]]);
    await runtime.tenant(tenants[A].id).store.breaker.trip('integration test: too many isolations in A');
    const result = await runtime.receiveAlerts([
      mdeAlert({ machineId: inA, dnsName: SHARED_NAME }, { aadTenantId: tenants[A].id }),
      mdeAlert({ machineId: inB, dnsName: SHARED_NAME }, { aadTenantId: tenants[B].id }),
    ]);
    expect(result.accepted).toBe(2);
    await settle();

    // A's alert is decided under A's open breaker: escalated, nothing queued; B's goes through.
    expect(result.alerts.map((a) => (a.status === 'accepted' ? a.decisions : []))).toEqual([
      [expect.objectContaining({ action: 'escalate', rule: 'blast-radius' })],
      [expect.objectContaining({ action: 'isolate', rule: 'isolate-high' })],
    ]);
    expect(isolatePosts(tenants[A])).toEqual([]);
    expect(isolateActions(tenants[B]).map((a) => a.machineId)).toEqual([inB]);
    expect(outcomes).toEqual([expect.objectContaining({ tenant: tenants[B].id, outcome: 'succeeded' })]);
    const limits = breakerLimits(runtime.policy);
    expect(await runtime.tenant(tenants[B].id).store.breaker.status(limits)).toMatchObject({ open: false });
    expect(await runtime.store.breaker.status(limits)).toMatchObject({ open: false });
  });

  it("tells an approval needed in C in C's name: display name and id", async () => {
    receiver.received.length = 0;
    const [device] = windowsDevices(tenants[C]);
    await runtime.receiveAlerts(
      mdeAlert(
        { machineId: device.id },
        { aadTenantId: tenants[C].id, title: 'needs approval: credential theft' },
      ),
    );
    // Its deadline message waits in the queue: the runtime is not idle until it comes.
    await until(() => outcomes.length > 0, 'the hold');
    expect(outcomes).toEqual([
      expect.objectContaining({ tenant: tenants[C].id, outcome: 'awaiting-approval' }),
    ]);
    await until(() => receiver.received.length > 0, 'the approval-pending message');
    const { type, data } = JSON.parse(receiver.received[0].body);
    expect(type).toBe('mde-isolator.approval-pending');
    expect(data.tenant).toEqual({ tenantId: tenants[C].id, displayName: 'Customer 2' });
  });

  it("notes and tells a drift in A's register with A's tenant", async () => {
    const [device] = windowsDevices(tenants[A]);
    await runtime.receiveAlerts(mdeAlert({ machineId: device.id }, { aadTenantId: tenants[A].id }));
    await settle();
    expect(outcomes).toEqual([expect.objectContaining({ tenant: tenants[A].id, outcome: 'succeeded' })]);
    tenants[A].sim.portalAction(device.id, 'Unisolate', { requestor: 'analyst@contoso.com', comment: 'fp' });
    receiver.received.length = 0;
    await runtime.requestReconciliation('test');
    // The pass may be deferred for the machineactions quota the isolation's tracking spent.
    await until(() => notes.some((n) => n.event === 'isolation-drift'), 'the drift note');
    expect(notes.filter((n) => n.event === 'isolation-drift')).toEqual([
      expect.objectContaining({ tenant: tenants[A].id, machineId: device.id, kind: 'released' }),
    ]);
    await until(() => receiver.received.length > 0, 'the drift message');
    const { type, data } = JSON.parse(receiver.received[0].body);
    expect(type).toBe('mde-isolator.drift-found');
    expect(data.tenant).toEqual({ tenantId: tenants[A].id, displayName: 'Customer 0' });
  });

  it('refuses an alert of a tenant not in the list with a 422, isolating nothing anywhere', async () => {
    const ids = sharedName(tenants);
    const post = async (body: unknown) =>
      alertsFunction(
        new HttpRequest({
          url: 'http://localhost/api/alerts',
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: { string: JSON.stringify(body) },
        }),
        new InvocationContext({ logHandler: () => undefined }),
      );

    const stranger = randomUUID();
    const refused = await post(mdeAlert({ dnsName: SHARED_NAME }, { aadTenantId: stranger }));
    expect(refused.status).toBe(422);
    expect(refused.jsonBody).toMatchObject({
      error: { code: 'tenant-not-configured', message: expect.stringContaining(stranger) },
      accepted: 0,
      rejected: 1,
    });
    await settle();
    for (const t of tenants) expect(isolatePosts(t)).toEqual([]);
    expect(outcomes).toEqual([]);

    // The same alert of a listed tenant goes through, in that tenant alone.
    const accepted = await post(mdeAlert({ dnsName: SHARED_NAME }, { aadTenantId: tenants[C].id }));
    expect(accepted.status).toBe(202);
    await settle();
    expect(tenants.map((t) => isolateActions(t).map((a) => a.machineId))).toEqual([[], [], [ids[C]]]);
  });
});

describe('a deployment-wide cap across the three tenants (MDE_DEPLOYMENT_MAX_ISOLATIONS)', () => {
  const CAP = '2/1h';
  beforeEach(async () => {
    await closeRuntime();
    runtime = openRuntime({ MDE_DEPLOYMENT_MAX_ISOLATIONS: CAP });
    // The cap lives in the deployment's tables, which the cases share: each starts with an empty window.
    await runtime.store.deploymentCap.reset('test', 'a case of its own');
  });

  /** One high alert about the tenant's own `machineId`, handled to its end. */
  async function alertIn(t: TenantUnderTest, machineId: string): Promise<void> {
    const result = await runtime.receiveAlerts(
      mdeAlert({ machineId, dnsName: SHARED_NAME }, { aadTenantId: t.id }),
    );
    expect(result.accepted).toBe(1);
    await settle();
  }

  it("escalates the third automatic isolation across tenants that each tenant's breaker allows; a reset without --tenant lets it through", async () => {
    const ids = sharedName(tenants);
    for (const t of [A, B, C]) await alertIn(tenants[t], ids[t]);

    expect(tenants.map((t) => isolateActions(t).map((a) => a.machineId))).toEqual([[ids[A]], [ids[B]], []]);
    expect(isolatePosts(tenants[C])).toEqual([]);
    expect(outcomes.map((o) => [o.tenant, o.outcome])).toEqual([
      [tenants[A].id, 'succeeded'],
      [tenants[B].id, 'succeeded'],
      [tenants[C].id, 'escalated'],
    ]);
    expect(outcomes[2]).toMatchObject({
      rule: 'deployment-cap',
      machineId: ids[C],
      reason:
        'deployment-wide isolation cap (MDE_DEPLOYMENT_MAX_ISOLATIONS) reached: 2 isolations in the last 60 min (limit 2)',
    });
    // Each tenant's own breaker (10,000 an hour) is closed, C's counting nothing: the cap refused it.
    const limits = breakerLimits(runtime.policy);
    const own = await Promise.all(tenants.map((t) => runtime.tenant(t.id).store.breaker.status(limits)));
    expect(own.map((s) => [s.open, s.count, s.reserved])).toEqual([
      [false, 1, 0],
      [false, 1, 0],
      [false, 0, 0],
    ]);
    const cap = { limit: 2, windowMs: 3_600_000 };
    expect(await runtime.store.deploymentCap.status(cap)).toMatchObject({ open: true, count: 2 });

    // Reset by an operator through the CLI, naming no tenant: the cap closes, and C's next alert isolates.
    const reset = await cliIn(tmpdir(), deploymentEnv({ MDE_DEPLOYMENT_MAX_ISOLATIONS: CAP }))(
      'breaker',
      'reset',
      '--reason',
      'storm understood',
      '--by',
      'soc-lead',
      '-o',
      'json',
    );
    expect(reset.code).toBe(0);
    const shown = JSON.parse(reset.stdout);
    expect(Object.keys(shown)).toEqual(['deploymentCap']);
    expect(shown.deploymentCap).toMatchObject({ open: false, count: 0, limit: 2 });
    expect(shown.deploymentCap.resets[0]).toMatchObject({ by: 'soc-lead', reason: 'storm understood' });
    await alertIn(tenants[C], ids[C]);
    expect(isolateActions(tenants[C]).map((a) => a.machineId)).toEqual([ids[C]]);
    expect(outcomes[3]).toMatchObject({ tenant: tenants[C].id, outcome: 'succeeded' });
    expect(await runtime.store.deploymentCap.status(cap)).toMatchObject({ open: false, count: 1 });
  });

  it('counts a manual isolation past the cap and never holds it back', async () => {
    const ids = sharedName(tenants);
    for (const t of [A, B]) await alertIn(tenants[t], ids[t]);
    await runtime.submitManual({
      action: 'isolate',
      device: { mdeDeviceId: ids[C] },
      comment: 'IR-23: analyst order',
      isolationType: 'Full',
      requestedBy: 'analyst@provider.example',
      tenantId: tenants[C].id,
    });
    await settle();

    expect(isolateActions(tenants[C]).map((a) => a.machineId)).toEqual([ids[C]]);
    expect(await runtime.store.deploymentCap.status({ limit: 2, windowMs: 3_600_000 })).toMatchObject({
      open: false,
      count: 3,
    });
  });
});
