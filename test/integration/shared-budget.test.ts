/**
 * One MDE quota for every process that holds the identity (docs/decisions/0014-one-budget-across-processes.md):
 * a worker runtime in a storm, an HTTP runtime serving manual reads and cancels, and CLI runs, each
 * with its own Table store client over one Azurite and its own MDE client, against one simulator that
 * enforces the quota (it answers 429 past any window). They are runtimes in this jest process (the
 * same with OS processes and a real SIGKILL: shared-budget-processes.test.ts): a killed process is one
 * whose store refuses every write from the moment of the kill, so its lease is never renewed nor
 * ended and its slots never given back.
 */
import { tmpdir } from 'node:os';
import { parseRateLimits } from '../../shared/config';
import type { DispatchReporter } from '../../shared/dispatch/outcome';
import { compressTiming } from '../../shared/dispatch/timing';
import { cancelPendingAction } from '../../shared/manual/cancel';
import { actionOf } from '../../shared/manual/reads';
import { loadPolicy } from '../../shared/policy/load';
import { createRuntime, openReadOnly, type Runtime } from '../../shared/runtime';
import type { StateStore } from '../../shared/state/store';
import { TableStateStore } from '../../shared/state/table';
import type { RunningSimulator } from '../../simulator';
import { type RunningAzurite, startAzurite } from '../../simulator/azurite';
import { cliIn } from '../cli/run-cli';
import { mdeAlert } from '../support/alert-payloads';
import { peaks } from '../support/quota-peaks';
import { recordingReporter } from '../support/reporter';
import { startSimulatorWithIdentity } from '../support/simulator';
import { TEST_POLICY } from './harness';

/** A compressed quota, on the simulator and in the app alike. */
const RATE_LIMITS = '12/600ms,60/6s';
const DEVICES = 16;
/** How long a killed process's slots hold: its holder lease. */
const LEASE_MS = 1_500;
/** Long enough for the storm on a loaded machine; no result depends on it. */
const SETTLE_MS = 60_000;

let azurite: RunningAzurite;
let sim: RunningSimulator;
let env: Record<string, string>;
const open: { close(): Promise<void> }[] = [];

beforeAll(async () => {
  azurite = await startAzurite();
}, 30_000);
afterAll(() => azurite?.stop());

beforeEach(async () => {
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
});

afterEach(async () => {
  for (const runtime of open.splice(0)) await runtime.close();
  await sim.close();
});

/** Ordinary Windows devices of the generated fleet: each isolated by the storm. */
const windowsDevices = () => sim.machines().filter((m) => String(m.osPlatform).startsWith('Windows'));

/** Real time plus what a test moved it by: the time of every runtime of a test. */
class OffsetClock {
  private offset = 0;
  now = () => Date.now() + this.offset;
  advance(ms: number): void {
    this.offset += ms;
  }
}

/** A store client of its own over the Azurite tables (those the settings name, or `tablePrefix`'s). */
const tableStore = (tablePrefix?: string): StateStore =>
  new TableStateStore(
    { kind: 'connection-string', connectionString: azurite.connectionString },
    tablePrefix === undefined ? {} : { tablePrefix },
  );

function runtime(options: {
  startWorker: boolean;
  store?: StateStore;
  reporter?: DispatchReporter;
}): Runtime {
  const created = createRuntime({
    env,
    mode: 'inline',
    policy: loadPolicy({ kind: 'inline', text: JSON.stringify(TEST_POLICY) }, null),
    reporter: options.reporter ?? recordingReporter().reporter,
    timing: compressTiming(0.001),
    store: options.store ?? tableStore(),
    claimLeaseMs: LEASE_MS,
    startWorker: options.startWorker,
  });
  open.push(created);
  return created;
}

/** A killed process's notes (its syncs that fail) go nowhere, as its log would. */
const silent: DispatchReporter = { outcome: () => undefined, note: () => undefined };

/** The store of a process that is killed at `kill()`: from then on it writes nothing. */
function killable(store: StateStore): { store: StateStore; kill(): void } {
  let killed = false;
  const alive = () => {
    if (killed) throw new Error('SIGKILL');
  };
  return {
    store: {
      ...store,
      ping: () => store.ping(),
      quota: {
        update: async (api, step) => {
          alive();
          return store.quota.update(api, step);
        },
      },
      holders: {
        renew: async (holder, until) => {
          alive();
          return store.holders.renew(holder, until);
        },
        end: async (holder) => {
          alive();
          return store.holders.end(holder);
        },
        liveUntil: (holder) => store.holders.liveUntil(holder),
      },
    },
    kill: () => {
      killed = true;
    },
  };
}

