/**
 * What the Table adapter costs in Table transactions, counted as Azure bills them by a proxy in front
 * of a real Azurite (test/support/table-transaction-tables.counter.ts): the writes of one isolation start
 * from a conditional insert or from the copy this process last wrote, never from a read they do not
 * need; and two processes sharing the tables still meet each other's writes.
 */
import type { IsolationChange, LedgerEntry, Provenance } from '../../shared/state/store';
import type { TableStateStore } from '../../shared/state/table';
import { useCountedAzurite } from '../support/counted-azurite';

const tables = useCountedAzurite('c');

const machine = (n: number) => n.toString(16).padStart(40, 'b');
const actionId = (n: number) => `00000000-0000-4000-8000-${n.toString().padStart(12, '0')}`;
const provenance: Provenance = {
  requestedBy: { kind: 'rule', name: 'isolate-all' },
  alertSource: 'mde-alert',
  alertId: 'alert-1',
  incidentId: null,
  incidentArmId: null,
  policyVersion: 'test-1',
  mode: 'enforce',
  reason: 'rule matched',
};

function ledgerEntry(n: number, adopted = false): LedgerEntry {
  return {
    machineId: machine(n),
    actionId: actionId(n),
    requestId: `req-${n}`,
    type: 'Isolate',
    status: 'Pending',
    adopted,
    computerDnsName: `ws${n}.contoso.com`,
    createdAt: new Date().toISOString(),
    recordedAt: new Date().toISOString(),
  };
}

function change(n: number, state: IsolationChange['state']): IsolationChange {
  return { machineId: machine(n), state, requestId: `req-${n}`, reason: 'rule matched', provenance };
}

/** Two processes' stores on tables of their own, through the counting proxy; the tables exist already. */
async function stores(): Promise<{ store: TableStateStore; sibling: TableStateStore; prefix: string }> {
  const prefix = tables.freshPrefix();
  const make = () => tables.storeOn(prefix);
  const [store, sibling] = [make(), make()];
  // Creates every table, for both clients, before anything is counted.
  for (const each of [store, sibling]) {
    await each.actions.record(ledgerEntry(999));
    await each.register.get(machine(999));
    await each.ping();
  }
  tables.counter.reset();
  return { store, sibling, prefix };
}

const { on } = tables;

describe('Table transactions of one isolation', () => {
  it("records a new action's entry and its request index with two conditional inserts and the prune query", async () => {
    const { store, sibling, prefix } = await stores();
    await store.actions.record(ledgerEntry(1));
    // Two inserts (POST); the one read is the query for the machine's old closed entries.
    expect(on(prefix, 'Actions')).toEqual({ POST: 2, GET: 1 });
    expect(await sibling.actions.forRequest('req-1')).toMatchObject({ actionId: actionId(1), open: true });
  });

  it("prunes from the machine's listing read before the POST instead of querying again", async () => {
    const { store, prefix } = await stores();
    await store.actions.forMachine(machine(11));
    await store.actions.record(ledgerEntry(11));
    // The listing (GET) and the two inserts: the write's prune query is saved.
    expect(on(prefix, 'Actions')).toEqual({ GET: 1, POST: 2 });
  });

  it("writes the action's next status on the copy it recorded, without reading it", async () => {
    const { store, sibling, prefix } = await stores();
    await store.actions.record(ledgerEntry(2));
    tables.counter.reset();
    await store.actions.setStatus(machine(2), actionId(2), 'InProgress');
    await store.actions.setStatus(machine(2), actionId(2), 'Succeeded');
    expect(on(prefix, 'Actions')).toEqual({ PUT: 2 });
    expect(await sibling.actions.forRequest('req-2')).toMatchObject({ status: 'Succeeded', open: false });
  });

  it("writes the device's register record again on the copy it wrote, without reading it", async () => {
    const { store, sibling, prefix } = await stores();
    await store.register.record(change(3, 'isolating'));
    await store.register.record(change(3, 'isolated'));
    // The first write reads (the device may have a record) and inserts; the second only replaces.
    expect(on(prefix, 'Register')).toEqual({ GET: 1, POST: 1, PUT: 1 });
    expect(await sibling.register.get(machine(3))).toMatchObject({ state: 'isolated' });
  });

  it("writes a device's first record with a conditional insert when its ledger was just listed empty", async () => {
    const { store, sibling, prefix } = await stores();
    // Step 8 lists the machine's ledger before the POST; the record is written after it.
    expect(await store.actions.forMachine(machine(15))).toEqual([]);
    await store.register.record(change(15, 'isolating'));
    await store.register.record(change(15, 'isolated'));
    expect(on(prefix, 'Register')).toEqual({ POST: 1, PUT: 1 });
    expect(await sibling.register.get(machine(15))).toMatchObject({ state: 'isolated' });
  });

  it("a record older than the machine's empty ledger meets the insert, is read and written over", async () => {
    const { store, sibling, prefix } = await stores();
    await sibling.register.record(change(16, 'released'));
    tables.counter.reset();
    expect(await store.actions.forMachine(machine(16))).toEqual([]);
    await store.register.record({ ...change(16, 'isolating'), requestId: 'req-16b' });
    // The insert refused (the device has a record), the read, the write over it.
    expect(on(prefix, 'Register')).toEqual({ POST: 1, GET: 1, PUT: 1 });
    const record = await sibling.register.get(machine(16));
    expect(record?.history.map((t) => t.state)).toEqual(['isolating', 'released']);
  });

  it("takes a machine's first claim with a conditional insert and releases it on that copy, reading nothing", async () => {
    const { store, prefix } = await stores();
    expect(await store.machineClaims.take(machine(13), 'req-13', 'holder-a')).toEqual({ taken: true });
    await store.machineClaims.release(machine(13), 'req-13', 'holder-a');
    expect(on(prefix, 'Open')).toEqual({ POST: 1, PUT: 1 });
  });

  it("a first-claim insert that meets another process's claim reads it and waits behind it", async () => {
    const { store, sibling } = await stores();
    await sibling.holders.renew('holder-b', Date.now() + 60_000);
    await sibling.machineClaims.take(machine(14), 'req-14-b', 'holder-b');
    expect(await store.machineClaims.take(machine(14), 'req-14-a', 'holder-a')).toMatchObject({
      taken: false,
      by: { requestId: 'req-14-b', holder: 'holder-b' },
    });
    await sibling.machineClaims.release(machine(14), 'req-14-b', 'holder-b');
    // Its copy of the other's claim is stale now: the take is decided again on what is there.
    expect(await store.machineClaims.take(machine(14), 'req-14-a', 'holder-a')).toEqual({ taken: true });
  });

  it('commits a reservation on the breaker document it reserved on, without reading it again', async () => {
    const { store, prefix } = await stores();
    const limits = { limit: 10, windowMs: 3_600_000 };
    const admission = await store.breaker.reserve({ requestId: 'req-4', manual: false }, limits);
    if (!admission.allowed) throw new Error(admission.reason);
    await store.breaker.commit(admission.reservationId, actionId(4));
    // The reserve reads (nothing there yet) and inserts; the commit replaces the copy it wrote.
    expect(on(prefix, 'Breaker')).toEqual({ GET: 1, POST: 1, PUT: 1 });
  });
});

