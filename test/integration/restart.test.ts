/**
 * Dispatch across restarts and across processes, over one state store: each "process" is a
 * Dispatcher of its own (its own queue, reporter and, for the Table adapter, its own store clients)
 * on the same simulator. Run against the in-process store and the Table adapter over a real Azurite.
 * And the store down: nothing posted, the request deferred, then dead-lettered past the bound.
 */
import { Dispatcher } from '../../shared/dispatch/dispatcher';
import type { OutcomeRecord } from '../../shared/dispatch/outcome';
import type { IsolationRequest } from '../../shared/dispatch/request';
import { compressTiming } from '../../shared/dispatch/timing';
import { InProcessQueue } from '../../shared/dispatch/transport/in-process-queue';
import type { QueueMessage, RequestQueue } from '../../shared/dispatch/transport/queue';
import { receiveAlerts } from '../../shared/intake/receive-alerts';
import { loadPolicy } from '../../shared/policy/load';
import type { IsolationPolicy } from '../../shared/policy/types';
import { InMemoryStateStore } from '../../shared/state/memory';
import type { StateStore } from '../../shared/state/store';
import { TableStateStore } from '../../shared/state/table';
import {
  azuriteConnectionString,
  freeLoopbackPort,
  type RunningAzurite,
  startAzurite,
} from '../../simulator/azurite';
import { fixture } from '../fixtures';
import { mdeAlert } from '../support/alert-payloads';
import { type Harness, isolateRequest, laggingActionList, startHarness, TEST_POLICY } from './harness';

const DOMAIN = 'contoso.local';
const TIMING = compressTiming(0.001);
const gen = (n: number) => `gen-${String(n).padStart(5, '0')}.fleet.${DOMAIN}`;

let azurite: RunningAzurite;
let prefixes = 0;

beforeAll(async () => {
  azurite = await startAzurite();
}, 30_000);
afterAll(() => azurite?.stop());

/** How a "process" opens the shared store: the same instance in memory, new clients over Azurite. */
type OpenStore = () => StateStore;

/** How far the stores' clock runs ahead of the wall clock (a process started later). */
let skewMs = 0;
const skewedClock = { now: () => Date.now() + skewMs };

const STORES: [string, () => OpenStore][] = [
  [
    'in-process store',
    () => {
      const store = new InMemoryStateStore({ clock: skewedClock });
      return () => store;
    },
  ],
  [
    'Table store over Azurite',
    () => {
      prefixes += 1;
      const tablePrefix = `restart${process.pid}x${prefixes}`;
      const target = { kind: 'connection-string' as const, connectionString: azurite.connectionString };
      return () => new TableStateStore(target, { clock: skewedClock, tablePrefix });
    },
  ],
];

function policyWith(blastRadius: object): IsolationPolicy {
  const document = { ...TEST_POLICY, blastRadius: { ...TEST_POLICY.blastRadius, ...blastRadius } };
  return loadPolicy({ kind: 'inline', text: JSON.stringify(document) }, null);
}

/** One process: a dispatcher over `store`, with a queue and outcomes of its own. */
interface Process {
  dispatcher: Dispatcher;
  queue: InProcessQueue;
  outcomes: OutcomeRecord[];
  notes: Record<string, unknown>[];
  /** Delivers a message to this process, as the queue trigger would. */
  handle(request: IsolationRequest): Promise<void>;
}