describe('one quota budget across processes', () => {
  it('keeps a storm, manual reads and cancels, and CLI lookups inside the quota together, and a restarted worker counts them all', async () => {
    const devices = windowsDevices();
    const machines = devices.slice(0, DEVICES);
    const bystander = devices[DEVICES];
    const worker = runtime({ startWorker: true });
    const http = runtime({ startWorker: false });
    const cli = cliIn(tmpdir(), env);

    // A process that takes slots and is killed holding them.
    const doomed = killable(tableStore());
    const victim = openReadOnly({ env, store: doomed.store, claimLeaseMs: LEASE_MS, reporter: silent });
    await victim.api.getMachine(bystander.id);
    doomed.kill();

    const storm = worker.receiveAlerts(machines.map((m) => mdeAlert({ machineId: m.id })));
    // The manual endpoints' own code: action reads, and a forced cancel of an analyst's action.
    const reads = Array.from({ length: 12 }, async (_, i) => {
      const id = machines[i % machines.length].id;
      await http.api.getMachine(id);
      const [latest] = await http.api.listMachineActions({ machineId: id });
      if (latest) expect(await actionOf(http.api, http.store, latest.id)).toMatchObject({ status: 200 });
    });
    const cancels = [0, 1].map(async (i) => {
      // Offline, the analyst's isolation stays Pending until it is cancelled.
      sim.setMachine(devices[DEVICES + 1 + i].id, { traits: { offline: true } });
      const theirs = sim.portalAction(devices[DEVICES + 1 + i].id, 'Isolate', {
        requestor: 'analyst@contoso.com',
        comment: 'containment',
      });
      const order = { actionId: String(theirs.id), reason: 'test', force: true, by: 'the test' };
      expect(await cancelPendingAction(http, order)).toMatchObject({ kind: 'cancelled' });
    });
    const lookups = machines.slice(0, 4).map((m) => cli('lookup', String(m.computerDnsName)));
    await Promise.all([storm, ...reads, ...cancels]);
    for (const run of await Promise.all(lookups)) expect(run.code).toBe(0);
    await expect(worker.waitForIdle(SETTLE_MS)).resolves.toBe(true);

    for (const m of machines) {
      const posts = sim
        .calls()
        .filter((c) => c.api === 'isolate' && c.status === 201 && c.path.includes(m.id));
      expect(posts).toHaveLength(1);
      expect(sim.machineState(m.id)?.isolated).toBe(true);
    }

    // A restarted worker starts at once from every process's calls, the killed one's slots included.
    await worker.close();
    open.splice(open.indexOf(worker), 1);
    const next = runtime({ startWorker: false });
    await Promise.all(Array.from({ length: 30 }, (_, i) => next.api.getMachine(machines[i % DEVICES].id)));

    expect(sim.calls().filter((c) => c.status === 429)).toEqual([]);
    const limits = parseRateLimits(RATE_LIMITS).map((w) => w.count);
    for (const [api, peak] of peaks(sim.calls(), RATE_LIMITS))
      expect({ api, peak }).toEqual({ api, peak: peak.map((calls, i) => Math.min(calls, limits[i])) });
  }, 120_000);

  it('counts the slots a killed process held as calls made by the end of its lease, and no longer holds them', async () => {
    const clock = new OffsetClock();
    const doomed = killable(tableStore('killed'));
    const victim = openReadOnly({
      env,
      store: doomed.store,
      claimLeaseMs: LEASE_MS,
      clock,
      reporter: silent,
    });
    const id = windowsDevices()[0].id;
    await victim.api.getMachine(id);
    doomed.kill();
    const store = tableStore('killed');
    const shares = () => store.quota.update('machines', (doc) => ({ next: null, result: doc.shares }));
    // It asked for a batch of 10 and made one call, which it never reported: all 10 are held.
    const [held] = await shares();
    expect(held).toMatchObject({ stamps: [], held: 10 });
    const leaseEnd = await store.holders.liveUntil(held.holder);
    expect(leaseEnd).toBeGreaterThan(0);

    clock.advance(LEASE_MS);
    const survivor = openReadOnly({ env, store, claimLeaseMs: LEASE_MS, clock });
    open.push(survivor);
    await survivor.api.getMachine(id);
    const after = await shares();
    expect(after.find((s) => s.holder === held.holder)).toBeUndefined();
    expect(after.find((s) => s.holder === 'ended')).toEqual({
      holder: 'ended',
      stamps: Array(10).fill(leaseEnd),
      held: 0,
    });
    // The survivor was granted only what the short window had left besides them.
    const mine = after.find((s) => s.holder !== 'ended');
    expect((mine?.held ?? 0) + (mine?.stamps.length ?? 0)).toBeLessThanOrEqual(12 - 10);
  }, 60_000);
});
