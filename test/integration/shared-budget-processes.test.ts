/**
 * One MDE quota for OS processes that share nothing but the store (docs/decisions/0014-one-budget-across-processes.md):
 * a worker runtime in a storm, an HTTP runtime serving manual action reads and cancels through the
 * function handlers, and CLI runs, each a child process with its own Table client over one Azurite
 * and its own MDE client, against one simulator that enforces the quota (it answers 429 past any
 * window). Before the storm, an HTTP process is SIGKILLed while it holds a batch of slots; after it,
 * the worker is replaced by a new process. Every wait is on an answer (a child's, the store's, the
 * simulator's), never on time; a long third window keeps every call in the budget documents, so the
 * store can be held to the simulator's count.
 */
import { parseRateLimits } from '../../shared/config';
import { TableStateStore } from '../../shared/state/table';
import type { RunningSimulator } from '../../simulator';
import { type RunningAzurite, startAzurite } from '../../simulator/azurite';
import { mdeAlert } from '../support/alert-payloads';
import { RuntimeProcess, runCliProcess } from '../support/processes/children';
import { admitted, peaks } from '../support/quota-peaks';
import { startSimulatorWithIdentity } from '../support/simulator';
import { TEST_POLICY } from './harness';

/** A compressed quota, on the simulator and in the app alike; the last window outlasts the test. */
const RATE_LIMITS = '12/600ms,60/6s,5000/1h';
const DEVICES = 16;
/** How long a killed process's slots hold: its holder lease. */
const LEASE_MS = 1_500;
/** Long enough for the storm on a loaded machine; no result depends on it. */
const SETTLE_MS = 120_000;

let azurite: RunningAzurite;
let sim: RunningSimulator;
let env: Record<string, string>;
const children: RuntimeProcess[] = [];

beforeAll(async () => {
  azurite = await startAzurite();
  sim = await startSimulatorWithIdentity({
    rateLimits: RATE_LIMITS,
    fleet: { curated: false, generate: 3 * DEVICES, offlineShare: 0 },
    lifecycle: { pendingMs: 40, inProgressMs: 40, offlineTimeoutMs: 600_000 },
  });
  env = {
    ...sim.env(),
    MDE_RATE_LIMITS: RATE_LIMITS,
    MDE_RATE_HEADROOM: '0',
    MDE_REQUEST_TIMEOUT_MS: '5000',
    ISOLATION_POLICY: JSON.stringify(TEST_POLICY),
    AzureWebJobsStorage: azurite.connectionString,
  };
}, 30_000);

afterAll(async () => {
  await Promise.all(children.map((child) => child.kill()));
  await sim?.close();
  await azurite?.stop();
});

function start(role: 'worker' | 'http'): RuntimeProcess {
  const child = new RuntimeProcess(role, env, LEASE_MS);
  children.push(child);
  return child;
}

/** Each of `machines` isolated, by exactly one isolate POST MDE accepted. */
function expectIsolatedOnce(machines: readonly { id: string }[]): void {
  for (const m of machines) {
    const posts = sim.calls().filter((c) => c.api === 'isolate' && c.status === 201 && c.path.includes(m.id));
    expect({ machine: m.id, posts: posts.length }).toEqual({ machine: m.id, posts: 1 });
    expect(sim.machineState(m.id)?.isolated).toBe(true);
  }
}

/** Ordinary Windows devices of the generated fleet: each isolated by the storm. */
const windowsDevices = () => sim.machines().filter((m) => String(m.osPlatform).startsWith('Windows'));