describe.each(STORES)('dispatch across restarts: %s', (_name, makeOpen) => {
  let h: Harness;
  let open: OpenStore;
  const lag = laggingActionList();
  const running: InProcessQueue[] = [];

  beforeAll(async () => {
    h = await startHarness({
      simulator: { fleet: { generate: 12, offlineShare: 0 } },
      decorateApi: lag.decorate,
    });
    open = makeOpen();
  });
  afterAll(async () => {
    for (const queue of running) await queue.close();
    await h.close();
  });

  function startProcess(
    policy: IsolationPolicy,
    options: { store?: StateStore; queue?: RequestQueue; worker?: boolean } = {},
  ): Process {
    const queue = new InProcessQueue();
    running.push(queue);
    const outcomes: OutcomeRecord[] = [];
    const notes: Record<string, unknown>[] = [];
    const dispatcher = new Dispatcher({
      api: h.runtime.api,
      policy,
      queue: options.queue ?? queue,
      throttle: h.runtime.throttle,
      store: options.store ?? open(),
      reporter: {
        outcome: (record) => outcomes.push(record),
        note: (level, record) => notes.push({ level, ...record }),
      },
      timing: TIMING,
    });
    if (options.worker !== false)
      queue.start((message, delivery) => dispatcher.handle(message.body, delivery), { concurrency: 2 });
    return {
      dispatcher,
      queue,
      outcomes,
      notes,
      handle: (request) => dispatcher.handle(structuredClone(request), { deliveryCount: 1 }),
    };
  }

  /** A queue of a process that stops right after the POST: the tracking it schedules dies with it. */
  function dyingQueue(): RequestQueue & { lost: QueueMessage[] } {
    const lost: QueueMessage[] = [];
    return {
      lost,
      send: async () => ({ duplicate: false }),
      schedule: async (message) => {
        lost.push(message);
        return null;
      },
      bringForward: async () => false,
      cancelScheduled: async () => false,
      deadLetter: async () => undefined,
      close: async () => undefined,
    };
  }

  const isolatePosts = (machineId: string) =>
    h.sim
      .calls()
      .filter((c) => c.method === 'POST' && c.path.includes(machineId) && c.path.endsWith('/isolate'));

  it('(b) a redelivered isolate after a restart resumes tracking and never posts a second isolate', async () => {
    const machine = h.machineId(gen(1));
    h.sim.setMachine(machine, { traits: { offline: true } });
    const request = isolateRequest(h, { mdeDeviceId: machine });
    const first = startProcess(h.runtime.policy, { queue: dyingQueue(), worker: false });
    await first.handle(request);
    expect(isolatePosts(machine)).toHaveLength(1);

    // The first process died before completing the message: Service Bus delivers it to a new one,
    // while MDE's list does not show the new action yet.
    const second = startProcess(h.runtime.policy);
    lag.lagOnce(machine);
    await second.handle(request);
    h.sim.setMachine(machine, { traits: { offline: false } });
    await second.queue.idle();
    expect(isolatePosts(machine)).toHaveLength(1);
    expect(second.outcomes).toEqual([
      expect.objectContaining({ requestId: request.requestId, outcome: 'succeeded', adopted: false }),
    ]);
    expect(await open().register.get(machine)).toMatchObject({
      state: 'isolated',
      requestId: request.requestId,
      provenance: { requestedBy: request.requestedBy, alertId: request.alert.alertId, mode: 'enforce' },
      actions: [
        expect.objectContaining({ type: 'Isolate', status: 'Succeeded', requestor: expect.any(String) }),
      ],
    });
    expect(await open().actions.open()).toEqual([]);
  });

  it('(b) inline, a new runtime resumes tracking of what the ledger shows open, and posts nothing', async () => {
    const machine = h.machineId(gen(2));
    h.sim.setMachine(machine, { traits: { offline: true } });
    const request = isolateRequest(h, { mdeDeviceId: machine });
    const first = startProcess(h.runtime.policy, { queue: dyingQueue(), worker: false });
    await first.handle(request);
    expect(first.outcomes).toEqual([]);

    const second = startProcess(h.runtime.policy);
    expect(await second.dispatcher.resumeOpenActions()).toBe(1);
    h.sim.setMachine(machine, { traits: { offline: false } });
    await second.queue.idle();
    expect(isolatePosts(machine)).toHaveLength(1);
    expect(second.outcomes).toEqual([
      expect.objectContaining({
        requestId: request.requestId,
        outcome: 'succeeded',
        machineId: machine,
        alert: expect.objectContaining({ alertId: request.alert.alertId, source: request.alert.source }),
      }),
    ]);
    expect(await open().actions.open()).toEqual([]);
  });

  it('(a) a breaker opened in the first process is open in the second, and closes after its window', async () => {
    const policy = policyWith({ maxIsolations: 2, windowMinutes: 60 });
    await open().breaker.reset('restart test', 'starts closed');
    const first = startProcess(policy);
    for (const n of [3, 4, 5]) await first.handle(isolateRequest(h, { mdeDeviceId: h.machineId(gen(n)) }));
    await first.queue.idle();
    expect(first.outcomes.map((o) => (o.outcome === 'escalated' ? o.rule : o.outcome)).sort()).toEqual([
      'blast-radius',
      'succeeded',
      'succeeded',
    ]);

    const second = startProcess(policy);
    const held = isolateRequest(h, { mdeDeviceId: h.machineId(gen(6)) });
    await second.handle(held);
    await second.queue.idle();
    expect(second.outcomes).toEqual([
      expect.objectContaining({ outcome: 'escalated', rule: 'blast-radius' }),
    ]);
    expect(isolatePosts(h.machineId(gen(6)))).toEqual([]);

    // A third process an hour later (the store's clock moved on): the window is over.
    skewMs = 3_600_000;
    try {
      const later = startProcess(policy);
      await later.handle(isolateRequest(h, { mdeDeviceId: h.machineId(gen(6)) }));
      await later.queue.idle();
      expect(later.outcomes).toEqual([expect.objectContaining({ outcome: 'succeeded' })]);
    } finally {
      skewMs = 0;
    }
  });

  it('(c) intake and worker in separate processes trip and see one breaker', async () => {
    const policy = policyWith({ maxIsolations: 100, maxDevicesPerAlert: 1 });
    await open().breaker.reset('restart test', 'starts closed');
    const intake = startProcess(policy, { worker: false });
    const worker = startProcess(policy);
    // One alert naming two devices, more than the one allowed: intake opens the shared breaker.
    const storm = {
      ...(fixture('11-graph-alert-v2-device-evidence.json') as Record<string, unknown>),
      evidence: [gen(7), gen(8)].map((deviceDnsName) => ({
        '@odata.type': '#microsoft.graph.security.deviceEvidence',
        deviceDnsName,
      })),
    };
    const result = await receiveAlerts(storm, { policy, sink: intake.dispatcher, log: () => undefined });
    const [report] = result.alerts;
    expect(report.status === 'accepted' && report.decisions.map((d) => d.rule)).toEqual([
      'blast-radius',
      'blast-radius',
    ]);
    // The worker, another process, holds an automatic isolation queued before the storm.
    const queued = isolateRequest(h, { mdeDeviceId: h.machineId(gen(9)) });
    await worker.handle(queued);
    await worker.queue.idle();
    expect(worker.outcomes).toEqual([
      expect.objectContaining({
        outcome: 'escalated',
        rule: 'blast-radius',
        reason: expect.stringMatching(/named 2 devices to isolate/),
      }),
    ]);
    expect(isolatePosts(h.machineId(gen(9)))).toEqual([]);
  });

  it('(e) intakes in separate processes coalesce on one open request; once it ended, a new alert is decided at once', async () => {
    const policy = h.runtime.policy;
    await open().breaker.reset('restart test', 'the test before left it open');
    const machine = h.machineId(gen(10));
    // Two intake processes whose queue only collects what they send, and a worker process.
    const sent: QueueMessage[] = [];
    const collecting: RequestQueue = {
      send: async (message) => {
        sent.push(structuredClone(message));
        return { duplicate: false };
      },
      schedule: async () => null,
      bringForward: async () => false,
      cancelScheduled: async () => false,
      deadLetter: async () => undefined,
      close: async () => undefined,
    };
    const intakes = [1, 2].map(() => startProcess(policy, { queue: collecting, worker: false }));
    const worker = startProcess(policy);
    const submit = async (index: number) => {
      const result = await receiveAlerts(mdeAlert({ machineId: machine }), {
        policy,
        sink: intakes[index].dispatcher,
        log: () => undefined,
      });
      const [report] = result.alerts;
      if (report.status !== 'accepted') throw new Error('alert not accepted');
      return report.requests[0];
    };
    const first = await submit(0);
    const absorbed = [await submit(1), await submit(0), await submit(1)];
    expect(first.duplicate).toBe(false);
    expect(absorbed.every((r) => r.duplicate && r.carriedBy === first.requestId)).toBe(true);
    expect(sent.map((m) => m.body.requestId)).toEqual([first.requestId]);
    await worker.handle(sent[0].body as IsolationRequest);
    await worker.queue.idle();
    expect(isolatePosts(machine)).toHaveLength(1);
    expect(worker.outcomes).toEqual([
      expect.objectContaining({
        requestId: first.requestId,
        outcome: 'succeeded',
        absorbed: expect.objectContaining({ count: 3 }),
      }),
    ]);
    // Released by an analyst; the next alert, through the other intake, is a request of its own.
    await h.runtime.api.release(machine, 'released by the analyst');
    const again = await submit(1);
    expect(again).toMatchObject({ duplicate: false });
    expect(again.carriedBy).toBeUndefined();
    expect(sent.map((m) => m.body.requestId)).toEqual([first.requestId, again.requestId]);
  });
});

