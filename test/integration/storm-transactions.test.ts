/**
 * What one device's storm costs the Table store in an inline runtime, counted as Azure bills it by a
 * proxy in front of a real Azurite (test/support/table-transaction-tables.counter.ts), through intake, the
 * in-process queue, the worker, the tracker and the simulator (decision 0034): the alerts absorbed
 * into the request this process holds are written once, with its close, and its outcome still lists
 * every one; its first delivery neither reads its key again nor looks for an action of its own in
 * the ledger.
 */
import { TableClient } from '@azure/data-tables';
import { PRIORITY } from '../../shared/dispatch/request';
import type { SubmittedRequest } from '../../shared/intake/receive-alerts';
import { mdeAlert } from '../support/alert-payloads';
import { useCountedAzurite } from '../support/counted-azurite';
import { endHeldActions, type Harness, HELD_ACTIONS, startHarness, TEST_POLICY, until } from './harness';

const DOMAIN = 'contoso.local';
const POLICY = {
  ...TEST_POLICY,
  rules: [{ name: 'isolate-any', minSeverity: 'low', action: 'isolate', isolationType: 'Full' }],
};

const tables = useCountedAzurite('s');
let h: Harness | undefined;

afterEach(async () => {
  await h?.close();
  h = undefined;
});

/** An inline runtime on tables of its own, its actions held Pending until the test ends them. */
async function start(): Promise<{ h: Harness; prefix: string }> {
  const prefix = tables.freshPrefix();
  const store = tables.storeOn(prefix);
  h = await startHarness({ policy: POLICY, store, simulator: HELD_ACTIONS });
  return { h, prefix };
}

/** Whether the worker released the machine's pre-POST claim: read beside the proxy, so not counted. */
async function machineReleased(prefix: string, machineId: string): Promise<boolean> {
  const open = TableClient.fromConnectionString(tables.azurite.connectionString, `${prefix}Open`, {
    allowInsecureConnection: true,
  });
  const claim = await open.getEntity('machine', machineId).catch(() => null);
  return claim?.closed === true;
}

const { on } = tables;

const requestsOf = (result: Awaited<ReturnType<Harness['submit']>>): SubmittedRequest[] =>
  result.alerts.flatMap((a) => (a.status === 'accepted' ? a.requests : []));

describe("a storm's Table transactions in an inline runtime", () => {
  it('writes the alerts absorbed into its own request once, with the close, and lists every one', async () => {
    const { h, prefix } = await start();
    const machine = h.machineId(`ws-finance-01.${DOMAIN}`);
    const [carrier] = requestsOf(await h.submit(mdeAlert({ machineId: machine }, { severity: 'Low' })));
    await until(() => machineReleased(prefix, machine), 'the POST recorded and the machine released');
    tables.counter.reset();
    const storm = Array.from({ length: 9 }, (_, n) =>
      mdeAlert({ machineId: machine }, { severity: n === 4 ? 'High' : 'Low' }),
    );
    const absorbed = requestsOf(await h.submit(storm));
    expect(absorbed.every((r) => r.duplicate && r.carriedBy === carrier.requestId)).toBe(true);
    // Before: one conditional write per absorbed alert.
    expect(on(prefix, 'Open')).toEqual({});
    endHeldActions(h);
    await h.settle();
    expect(on(prefix, 'Open')).toEqual({ PUT: 1 });
    const [carried] = h.outcomes.filter((o) => o.requestId === carrier.requestId);
    expect(carried).toMatchObject({ outcome: 'succeeded', absorbed: { count: 9 } });
    expect(carried.absorbed?.alerts.map((a) => a.requestId)).toEqual(absorbed.map((r) => r.requestId));
    expect(await h.runtime.store.openRequests.get(`mde:${machine}`)).toMatchObject({
      requestId: carrier.requestId,
      absorbedCount: 9,
      priority: PRIORITY.high,
      closedAt: expect.any(String),
    });
  });

  it("ends a late alert on the register's copy this process wrote, MDE's list judging", async () => {
    const { h, prefix } = await start();
    const machine = h.machineId(`web1.${DOMAIN}`);
    await h.submit(mdeAlert({ machineId: machine }));
    await until(() => h.actionsOn(machine, 'Isolate').length === 1);
    endHeldActions(h);
    await h.settle();
    tables.counter.reset();
    const [late] = requestsOf(await h.submit(mdeAlert({ machineId: machine })));
    expect(late.duplicate).toBe(false);
    await h.settle();
    expect(h.outcomes.filter((o) => o.requestId === late.requestId)).toEqual([
      expect.objectContaining({ outcome: 'skipped', reason: expect.stringContaining('absorbed into it') }),
    ]);
    // Before: step 3b read the record its tracking had just written.
    expect(on(prefix, 'Register')).toEqual({});
    // The machine's ledger listing; its key opened for it and closed.
    expect(on(prefix, 'Actions')).toEqual({ GET: 1 });
    expect(on(prefix, 'Open')).toEqual({ PUT: 2 });
  });

  it("claims its key on this process's copy and looks for no action of its own on its first delivery", async () => {
    const { h, prefix } = await start();
    const machine = h.machineId(`ws-hr-02.${DOMAIN}`);
    // Start-up's own reads (claims left by a stopped run, actions to resume) are not this request's.
    expect(await h.runtime.waitForIdle(30_000)).toBe(true);
    tables.counter.reset();
    const [request] = requestsOf(await h.submit(mdeAlert({ machineId: machine })));
    await until(() => h.actionsOn(machine, 'Isolate').length === 1);
    endHeldActions(h);
    await h.settle();
    expect(h.outcomes.filter((o) => o.requestId === request.requestId)).toEqual([
      expect.objectContaining({ outcome: 'succeeded' }),
    ]);
    // Intake's read of a key it never saw; the key's entry and the machine's claim, each written and
    // closed. Before: the worker's claim read the key again (and intake did, when the claim came first).
    expect(on(prefix, 'Open')).toEqual({ GET: 1, POST: 2, PUT: 2 });
    // The machine's listing before the POST. Before: the request index was read first (404).
    expect(on(prefix, 'Actions')).toEqual({ GET: 1, POST: 2, PUT: 1 });
    // The device's record, inserted as the listing found the machine's ledger empty, then written over
    // on its copy. Before: its first write read it first (404).
    expect(on(prefix, 'Register')).toEqual({ POST: 1, PUT: 1 });
  });
});
