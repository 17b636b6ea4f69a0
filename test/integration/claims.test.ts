/**
 * Claims held in the store live by their holder's lease (docs/decisions/0013-claims-with-leases.md):
 * two runtimes over one store, through the composition root, the simulator and the real worker. A
 * runtime that stops without ending its requests is left behind: it queues nothing more and its
 * clock stands still, so its lease is never renewed again; the other runtime's clock is moved by hand.
 */
import type { DispatchReporter, OutcomeRecord } from '../../shared/dispatch/outcome';
import { compressTiming } from '../../shared/dispatch/timing';
import type { Clock } from '../../shared/kernel/clock';
import type { MdeApi } from '../../shared/mde/api';
import { loadPolicy } from '../../shared/policy/load';
import { createRuntime, type Runtime, type RuntimeOptions } from '../../shared/runtime';
import { InMemoryStateStore } from '../../shared/state/memory';
import { type StateStore, StoreUnavailableError } from '../../shared/state/store';
import { TableStateStore } from '../../shared/state/table';
import type { RunningSimulator } from '../../simulator';
import { type RunningAzurite, startAzurite } from '../../simulator/azurite';
import { mdeAlert } from '../support/alert-payloads';
import { recordingReporter } from '../support/reporter';
import { startSimulatorWithIdentity } from '../support/simulator';
import { queuedRequestIds, RATE_LIMITS, TEST_POLICY } from './harness';

const DOMAIN = 'contoso.local';
const NAMES = ['ws-finance-01', 'ws-hr-02', 'web1', 'web10'].map((name) => `${name}.${DOMAIN}`);
const LEASE_MS = 60_000;
/** Long enough for the runtimes' work on a loaded machine; no result depends on it. */
const SETTLE_MS = 30_000;

/** Real time plus what the test moved it by. */
class HandClock implements Clock {
  private offset = 0;
  now = () => Date.now() + this.offset;
  advance(ms: number): void {
    this.offset += ms;
  }
}

const stoppedAt = (at: number): Clock => ({ now: () => at });
const systemTime: Clock = { now: () => Date.now() };

let sim: RunningSimulator;
const started: Runtime[] = [];

beforeEach(async () => {
  sim = await startSimulatorWithIdentity({
    rateLimits: RATE_LIMITS,
    lifecycle: { pendingMs: 40, inProgressMs: 40, offlineTimeoutMs: 600_000 },
  });
});

afterEach(async () => {
  for (const runtime of started.splice(0)) await runtime.close();
  await sim.close();
});

/** Stops a runtime the way a process that ends cleanly does. */
async function stop(runtime: Runtime): Promise<void> {
  started.splice(started.indexOf(runtime), 1);
  await runtime.close();
}

function runtimeOn(store: StateStore, clock: Clock, options: Partial<RuntimeOptions> = {}) {
  const recorded = recordingReporter();
  const runtime = createRuntime({
    env: {
      ...sim.env(),
      MDE_RATE_LIMITS: RATE_LIMITS,
      MDE_RATE_HEADROOM: '0',
      MDE_REQUEST_TIMEOUT_MS: '1000',
    },
    mode: 'inline',
    policy: loadPolicy({ kind: 'inline', text: JSON.stringify(TEST_POLICY) }, null),
    reporter: recorded.reporter,
    timing: compressTiming(0.001),
    store,
    clock,
    claimLeaseMs: LEASE_MS,
    ...options,
  });
  started.push(runtime);
  return { runtime, ...recorded };
}

const machineOf = (name: string) => {
  const machine = sim.machines().find((m) => m.computerDnsName === name);
  if (!machine) throw new Error(`no simulated machine ${name}`);
  return machine.id;
};
const isolatePosts = (machineId: string) =>
  sim
    .calls()
    .filter(
      (c) => c.api === 'isolate' && c.method === 'POST' && c.status === 201 && c.path.includes(machineId),
    );