describe('dispatch with the state store down', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ simulator: { fleet: { generate: 4, offlineShare: 0 } } });
  });
  afterAll(() => h.close());

  /** The Table adapter pointed at a loopback port where nothing listens. */
  async function unreachableStore(): Promise<StateStore> {
    const port = await freeLoopbackPort();
    return new TableStateStore(
      { kind: 'connection-string', connectionString: azuriteConnectionString(port) },
      { requestDeadlineMs: 500 },
    );
  }

  it('posts nothing, defers each request, logs the outage once, and dead-letters past the bound', async () => {
    const scheduled: QueueMessage[] = [];
    const deadLetters: unknown[] = [];
    const queue: RequestQueue = {
      send: async () => ({ duplicate: false }),
      schedule: async (message) => {
        scheduled.push(message);
        return null;
      },
      bringForward: async () => false,
      cancelScheduled: async () => false,
      deadLetter: async (record) => {
        deadLetters.push(record);
      },
      close: async () => undefined,
    };
    const outcomes: OutcomeRecord[] = [];
    const notes: Record<string, unknown>[] = [];
    const dispatcher = new Dispatcher({
      api: h.runtime.api,
      policy: h.runtime.policy,
      queue,
      throttle: h.runtime.throttle,
      store: await unreachableStore(),
      reporter: { outcome: (r) => outcomes.push(r), note: (level, r) => notes.push({ level, ...r }) },
      timing: { ...TIMING, storeOutageLogMs: 60_000 },
    });
    const machines = [1, 2, 3].map((n) => h.machineId(gen(n)));
    const requests = machines.map((id) => isolateRequest(h, { mdeDeviceId: id }));
    for (const request of requests) await dispatcher.handle(request, { deliveryCount: 1 });

    expect(h.sim.calls().filter((c) => c.method === 'POST')).toEqual([]);
    expect(outcomes).toEqual([]);
    expect(
      scheduled.map((m) => [m.body.requestId, (m.body as IsolationRequest).storeOutage?.deferrals]),
    ).toEqual(requests.map((r) => [r.requestId, 1]));
    expect(notes.filter((n) => n.event === 'state-store-unavailable')).toHaveLength(1);

    // The same request, still waiting when the bound has passed since its first deferral.
    const waiting = scheduled[0].body;
    const since = new Date(Date.now() - TIMING.storeOutageMaxMs - 1).toISOString();
    await dispatcher.handle({ ...waiting, storeOutage: { since, deferrals: 7 } }, { deliveryCount: 1 });
    expect(deadLetters).toEqual([expect.objectContaining({ reason: 'StateStoreUnavailable' })]);
    expect(outcomes).toEqual([
      expect.objectContaining({
        requestId: waiting.requestId,
        outcome: 'dead-lettered',
        reason: expect.stringMatching(/^StateStoreUnavailable: the state store stayed unreachable/),
      }),
    ]);
    expect(h.sim.calls().filter((c) => c.method === 'POST')).toEqual([]);
  });

  it('intake answers "not accepted" for an alert while the store is down: the sender retries', async () => {
    const dispatcher = new Dispatcher({
      api: h.runtime.api,
      policy: h.runtime.policy,
      queue: h.runtime.inline as InProcessQueue,
      throttle: h.runtime.throttle,
      store: await unreachableStore(),
      reporter: { outcome: () => undefined, note: () => undefined },
      timing: TIMING,
    });
    const result = await receiveAlerts(mdeAlert({ dnsName: gen(4) }), {
      policy: h.runtime.policy,
      sink: dispatcher,
      log: () => undefined,
    });
    expect(result).toMatchObject({ accepted: 0, failed: 1 });
    expect(result.alerts[0]).toMatchObject({ status: 'failed', error: { code: 'state-unavailable' } });
    expect(h.runtime.inline?.pending()).toBe(0);
  });
});