it('keeps three kinds of process inside one quota, a killed one costing its slots until its lease ends, and a new worker counts every call', async () => {
  const store = new TableStateStore({
    kind: 'connection-string',
    connectionString: azurite.connectionString,
  });
  const budget = (api: string) =>
    store.quota.update(api as 'machines', (doc) => ({ next: null, result: doc }));
  const devices = windowsDevices();
  const machines = devices.slice(0, DEVICES);

  // An HTTP process makes one call and is frozen, then killed, holding slots: its batch, or the one in
  // flight when it gave the others back for idling on a slow machine.
  const doomed = start('http');
  await doomed.ready;
  await doomed.ask({ do: 'hold', machineId: devices[DEVICES].id });
  const [held] = (await budget('machines')).shares;
  expect(held).toMatchObject({ stamps: [], held: expect.any(Number) });
  expect(held.held).toBeGreaterThan(0);
  const leaseEnd = await store.holders.liveUntil(held.holder);
  expect(leaseEnd).toBeGreaterThan(0);
  await doomed.kill();

  // Analysts' isolations of offline devices: Pending until cancelled, read and cancelled by hand.
  const theirs = devices.slice(DEVICES + 1, DEVICES + 5).map((m) => {
    sim.setMachine(m.id, { traits: { offline: true } });
    return String(
      sim.portalAction(m.id, 'Isolate', { requestor: 'analyst@contoso.com', comment: 'containment' }).id,
    );
  });

  const worker = start('worker');
  const http = start('http');
  await Promise.all([worker.ready, http.ready]);
  const storm = worker.ask<number>({
    do: 'alerts',
    body: machines.map((m) => mdeAlert({ machineId: m.id })),
  });
  const reads = theirs.flatMap((actionId) => [1, 2, 3].map(() => http.ask({ do: 'read-action', actionId })));
  const cancels = theirs
    .slice(0, 2)
    .map((actionId) => http.ask({ do: 'cancel-action', actionId, reason: 'false positive' }));
  const lookups = machines.slice(0, 4).map((m) => runCliProcess(env, 'lookup', String(m.computerDnsName)));
  expect(await storm).toBe(DEVICES);
  expect(await Promise.all(reads)).toEqual(Array(reads.length).fill(200));
  expect(await Promise.all(cancels)).toEqual([200, 200]);
  for (const run of await Promise.all(lookups))
    expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: '' });
  await expect(worker.ask({ do: 'idle', maxWaitMs: SETTLE_MS })).resolves.toBe(true);

  expectIsolatedOnce(machines);

  // The killed process's slots count as calls made when its lease ended, and it holds nothing more.
  const machinesDoc = await budget('machines');
  expect(machinesDoc.shares.find((s) => s.holder === held.holder)).toBeUndefined();
  const atLeaseEnd = machinesDoc.shares.flatMap((s) => s.stamps).filter((at) => at === leaseEnd);
  expect(atLeaseEnd).toHaveLength(held.held);

  // A new worker in a new process, once the first is gone: its calls fit with everyone's.
  await worker.ask({ do: 'close' });
  await worker.exited;
  const next = start('worker');
  await next.ready;
  const later = devices.slice(DEVICES + 5, DEVICES + 9);
  await expect(
    next.ask({ do: 'alerts', body: later.map((m) => mdeAlert({ machineId: m.id })) }),
  ).resolves.toBe(later.length);
  await expect(next.ask({ do: 'idle', maxWaitMs: SETTLE_MS })).resolves.toBe(true);
  expectIsolatedOnce(later);
  await next.ask({ do: 'close' });
  await next.exited;
  await http.ask({ do: 'close' });
  await http.exited;

  expect(sim.calls().filter((c) => c.status === 429)).toEqual([]);
  const limits = parseRateLimits(RATE_LIMITS).map((w) => w.count);
  for (const [api, peak] of peaks(sim.calls(), RATE_LIMITS))
    expect({ api, peak }).toEqual({ api, peak: peak.map((calls, i) => Math.min(calls, limits[i])) });
  // Every process reported its calls to the store: each one the simulator admitted is there, and
  // the killed process's slots in place of its one call.
  for (const [api, count] of admitted(sim.calls())) {
    const stamps = (await budget(api)).shares.flatMap((s) => s.stamps);
    expect({ api, stamps: stamps.length }).toEqual({
      api,
      stamps: count + (api === 'machines' ? held.held - 1 : 0),
    });
  }
}, 300_000);
