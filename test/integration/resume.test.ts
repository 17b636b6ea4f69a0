/**
 * An inline start resuming the tracking of what the action ledger shows open: every open action,
 * however many pages the ledger holds, with the register read in batches, while MDE calls go on.
 */
import { Dispatcher } from '../../shared/dispatch/dispatcher';
import { RESUME_READS_AT_ONCE } from '../../shared/dispatch/steps/resume';
import { compressTiming } from '../../shared/dispatch/timing';
import { InProcessQueue } from '../../shared/dispatch/transport/in-process-queue';
import { createRuntime } from '../../shared/runtime';
import { InMemoryStateStore } from '../../shared/state/memory';
import { type IsolationRecord, LIST_MAX, type Provenance, type StateStore } from '../../shared/state/store';
import type { RunningSimulator } from '../../simulator';
import { recordingReporter, silentReporter } from '../support/reporter';
import { startSimulatorWithIdentity } from '../support/simulator';

const machine = (n: number) => `c${n.toString(16).padStart(39, '0')}`;
const actionId = (n: number) => `00000000-0000-4000-8000-${n.toString().padStart(12, '0')}`;

const provenance: Provenance = {
  requestedBy: { kind: 'rule', name: 'isolate-high' },
  alertSource: 'mde-alert',
  alertId: 'alert-1',
  incidentId: null,
  incidentArmId: null,
  policyVersion: 'v1',
  mode: 'enforce',
  reason: 'ransomware',
};

/** `count` open isolations, each with the register record of the request that follows it. */
async function followed(store: StateStore, count: number): Promise<void> {
  const at = new Date().toISOString();
  for (let n = 1; n <= count; n += 1) {
    const requestId = `req-${n}`;
    await store.register.record({
      machineId: machine(n),
      state: 'isolating',
      requestId,
      reason: 'rule',
      provenance,
    });
    await store.actions.record({
      machineId: machine(n),
      actionId: actionId(n),
      requestId,
      type: 'Isolate',
      status: 'Pending',
      adopted: false,
      computerDnsName: null,
      createdAt: at,
      recordedAt: at,
    });
  }
}

/** The store, with its register reads counted (and held, while `hold` is set, until `release`). */
function watchedStore(inner: StateStore) {
  let inFlight = 0;
  const watch = { reads: 0, mostAtOnce: 0, hold: false, held: [] as (() => void)[], firstHeld: () => {} };
  const register = {
    ...inner.register,
    get: async (machineId: string): Promise<IsolationRecord | null> => {
      watch.reads += 1;
      inFlight += 1;
      watch.mostAtOnce = Math.max(watch.mostAtOnce, inFlight);
      try {
        if (watch.hold) {
          const released = new Promise<void>((release) => watch.held.push(release));
          watch.firstHeld();
          await released;
        }
        return await inner.register.get(machineId);
      } finally {
        inFlight -= 1;
      }
    },
  };
  const store: StateStore = new Proxy(inner, {
    get: (target, name) => (name === 'register' ? register : Reflect.get(target, name)),
  });
  return { store, watch };
}

let sim: RunningSimulator;
beforeAll(async () => {
  sim = await startSimulatorWithIdentity();
});
afterAll(() => sim?.close());

const settings = () => ({ ...sim.env(), MDE_RATE_HEADROOM: '0' });

it('resumes every open action past the first page of the ledger, reading the register in batches', async () => {
  const store = new InMemoryStateStore();
  await followed(store, LIST_MAX + 5);
  const { store: watched, watch } = watchedStore(store);
  // A runtime for its MDE client and throttle only; the dispatcher under test is a process of its own.
  const runtime = createRuntime({
    env: settings(),
    mode: 'inline',
    startWorker: false,
    reporter: silentReporter,
  });
  const queue = new InProcessQueue();
  try {
    const dispatcher = new Dispatcher({
      api: runtime.api,
      policy: runtime.policy,
      queue,
      throttle: runtime.throttle,
      store: watched,
      reporter: silentReporter,
      timing: compressTiming(0.001),
    });
    expect(await dispatcher.resumeOpenActions()).toBe(LIST_MAX + 5);
    expect(queue.pending()).toBe(LIST_MAX + 5);
    expect(watch.reads).toBe(LIST_MAX + 5);
    expect(watch.mostAtOnce).toBe(RESUME_READS_AT_ONCE);
  } finally {
    await queue.close();
    await runtime.close();
  }
});

it('lets MDE calls through while an inline start is still resuming tracking', async () => {
  const { store, watch } = watchedStore(new InMemoryStateStore());
  // Followed by requests the register does not know: resuming abandons them and queues nothing.
  for (let n = 1; n <= 3; n += 1)
    await store.actions.record({
      machineId: machine(n),
      actionId: actionId(n),
      requestId: `lost-${n}`,
      type: 'Isolate',
      status: 'Pending',
      adopted: false,
      computerDnsName: null,
      createdAt: new Date().toISOString(),
      recordedAt: new Date().toISOString(),
    });
  watch.hold = true;
  const resuming = new Promise<void>((started) => {
    watch.firstHeld = started;
  });
  const { reporter, notes } = recordingReporter();
  const runtime = createRuntime({ env: settings(), mode: 'inline', store, reporter });
  try {
    await resuming;
    // Resuming waits on the store; a lookup does not wait for it.
    const [first] = sim.machines();
    await expect(runtime.api.getMachine(first.id)).resolves.toMatchObject({ id: first.id });
    expect(notes.filter((n) => n.event === 'isolation-not-resumed')).toEqual([]);
    watch.hold = false;
    for (const release of watch.held) release();
    await expect(runtime.waitForIdle(30_000)).resolves.toBe(true);
    expect(notes.filter((n) => n.event === 'isolation-not-resumed')).toHaveLength(3);
    expect(await store.actions.open()).toEqual([]);
  } finally {
    await runtime.close();
  }
});