const byName = () => NAMES.map((dnsName) => mdeAlert({ dnsName }));

/** Calls `on` with what `reporter` reports, besides reporting it. */
function watch(
  reporter: DispatchReporter,
  on: { note?: (note: Record<string, unknown>) => void; outcome?: (record: OutcomeRecord) => void },
): void {
  const { note, outcome } = { note: reporter.note.bind(reporter), outcome: reporter.outcome.bind(reporter) };
  reporter.note = (level, record) => {
    note(level, record);
    on.note?.(record);
  };
  reporter.outcome = (record) => {
    outcome(record);
    on.outcome?.(record);
  };
}

/** Resolves once `reporter` noted an event matching `match`. */
function noted(reporter: DispatchReporter, match: (note: Record<string, unknown>) => boolean): Promise<void> {
  return new Promise((resolve) => watch(reporter, { note: (n) => match(n) && resolve() }));
}

/** `api` whose isolate POST for a machine first opens `announce`'s gate, then waits for `waitFor`'s. */
function postingAfter(api: MdeApi, waitFor: Map<string, Gate>, announce?: Map<string, Gate>): MdeApi {
  return Object.assign(Object.create(api) as MdeApi, {
    isolate: async (...args: Parameters<MdeApi['isolate']>) => {
      announce?.get(args[0])?.open();
      await waitFor.get(args[0])?.promise;
      return api.isolate(...args);
    },
  });
}

describe('claims left by a runtime that stopped', () => {
  it('are taken over once its lease lapsed: the next runtime sends their requests again and isolates every device', async () => {
    const clock = new HandClock();
    const store = new InMemoryStateStore({ clock });
    const killed = runtimeOn(store, stoppedAt(clock.now()), { startWorker: false });
    const first = await killed.runtime.receiveAlerts(byName());
    // A storm's second wave is absorbed by the requests the stopped runtime holds.
    const second = await killed.runtime.receiveAlerts(byName());
    expect(queuedRequestIds(first)).toHaveLength(NAMES.length);
    expect(queuedRequestIds(second)).toHaveLength(0);

    clock.advance(LEASE_MS + 1);
    const next = runtimeOn(store, clock);
    await expect(next.runtime.waitForIdle(SETTLE_MS)).resolves.toBe(true);
    for (const name of NAMES) expect(isolatePosts(machineOf(name))).toHaveLength(1);
    expect(next.outcomes.map((o) => o.requestId).sort()).toEqual(queuedRequestIds(first).sort());
    for (const outcome of next.outcomes)
      expect(outcome).toMatchObject({ outcome: 'succeeded', absorbed: { count: 1 } });
  }, 60_000);

  it('make new alerts wait while its lease runs, never absorbed into it, and go through once it lapsed', async () => {
    const clock = new HandClock();
    const store = new InMemoryStateStore({ clock });
    const killed = runtimeOn(store, stoppedAt(clock.now()), { startWorker: false });
    await killed.runtime.receiveAlerts(byName());

    const next = runtimeOn(store, clock);
    await expect(next.runtime.waitForIdle(SETTLE_MS)).resolves.toBe(true);
    const waiting = noted(next.reporter, (n) => String(n.why).startsWith('waiting behind request'));
    const result = await next.runtime.receiveAlerts(byName());
    // Queued on their own: a request another inline process holds may have died with its queue.
    expect(queuedRequestIds(result)).toHaveLength(NAMES.length);
    await waiting;
    for (const name of NAMES) expect(isolatePosts(machineOf(name))).toHaveLength(0);

    clock.advance(LEASE_MS + 1);
    await expect(next.runtime.waitForIdle(SETTLE_MS)).resolves.toBe(true);
    for (const name of NAMES) expect(isolatePosts(machineOf(name))).toHaveLength(1);
    expect(next.outcomes.map((o) => o.outcome)).toEqual(NAMES.map(() => 'succeeded'));
  }, 60_000);

  it('never make a manual order wait once its lease lapsed', async () => {
    const clock = new HandClock();
    const store = new InMemoryStateStore({ clock });
    const killed = runtimeOn(store, stoppedAt(clock.now()), { startWorker: false });
    const [name] = NAMES;
    await killed.runtime.receiveAlerts(mdeAlert({ dnsName: name }));
    const next = runtimeOn(store, clock);
    // Started while the stopped runtime's lease still ran: its request is not sent again.
    await expect(next.runtime.waitForIdle(SETTLE_MS)).resolves.toBe(true);
    clock.advance(LEASE_MS + 1);

    const order = await next.runtime.submitManual({
      action: 'isolate',
      device: { fqdn: name },
      comment: 'IR-20: contain now',
      isolationType: 'Full',
      requestedBy: 'analyst@contoso.com',
    });
    await expect(next.runtime.waitForIdle(SETTLE_MS)).resolves.toBe(true);
    expect(isolatePosts(machineOf(name))).toHaveLength(1);
    expect(next.outcomes).toContainEqual(
      expect.objectContaining({ requestId: order.requestId, outcome: 'succeeded' }),
    );
    expect(next.notes.filter((n) => String(n.why).startsWith('waiting behind'))).toEqual([]);
  }, 60_000);
});

