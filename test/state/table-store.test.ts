/**
 * The Table adapter against a real Azurite (in memory, free loopback port) that this suite starts
 * and stops: the shared contract, restarts (a new instance with new clients sees the same state),
 * and a store that is down or silent.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { TableClient } from '@azure/data-tables';
import { StoreUnavailableError } from '../../shared/state/store';
import { TableStateStore } from '../../shared/state/table';
import {
  azuriteConnectionString,
  freeLoopbackPort,
  type RunningAzurite,
  startAzurite,
} from '../../simulator/azurite';
import { describeStateStoreContract } from './contract';

let azurite: RunningAzurite;
let suite = 0;

beforeAll(async () => {
  azurite = await startAzurite();
}, 30_000);

afterAll(async () => {
  await azurite?.stop();
});

/** Tables of their own per test, so tests never see each other's state. */
function freshPrefix(): string {
  suite += 1;
  return `t${process.pid}x${suite}`;
}

function target() {
  return { kind: 'connection-string' as const, connectionString: azurite.connectionString };
}

describeStateStoreContract(
  'TableStateStore over Azurite',
  async (options) => {
    const tablePrefix = freshPrefix();
    return {
      store: new TableStateStore(target(), { ...options, tablePrefix }),
      sibling: new TableStateStore(target(), { ...options, tablePrefix }),
    };
  },
  { separateInstances: true },
);

describe('TableStateStore across a restart', () => {
  it('a new instance with new clients sees the breaker, the ledger and the register of the first', async () => {
    const tablePrefix = freshPrefix();
    const limits = { limit: 2, windowMs: 3_600_000 };
    const first = new TableStateStore(target(), { tablePrefix });
    for (const n of [1, 2]) {
      const admission = await first.breaker.reserve({ requestId: `req-${n}`, manual: false }, limits);
      if (admission.allowed) await first.breaker.commit(admission.reservationId, `action-${n}`);
    }
    expect(await first.breaker.reserve({ requestId: 'req-3', manual: false }, limits)).toMatchObject({
      allowed: false,
      open: true,
    });
    const machineId = 'c'.repeat(40);
    const actionId = '11111111-2222-4333-8444-555555555555';
    await first.actions.record({
      machineId,
      actionId,
      requestId: 'req-1',
      type: 'Isolate',
      status: 'Pending',
      adopted: false,
      computerDnsName: 'ws1.contoso.com',
      createdAt: new Date().toISOString(),
      recordedAt: new Date().toISOString(),
    });
    await first.register.record({
      machineId,
      state: 'isolating',
      requestId: 'req-1',
      reason: 'posted',
      provenance: {
        requestedBy: { kind: 'caller', name: 'alice@contoso.com' },
        alertSource: 'manual',
        alertId: 'manual-1',
        incidentId: null,
        incidentArmId: null,
        policyVersion: 'v1',
        mode: 'enforce',
        reason: 'manual request',
      },
    });

    const second = new TableStateStore(target(), { tablePrefix });
    expect(await second.register.list({ state: 'isolating' })).toEqual([await first.register.get(machineId)]);
    expect(await second.breaker.status(limits)).toMatchObject({ open: true, count: 2 });
    expect(await second.breaker.reserve({ requestId: 'req-4', manual: false }, limits)).toMatchObject({
      allowed: false,
      open: true,
    });
    expect(await second.actions.open()).toEqual([
      expect.objectContaining({ machineId, actionId, requestId: 'req-1' }),
    ]);
    expect(await second.actions.forRequest('req-1')).toMatchObject({ actionId, status: 'Pending' });
  });
});

describe('TableStateStore when the store is down', () => {
  it('never reads a deleted table as empty state: unavailable, then created again', async () => {
    const tablePrefix = freshPrefix();
    const store = new TableStateStore(target(), { tablePrefix });
    const limits = { limit: 1, windowMs: 60_000 };
    await store.breaker.trip('storm');
    await TableClient.fromConnectionString(azurite.connectionString, `${tablePrefix}Breaker`, {
      allowInsecureConnection: true,
    }).deleteTable();
    await expect(store.breaker.status(limits)).rejects.toThrow(/table .*Breaker is missing/);
    expect(await store.breaker.status(limits)).toMatchObject({ open: false });
  });

  it('surfaces StoreUnavailableError when nothing listens (Azurite stopped)', async () => {
    const stopped = await startAzurite();
    const store = new TableStateStore(
      { kind: 'connection-string', connectionString: stopped.connectionString },
      { requestDeadlineMs: 2_000 },
    );
    await store.ping();
    await stopped.stop();
    await expect(store.ping()).rejects.toBeInstanceOf(StoreUnavailableError);
    await expect(
      store.breaker.reserve({ requestId: 'req-1', manual: false }, { limit: 1, windowMs: 60_000 }),
    ).rejects.toThrow(/state store unreachable/);
  });

  it('surfaces StoreUnavailableError at the deadline when the store accepts but never answers', async () => {
    const sockets = new Set<Socket>();
    const silent: Server = createServer((socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
    });
    const port = await freeLoopbackPort();
    await new Promise<void>((resolve) => silent.listen(port, '127.0.0.1', resolve));
    try {
      const store = new TableStateStore(
        { kind: 'connection-string', connectionString: azuriteConnectionString(port) },
        { requestDeadlineMs: 300 },
      );
      const error = await store.register.get('d'.repeat(40)).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(StoreUnavailableError);
      expect((error as Error).message).toMatch(/did not answer in time/);
      expect((error as Error).message).not.toMatch(/AccountKey|Authorization|SharedKey/);
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => silent.close(resolve));
    }
  });
});
