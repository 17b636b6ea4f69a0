/**
 * A message delivered again long after it was handled (its completion was lost) must not undo what
 * happened since: an isolation a person released stays released, and a record of an action whose
 * tracking was lost does not hold the device's later requests.
 */
import { Dispatcher } from '../../shared/dispatch/dispatcher';
import type { OutcomeRecord } from '../../shared/dispatch/outcome';
import type { IsolationRequest } from '../../shared/dispatch/request';
import { compressTiming } from '../../shared/dispatch/timing';
import { InProcessQueue } from '../../shared/dispatch/transport/in-process-queue';
import type { QueueMessage } from '../../shared/dispatch/transport/queue';
import { type Harness, isolateRequest, releaseRequest, startHarness, until } from './harness';

const DOMAIN = 'contoso.local';

describe('redelivered requests', () => {
  let h: Harness;
  let queue: InProcessQueue;
  let outcomes: OutcomeRecord[];
  /** Tracking messages of these machines are lost on the way (the chain of polls ends silently). */
  const loseTrackingOf = new Set<string>();

  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(() => h.close());
  beforeEach(() => {
    outcomes = [];
    loseTrackingOf.clear();
    queue = new InProcessQueue();
  });
  afterEach(() => queue.close());

  /** A dispatcher of its own on the harness's API and policy, with a queue the test controls. */
  function dispatcherOn(target: InProcessQueue): Dispatcher {
    const lossy = Object.assign(Object.create(target) as InProcessQueue, {
      schedule: (message: QueueMessage, at: Date) =>
        message.body.action === 'track' && loseTrackingOf.has(message.body.tracking.machineId)
          ? Promise.resolve()
          : target.schedule(message, at),
    });
    return new Dispatcher({
      api: h.runtime.api,
      policy: h.runtime.policy,
      queue: lossy,
      throttle: h.runtime.throttle,
      store: h.runtime.store,
      reporter: { outcome: (record) => outcomes.push(record), note: () => undefined },
      timing: compressTiming(0.001),
    });
  }
  const outcomesOf = (request: IsolationRequest) => outcomes.filter((o) => o.requestId === request.requestId);

  it('does not isolate again a device a person released after the first delivery', async () => {
    const machine = h.machineId(`ws-hr-02.${DOMAIN}`);
    const dispatcher = dispatcherOn(queue);
    const request = isolateRequest(h, { mdeDeviceId: machine });
    let released: () => void = () => undefined;
    const releasedByAnalyst = new Promise<void>((resolve) => {
      released = resolve;
    });
    queue.start(
      async (message, delivery) => {
        await dispatcher.handle(message.body, delivery);
        // The first delivery of the isolate did its work, but its completion is lost (the lock
        // expired while the analyst worked): Service Bus delivers it again, after the release.
        if (
          message.body.requestId === request.requestId &&
          message.body.action === 'isolate' &&
          delivery.deliveryCount === 1
        ) {
          await releasedByAnalyst;
          throw new Error('lock lost');
        }
      },
      { concurrency: 4 },
    );
    await queue.send({ messageId: request.dedupeKey, body: request, applicationProperties: {} });
    await until(() => outcomesOf(request).some((o) => o.outcome === 'succeeded'));
    await h.runtime.api.release(machine, 'cleaned by the analyst');
    await until(() => h.sim.machineState(machine)?.isolated === false);
    released();
    await queue.idle();

    expect(queue.stats.abandoned).toBe(1);
    expect(h.actionsOn(machine, 'Isolate')).toHaveLength(1);
    expect(h.sim.machineState(machine)?.isolated).toBe(false);
    // The second delivery does not call the device isolated: the release since is what is in force,
    // and it overrode the request.
    expect(outcomesOf(request)).toEqual([
      expect.objectContaining({ outcome: 'succeeded' }),
      expect.objectContaining({
        outcome: 'escalated',
        reason: expect.stringMatching(/^a release .* was requested after this request came in/),
      }),
    ]);
  });

  it('drops a record of an action MDE lists as ended, so later releases are not refused', async () => {
    const machine = h.machineId(`ws-fail-13.${DOMAIN}`);
    h.sim.setMachine(machine, { traits: { failActions: false } });
    const dispatcher = dispatcherOn(queue);
    queue.start((message, delivery) => dispatcher.handle(message.body, delivery), { concurrency: 4 });
    loseTrackingOf.add(machine);
    const isolate = isolateRequest(h, { mdeDeviceId: machine });
    await dispatcher.handle(isolate, { deliveryCount: 1 });
    await until(() => h.sim.machineState(machine)?.isolated === true);
    expect(outcomesOf(isolate)).toEqual([]); // its tracking was lost
    loseTrackingOf.clear();

    const release = releaseRequest(h, { mdeDeviceId: machine });
    await dispatcher.handle(release, { deliveryCount: 1 });
    await queue.idle();
    expect(outcomesOf(release)).toEqual([expect.objectContaining({ outcome: 'succeeded' })]);
    expect(h.sim.machineState(machine)?.isolated).toBe(false);
  });

  it('leaves an action this app posted its own when a redelivery of the request adopts it', async () => {
    const machine = h.machineId(`lnx-app-01.${DOMAIN}`);
    const request = isolateRequest(h, { mdeDeviceId: machine });
    await h.runtime.handle(request, { deliveryCount: 1 });
    await h.settle();
    const [posted] = await h.runtime.store.actions.forMachine(machine);
    expect(posted).toMatchObject({ requestId: request.requestId, adopted: false, status: 'Succeeded' });

    // Delivered again after it ended: MDE's list answers it with the same action, which it follows.
    await h.runtime.handle(request, { deliveryCount: 2 });
    await h.settle();
    expect(h.actionsOn(machine, 'Isolate')).toHaveLength(1);
    // The ledger's entry is the proof this app posted it (ownership.ts), whoever followed it since;
    // the register says so too.
    expect(await h.runtime.store.actions.forMachine(machine)).toEqual([
      expect.objectContaining({ actionId: posted.actionId, adopted: false }),
    ]);
    expect((await h.runtime.store.register.get(machine))?.actions[0]).toMatchObject({
      actionId: posted.actionId,
      adopted: false,
    });
  });

  it('follows its own action when a copy marked as never reserved comes again after its POST', async () => {
    // A copy deferred before it reserved carries `unreserved`, so step 1 skips the ledger read; this
    // one reserved and posted, and its process died before it completed the message or queued the
    // tracking. Service Bus delivers the same body again: the ledger's entry is its own, to follow.
    const machine = h.machineId(`ws-finance-01.${DOMAIN}`);
    h.sim.setMachine(machine, { traits: { offline: true } });
    const dispatcher = dispatcherOn(queue);
    loseTrackingOf.add(machine);
    const request: IsolationRequest = { ...isolateRequest(h, { mdeDeviceId: machine }), unreserved: true };
    await dispatcher.handle(request, { deliveryCount: 1 });
    const [posted] = await h.runtime.store.actions.forMachine(machine);
    expect(posted).toMatchObject({ requestId: request.requestId, open: true });
    expect(queue.scheduledIds()).toEqual([]);
    loseTrackingOf.clear();

    await dispatcher.handle(request, { deliveryCount: 2 });
    expect(outcomesOf(request)).toEqual([]);
    expect(queue.scheduledIds()).toEqual([`track:${posted.actionId}:${request.requestId}`]);
    expect(h.actionsOn(machine, 'Isolate')).toHaveLength(1);
  });
});