describe('closing a claim', () => {
  it('closes the key the request was opened under when another runtime resumes its tracking', async () => {
    const [name] = NAMES;
    const machineId = machineOf(name);
    sim.setMachine(machineId, { traits: { offline: true } });
    const store = new InMemoryStateStore();
    const before = runtimeOn(store, systemTime);
    await before.runtime.receiveAlerts(mdeAlert({ dnsName: name }));
    await before.runtime.receiveAlerts(mdeAlert({ dnsName: name }));
    // Stops once the isolation is posted and followed, while the device is offline.
    await expect(before.runtime.waitForIdle(1_000)).resolves.toBe(false);
    expect(isolatePosts(machineId)).toHaveLength(1);
    await stop(before.runtime);

    const after = runtimeOn(store, systemTime);
    sim.setMachine(machineId, { traits: { offline: false } });
    await expect(after.runtime.waitForIdle(SETTLE_MS)).resolves.toBe(true);
    expect(after.outcomes).toEqual([
      expect.objectContaining({ outcome: 'succeeded', absorbed: expect.objectContaining({ count: 1 }) }),
    ]);
    const entry = await store.openRequests.get(`fqdn:${name}`);
    expect(entry?.closedAt).not.toBeNull();
  }, 60_000);

  it('retries a close the store refused, so an alert after the request ended is decided on its own', async () => {
    const [name] = NAMES;
    const store = new InMemoryStateStore();
    let refuseCloses = 1;
    const refusing: StateStore = {
      ...storeParts(store),
      openRequests: {
        ...store.openRequests,
        get: (key) => store.openRequests.get(key),
        unclosed: (limit, after) => store.openRequests.unclosed(limit, after),
        update: async (key, step) => {
          let refused = false;
          const result = await store.openRequests.update(key, (current) => {
            const out = step(current);
            refused = refuseCloses > 0 && current?.closedAt === null && out.next?.closedAt != null;
            return refused ? { next: null, result: out.result } : out;
          });
          if (!refused) return result;
          refuseCloses -= 1;
          throw new StoreUnavailableError('state store refused the call (replace on open: HTTP 503)');
        },
      },
    };
    const only = runtimeOn(refusing, systemTime);
    const first = await only.runtime.receiveAlerts(mdeAlert({ dnsName: name }));
    await expect(only.runtime.waitForIdle(SETTLE_MS)).resolves.toBe(true);
    expect(only.outcomes).toEqual([expect.objectContaining({ outcome: 'succeeded' })]);
    expect(refuseCloses).toBe(0);

    const later = await only.runtime.receiveAlerts(mdeAlert({ dnsName: name }));
    expect(queuedRequestIds(later)).toHaveLength(1);
    await expect(only.runtime.waitForIdle(SETTLE_MS)).resolves.toBe(true);
    expect((await store.openRequests.get(`fqdn:${name}`))?.requestId).toBe(queuedRequestIds(later)[0]);
    expect(only.outcomes.map((o) => [o.requestId, o.outcome])).toEqual([
      [queuedRequestIds(first)[0], 'succeeded'],
      [queuedRequestIds(later)[0], 'skipped'],
    ]);
    expect(isolatePosts(machineOf(name))).toHaveLength(1);
  }, 60_000);
});

