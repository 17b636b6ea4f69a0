/**
 * The worker per tenant (docs/decisions/0031-a-worker-per-tenant.md) as the runtime routes it: each
 * listed tenant's work has its own tables, its messages name it, and a message of a tenant the
 * deployment does not serve reaches no tenant's worker. What a storm across tenants does against
 * their simulators is test/integration/tenants.test.ts.
 */
import { tenantNamedBy } from '../../shared/dispatch/dispatcher';
import { reconcileMessage, reconcileOrder } from '../../shared/dispatch/reconcile-order';
import type { QueueMessage, RequestQueue } from '../../shared/dispatch/transport/queue';
import { tenantQueue } from '../../shared/dispatch/transport/tenant-queue';
import { loadPolicy } from '../../shared/policy/load';
import { createRuntime, type Runtime } from '../../shared/runtime';
import { InMemoryStateStore } from '../../shared/state/memory';
import { tenantTablePrefix } from '../../shared/state/table';
import { silentReporter } from '../support/reporter';

const TENANT_A = '2f4a9c1e-7b3d-4e8a-9c21-5d6e7f8a9b0c';
const TENANT_B = '8d1b6e3f-2a4c-4b5d-8e9f-0a1b2c3d4e5f';
const UNLISTED = '0badc0de-0000-4000-8000-000000000000';

const env = {
  ISOLATION_MODE: 'enforce',
  AZURE_CLIENT_ID: '0c0ffee0-1111-4222-8333-444444444444',
  MDE_TENANT_APP_CLIENT_ID: '6a1f0e2d-3c4b-4a59-8e7f-90a1b2c3d4e5',
  MDE_TENANTS: JSON.stringify([
    { tenantId: TENANT_A, displayName: 'Contoso' },
    { tenantId: TENANT_B, displayName: 'Fabrikam', policy: { mode: 'dry-run' } },
  ]),
};

/** A queue that keeps what is sent to it. */
function keepingQueue(): RequestQueue & { sent: QueueMessage[] } {
  const sent: QueueMessage[] = [];
  return {
    sent,
    send: async (message) => {
      sent.push(message);
      return { duplicate: false };
    },
    schedule: async (message) => {
      sent.push(message);
      return 'ref';
    },
    cancelScheduled: async () => true,
    bringForward: async () => true,
    deadLetter: async () => undefined,
    close: async () => undefined,
  };
}

describe("a tenant's queue", () => {
  it('names its tenant on every message that names none, and leaves the tenant a request names', async () => {
    const queue = keepingQueue();
    const order = reconcileMessage(reconcileOrder('timer', 0));
    await tenantQueue(queue, TENANT_A).send(order);
    await tenantQueue(queue, TENANT_A).schedule(
      { ...order, body: { ...order.body, tenantId: TENANT_B } },
      new Date(0),
    );
    expect(queue.sent.map((m) => tenantNamedBy(m.body))).toEqual([TENANT_A, TENANT_B]);
  });
});

describe('a runtime with a tenant list', () => {
  let runtime: Runtime;
  const stores = new Map<string, InMemoryStateStore>();

  beforeEach(() => {
    stores.clear();
    runtime = createRuntime({
      env,
      startWorker: false,
      reporter: silentReporter,
      tenantStore: (tenantId) => {
        const store = new InMemoryStateStore();
        stores.set(tenantId, store);
        return store;
      },
    });
  });
  afterEach(() => runtime.close());

  it("gives each listed tenant its own store, apart from the deployment's and from each other", async () => {
    const a = runtime.tenant(TENANT_A).store;
    const b = runtime.tenant(TENANT_B).store;
    expect(a).toBe(stores.get(TENANT_A));
    expect(b).toBe(stores.get(TENANT_B));
    expect(new Set([a, b, runtime.store]).size).toBe(3);
    expect(() => runtime.tenant(UNLISTED)).toThrow(/not in this deployment's tenant list/);
  });

  it("decides each tenant's alerts with its own policy: the deployment's, merged with its override", () => {
    expect(runtime.tenant(TENANT_A).policy.version).toBe(runtime.policy.version);
    const fabrikam = runtime.tenant(TENANT_B).policy;
    expect(fabrikam.version).not.toBe(runtime.policy.version);
    expect(runtime.policy.modeFor({ source: 'mde-alert' })).toBe('enforce');
    expect(fabrikam.modeFor({ source: 'mde-alert' })).toBe('dry-run');
  });

  it("merges a tenant's override onto the policy the caller gives, and never lifts its dry-run hold", async () => {
    const cli = createRuntime({
      env,
      startWorker: false,
      reporter: silentReporter,
      // As the CLI's --enforce makes it: the deployment's policy, enforced.
      policy: loadPolicy({ kind: 'default' }, 'enforce'),
    });
    try {
      expect(cli.policy.modeFor({ source: 'mde-alert' })).toBe('enforce');
      expect(cli.tenant(TENANT_A).policy.modeFor({ source: 'mde-alert' })).toBe('enforce');
      expect(cli.tenant(TENANT_B).policy.modeFor({ source: 'mde-alert' })).toBe('dry-run');
    } finally {
      await cli.close();
    }
  });

  it("starts, inline, the lanes of the tenants a CLI verb names, and no other tenant's", async () => {
    const opened: string[] = [];
    const cli = createRuntime({
      env,
      reporter: silentReporter,
      tenantsAtStart: [TENANT_B],
      tenantStore: (tenantId) => {
        opened.push(tenantId);
        return new InMemoryStateStore();
      },
    });
    try {
      expect(await cli.waitForIdle(30_000)).toBe(true);
      expect(opened).toEqual([TENANT_B]);
    } finally {
      await cli.close();
    }
  });

  it('names each tenant in its own tables', () => {
    expect(tenantTablePrefix(TENANT_A.toUpperCase())).toBe('mdeisolatort2f4a9c1e7b3d4e8a9c215d6e7f8a9b0c');
  });

  it("queues one reconciliation per listed tenant, and the deployment's while its register holds a device", async () => {
    await runtime.requestReconciliation('timer');
    expect(runtime.inline?.pending()).toBe(2);
    await runtime.store.register.record({
      machineId: 'a'.repeat(40),
      computerDnsName: 'ws-01.contoso.local',
      state: 'isolated',
      requestId: 'req-before-the-list',
      reason: 'isolated before the tenant list',
      provenance: {
        requestedBy: { kind: 'rule', name: 'isolate-high' },
        alertSource: 'mde-alert',
        alertId: 'da-1',
        incidentId: null,
        incidentArmId: null,
        policyVersion: 'v1',
        mode: 'enforce',
        reason: 'high-severity alert',
      },
    });
    await runtime.requestReconciliation('timer');
    expect(runtime.inline?.pending()).toBe(2 + 3);
  });

  it("records a message of an unlisted tenant for an operator and opens no tenant's work for it", async () => {
    const order = reconcileOrder('timer', 0);
    await runtime.handle({ ...order, tenantId: UNLISTED }, { deliveryCount: 1, messageId: 'm-1' });
    expect(runtime.inline?.deadLetters).toEqual([
      expect.objectContaining({
        reason: 'TenantNotServed',
        messageId: 'm-1',
        description: expect.stringContaining(UNLISTED),
      }),
    ]);
    expect(stores.size).toBe(0);
  });
});