describe('Table writes from a copy, beside another process', () => {
  it('keeps an action posted whichever process records it first, and both records succeed', async () => {
    for (const [n, postedFirst] of [
      [5, true],
      [6, false],
    ] as const) {
      const { store, sibling } = await stores();
      const posted = store.actions.record(ledgerEntry(n, false));
      const adopted = sibling.actions.record({ ...ledgerEntry(n, true), requestId: `req-${n}-adopter` });
      await (postedFirst ? Promise.all([posted, adopted]) : Promise.all([adopted, posted]));
      const entries = await store.actions.forMachine(machine(n));
      expect(entries).toHaveLength(1);
      // adoptedAgain: an action this app posted stays posted, whoever follows it later.
      expect(entries[0].adopted).toBe(false);
    }
  });

  it('two processes inserting the same new entry at once: one inserts, the other reads and replaces', async () => {
    const { store, sibling, prefix } = await stores();
    await Promise.all([
      store.actions.record(ledgerEntry(7)),
      sibling.actions.record({ ...ledgerEntry(7), status: 'InProgress' }),
    ]);
    const actions = on(prefix, 'Actions');
    // Four inserts tried (entry and index, twice), and at least one of them conflicted and was
    // decided again on a read: no write went through unconditionally.
    expect(actions.POST).toBe(4);
    expect(actions.PUT).toBeGreaterThanOrEqual(1);
    expect(await store.actions.forMachine(machine(7))).toHaveLength(1);
  });

  it("a status written on a stale copy meets the other process's write and is decided again on a read", async () => {
    const { store, sibling } = await stores();
    await store.actions.record(ledgerEntry(8));
    await sibling.actions.abandon(machine(8), actionId(8));
    await store.actions.setStatus(machine(8), actionId(8), 'InProgress');
    // The abandon closed it; a late status written on the cached (open) copy would reopen it.
    expect(await sibling.actions.forRequest('req-8')).toMatchObject({ status: 'InProgress', open: false });
  });

  it("a register write on a stale copy keeps the other process's transition", async () => {
    const { store, sibling } = await stores();
    await store.register.record(change(9, 'isolating'));
    await sibling.register.record(change(9, 'isolated'));
    await store.register.record({ ...change(9, 'releasing'), requestId: 'req-9b' });
    const record = await sibling.register.get(machine(9));
    expect(record?.history.map((t) => t.state)).toEqual(['releasing', 'isolated', 'isolating']);
  });

  it("the breaker counts both processes' isolations though each writes from its own copy", async () => {
    const { store, sibling } = await stores();
    const limits = { limit: 2, windowMs: 3_600_000 };
    for (const [each, n] of [
      [store, 10],
      [sibling, 11],
    ] as const) {
      const admission = await each.breaker.reserve({ requestId: `req-${n}`, manual: false }, limits);
      if (!admission.allowed) throw new Error(admission.reason);
      await each.breaker.commit(admission.reservationId, actionId(n));
    }
    // The first process's copy predates the sibling's commit: its reserve must see both.
    expect(await store.breaker.reserve({ requestId: 'req-12', manual: false }, limits)).toMatchObject({
      allowed: false,
    });
  });
});