describe("a machine's claim whose holder's lease lapsed", () => {
  it('keeps a process that stalled past its lease from posting: only the process that took the machine over posts', async () => {
    const [name] = NAMES;
    const machineId = machineOf(name);
    // Long enough that no renewal timer fires during the test: only the hand clock moves the leases.
    const lease = 3_600_000;
    const clock = new HandClock();
    const store = new InMemoryStateStore({ clock });
    const stalled = gate();
    const resumed = gate();
    let stalls = 1;
    // The first runtime's process stalls (a GC pause, a slow store) after its pre-POST reads, in the
    // breaker's admission: nothing of it runs until the test resumes it. (A stall in the ledger read
    // would not be one: MDE's list is read meanwhile, and a process that runs renews its lease.)
    const stalling: StateStore = {
      ...storeParts(store),
      breaker: {
        ...store.breaker,
        reserve: async (request, limits) => {
          const admission = await store.breaker.reserve(request, limits);
          if (stalls-- > 0) {
            stalled.open();
            await resumed.promise;
          }
          return admission;
        },
      },
    };
    const first = runtimeOn(stalling, clock, { claimLeaseMs: lease });
    const other = runtimeOn(store, clock, { claimLeaseMs: lease });
    await expect(other.runtime.waitForIdle(SETTLE_MS)).resolves.toBe(true);
    await first.runtime.receiveAlerts(mdeAlert({ dnsName: name }));
    await stalled.promise;

    clock.advance(lease + 1);
    await other.runtime.receiveAlerts(mdeAlert({ machineId }));
    await expect(other.runtime.waitForIdle(SETTLE_MS)).resolves.toBe(true);
    expect(other.outcomes).toEqual([expect.objectContaining({ outcome: 'succeeded' })]);
    expect(isolatePosts(machineId)).toHaveLength(1);

    resumed.open();
    await expect(first.runtime.waitForIdle(SETTLE_MS)).resolves.toBe(true);
    expect(isolatePosts(machineId)).toHaveLength(1);
    expect(first.outcomes).toEqual([
      expect.objectContaining({ outcome: expect.stringMatching(/^(succeeded|skipped)$/) }),
    ]);
  }, 60_000);
});

describe("a POST that waited past its process's lease", () => {
  it('is not sent once another process took the machine over and posted meanwhile', async () => {
    const [name] = NAMES;
    const machineId = machineOf(name);
    // Long enough that no renewal timer fires during the test: only the hand clock moves the leases.
    const lease = 3_600_000;
    const clock = new HandClock();
    const store = new InMemoryStateStore({ clock });
    const waiting = gate();
    const sent = gate();
    // The first runtime's POST waits after the worker decided to send it (a slot, a 429 pause, the
    // line of POSTs in flight) while its lease runs out.
    const first = runtimeOn(store, clock, {
      claimLeaseMs: lease,
      decorateApi: (api) => postingAfter(api, new Map([[machineId, sent]]), new Map([[machineId, waiting]])),
    });
    const other = runtimeOn(store, clock, { claimLeaseMs: lease });
    await expect(other.runtime.waitForIdle(SETTLE_MS)).resolves.toBe(true);
    await first.runtime.receiveAlerts(mdeAlert({ dnsName: name }));
    await waiting.promise;

    clock.advance(lease + 1);
    await other.runtime.receiveAlerts(mdeAlert({ machineId }));
    await expect(other.runtime.waitForIdle(SETTLE_MS)).resolves.toBe(true);
    expect(other.outcomes).toEqual([expect.objectContaining({ outcome: 'succeeded' })]);
    expect(isolatePosts(machineId)).toHaveLength(1);

    sent.open();
    await expect(first.runtime.waitForIdle(SETTLE_MS)).resolves.toBe(true);
    expect(isolatePosts(machineId)).toHaveLength(1);
    expect(first.outcomes).toEqual([
      expect.objectContaining({ outcome: expect.stringMatching(/^(succeeded|skipped)$/) }),
    ]);
  }, 60_000);
});

