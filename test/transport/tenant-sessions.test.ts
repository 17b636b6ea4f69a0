/**
 * A session-enabled request queue (ISOLATION_QUEUE_SESSIONS=on, infra `queueSessions`) against the
 * AMQP peer with the real SDK: the product's adapter sends each request in its tenant's session, and
 * two worker instances' session triggers never hold one tenant at once while both work when two
 * tenants have requests (docs/decisions/0029-many-tenants.md).
 */
import { ServiceBusClient } from '@azure/service-bus';
import { deliveryOf } from '../../functions/service-bus-trigger';
import { type IsolationRequest, isolateRequestFrom } from '../../shared/dispatch/request';
import { messageFor } from '../../shared/dispatch/transport/queue';
import { ServiceBusRequestQueue } from '../../shared/dispatch/transport/service-bus-queue';
import { REQUEST_QUEUE_SETTINGS } from '../../shared/dispatch/transport/service-bus-settings';
import { DEPLOYMENT_SESSION } from '../../shared/dispatch/transport/session';
import { loadPolicy } from '../../shared/policy/load';
import type { Decision } from '../../shared/policy/types';
import { alertOf } from '../support/alerts';
import { SessionTrigger } from '../support/service-bus-peer/functions-host';
import { ServiceBusPeer } from '../support/service-bus-peer/peer';

const QUEUE = 'isolation-requests';
const TENANT_A = '2f4a9c1e-7b3d-4e8a-9c21-5d6e7f8a9b0c';
const TENANT_B = '8d1b6e3f-2a4c-4b5d-8e9f-0a1b2c3d4e5f';
const policy = loadPolicy({ kind: 'default' }, 'enforce');

/** An isolation request of `tenantId` (none: a single-tenant deployment's) for a device of its own. */
function requestOf(tenantId: string | undefined, device: number): IsolationRequest {
  const alert = alertOf({
    devices: [{ mdeDeviceId: device.toString(16).padStart(40, '0') }],
    ...(tenantId && { tenantId }),
  });
  const decision = policy.decideAlert(alert).find((d) => d.action === 'isolate') as Decision;
  return isolateRequestFrom(decision, {
    alert,
    receivedAt: new Date(0),
    policyVersion: decision.policyVersion,
    requestedBy: { kind: 'rule', name: decision.rule },
  });
}

describe('tenant sessions on the request queue', () => {
  let peer: ServiceBusPeer;
  let clients: ServiceBusClient[];
  let queue: ServiceBusRequestQueue;

  beforeEach(async () => {
    peer = new ServiceBusPeer({
      queues: [{ name: QUEUE, ...REQUEST_QUEUE_SETTINGS, requiresSession: true }],
    });
    await peer.start();
    // Two worker instances: each its own connection, as two processes have. No retries: the peer
    // answers an accept with no free session at once, where the service would wait.
    clients = [0, 1].map(
      () => new ServiceBusClient(peer.connectionString, { retryOptions: { maxRetries: 0 } }),
    );
    queue = new ServiceBusRequestQueue({ connectionString: peer.connectionString }, QUEUE, {
      sessions: true,
    });
  });
  afterEach(async () => {
    await queue.close();
    for (const client of clients) await client.close();
    await peer.stop();
  });

  const stored = () => peer.queue(QUEUE).contents();
  // Locked ones too: the SDK may hold the next message of its session before it asks for it.
  const hasMore = (sessionId: string) =>
    stored().some((m) => m.sessionId === sessionId && m.visibleAt <= peer.clock.now());

  it('sends and schedules each request in its tenant session; what names no tenant shares one', async () => {
    const a = requestOf(TENANT_A, 1);
    await queue.send(messageFor(a));
    await queue.schedule(messageFor(requestOf(TENANT_B, 2)), new Date(peer.clock.now() + 60_000));
    await queue.send(messageFor(requestOf(undefined, 3)));
    expect(stored().map((m) => m.sessionId)).toEqual([TENANT_A, TENANT_B, DEPLOYMENT_SESSION]);
  });

  it('never lets two worker instances hold one tenant, and lets both work when two tenants have requests', async () => {
    for (const [tenant, device] of [
      [TENANT_A, 1],
      [TENANT_B, 2],
      [TENANT_A, 3],
      [TENANT_B, 4],
    ] as const)
      await queue.send(messageFor(requestOf(tenant, device)));

    const handled: { worker: number; tenant: string | undefined; messageId: string | undefined }[] = [];
    const inFlight = new Map<string, number>();
    let mostAtOnce = 0;
    // Each handler waits until both instances hold a session, so the two really overlap.
    let bothHeld!: () => void;
    const overlap = new Promise<void>((resolve) => {
      bothHeld = resolve;
    });
    const triggers = clients.map(
      (client, worker) =>
        new SessionTrigger(
          client,
          QUEUE,
          async (body, context) => {
            const tenant = (body as IsolationRequest).tenantId as string;
            inFlight.set(tenant, (inFlight.get(tenant) ?? 0) + 1);
            mostAtOnce = Math.max(mostAtOnce, ...inFlight.values());
            await overlap;
            handled.push({ worker, tenant, messageId: deliveryOf(context).messageId });
            inFlight.set(tenant, (inFlight.get(tenant) ?? 0) - 1);
          },
          hasMore,
        ),
    );

    expect(await triggers[0].accept()).toBe(TENANT_A);
    expect(await triggers[1].accept()).toBe(TENANT_B);
    // A third instance finds no free tenant: A and B are held.
    const third = new SessionTrigger(clients[0], QUEUE, async () => undefined, hasMore);
    expect(await third.accept()).toBeNull();

    const draining = triggers.map((t) => t.drain());
    bothHeld();
    await Promise.all(draining);

    expect(mostAtOnce).toBe(1);
    expect(handled.filter((h) => h.worker === 0).map((h) => h.tenant)).toEqual([TENANT_A, TENANT_A]);
    expect(handled.filter((h) => h.worker === 1).map((h) => h.tenant)).toEqual([TENANT_B, TENANT_B]);
    expect(stored()).toEqual([]);

    // Let go, a tenant's session goes to whichever instance asks next.
    await queue.send(messageFor(requestOf(TENANT_A, 5)));
    expect(await triggers[1].accept()).toBe(TENANT_A);
    await triggers[1].drain();
    expect(handled.at(-1)).toMatchObject({ worker: 1, tenant: TENANT_A });
  });
});