describe('two runtimes on one Table store', () => {
  let azurite: RunningAzurite;
  beforeAll(async () => {
    azurite = await startAzurite();
  }, 30_000);
  afterAll(() => azurite?.stop());

  it('post one Isolate per device when one is given the device by id and the other by name at the same moment', async () => {
    const target = { kind: 'connection-string' as const, connectionString: azurite.connectionString };
    const tablePrefix = `claims${process.pid}`;
    const machines = NAMES.map(machineOf);
    // The worst order for a guard held in one process's memory: the runtime given ids posts only once
    // the one given names has checked MDE and reached its own POST, and that one posts only once the
    // first one's action has ended, when MDE accepts another. Either may instead be kept out by the
    // other's claim on the machine, which also lets the other go on.
    const checked = new Map(machines.map((id) => [id, gate()]));
    const ended = new Map(machines.map((id) => [id, gate()]));
    const keptOut = (note: Record<string, unknown>) =>
      machines.filter((id) => String(note.why).includes(`posting to machine ${id}`));
    const byId = runtimeOn(new TableStateStore(target, { tablePrefix }), systemTime, {
      decorateApi: (api) => postingAfter(api, checked),
    });
    const byDnsName = runtimeOn(new TableStateStore(target, { tablePrefix }), systemTime, {
      decorateApi: (api) => postingAfter(api, ended, checked),
    });
    const openAll = (gates: Map<string, Gate>, ids: string[]) => {
      for (const id of ids) gates.get(id)?.open();
    };
    watch(byDnsName.reporter, { note: (n) => openAll(checked, keptOut(n)) });
    watch(byId.reporter, {
      note: (n) => openAll(ended, keptOut(n)),
      outcome: (o) => openAll(ended, o.machineId ? [o.machineId] : []),
    });

    await Promise.all([
      byId.runtime.receiveAlerts(machines.map((machineId) => mdeAlert({ machineId }))),
      byDnsName.runtime.receiveAlerts(byName()),
    ]);
    await expect(byDnsName.runtime.waitForIdle(SETTLE_MS)).resolves.toBe(true);
    await expect(byId.runtime.waitForIdle(SETTLE_MS)).resolves.toBe(true);
    for (const id of machines) expect(isolatePosts(id)).toHaveLength(1);
    // Each request ends with its own outcome: the action posted, or the other's (followed, adopted).
    const outcomes = [...byId.outcomes, ...byDnsName.outcomes];
    for (const id of machines) {
      const own = outcomes.filter((o) => o.machineId === id);
      expect(own).toHaveLength(2);
      for (const o of own) expect(['succeeded', 'coalesced']).toContain(o.outcome);
    }
  }, 60_000);
});

interface Gate {
  promise: Promise<void>;
  open: () => void;
}

function gate(): Gate {
  let open: () => void = () => undefined;
  const promise = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { promise, open };
}

function storeParts(store: StateStore): StateStore {
  return {
    register: store.register,
    openRequests: store.openRequests,
    machineClaims: store.machineClaims,
    holders: store.holders,
    breaker: store.breaker,
    deploymentCap: store.deploymentCap,
    actions: store.actions,
    quota: store.quota,
    drift: store.drift,
    approvals: store.approvals,
    ping: () => store.ping(),
  };
}
