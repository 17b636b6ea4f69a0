/**
 * What only a broker does, run with the real SDK against the AMQP peer: locks that run out, lock
 * renewal, cancelling a scheduled message, batches, peeks, the doctor's probe, and sessions. The
 * behaviour both request queues share is in queue-contract.test.ts.
 */
import { ServiceBusClient, type ServiceBusReceivedMessage } from '@azure/service-bus';
import { deliveryOf } from '../../functions/service-bus-trigger';
import { probeQueue, ServiceBusRequestQueue } from '../../shared/dispatch/transport/service-bus-queue';
import { REQUEST_QUEUE_SETTINGS } from '../../shared/dispatch/transport/service-bus-settings';
import { serveQueue } from '../support/service-bus-peer/functions-host';
import { ServiceBusPeer } from '../support/service-bus-peer/peer';
import { requestQueues } from '../support/service-bus-peer/queues';
import { timerTurn } from '../support/timer-turns';

const QUEUE = 'isolation-requests';
const SESSIONS = 'tenant-requests';

describe('Service Bus adapter against the AMQP peer', () => {
  let peer: ServiceBusPeer;
  let client: ServiceBusClient;
  beforeEach(async () => {
    peer = new ServiceBusPeer({
      queues: [...requestQueues(QUEUE), { name: SESSIONS, ...REQUEST_QUEUE_SETTINGS, requiresSession: true }],
    });
    await peer.start();
    client = new ServiceBusClient(peer.connectionString);
  });
  afterEach(async () => {
    await client.close();
    await peer.stop();
  });

  it('hands a message out again when its lock runs out, counted, and refuses the late settlement', async () => {
    const receiver = client.createReceiver(QUEUE, { maxAutoLockRenewalDurationInMs: 0 });
    await client.createSender(QUEUE).sendMessages({ messageId: 'req-1', body: { note: 'held' } });
    const [first] = await receiver.receiveMessages(1);
    expect(first.deliveryCount).toBe(0);
    peer.advance(REQUEST_QUEUE_SETTINGS.lockDurationMs - 1);
    expect(peer.queue(QUEUE).contents()).toEqual([expect.objectContaining({ lock: expect.anything() })]);
    peer.advance(1);
    const [second] = await receiver.receiveMessages(1);
    expect({ id: second.messageId, count: second.deliveryCount }).toEqual({ id: 'req-1', count: 1 });
    await expect(receiver.completeMessage(first)).rejects.toMatchObject({ code: 'MessageLockLost' });
    await receiver.completeMessage(second);
    expect(peer.queue(QUEUE).contents()).toEqual([]);
  });

  it('gives a worker whose lock ran out the trigger count it would see in Azure, and dead-letters at the limit', async () => {
    const counts: number[] = [];
    // A handler that never returns: only lock expiry brings the message back.
    const served = serveQueue(
      client,
      QUEUE,
      async (_body, context) => {
        counts.push(deliveryOf(context).deliveryCount);
        await new Promise(() => undefined);
      },
      REQUEST_QUEUE_SETTINGS.maxDeliveryCount + 1,
    );
    const requests = new ServiceBusRequestQueue({ connectionString: peer.connectionString }, QUEUE);
    await requests.send({ messageId: 'stuck', body: {} as never, applicationProperties: {} });
    // Its own client: left open, it would keep reconnecting to the stopped peer and keep jest alive.
    await requests.close();
    for (let delivery = 1; delivery <= REQUEST_QUEUE_SETTINGS.maxDeliveryCount; delivery += 1) {
      await until(() => counts.length === delivery);
      peer.advance(REQUEST_QUEUE_SETTINGS.lockDurationMs);
    }
    expect(counts).toEqual([1, 2, 3, 4, 5]);
    expect(peer.queue(QUEUE).contents()).toEqual([]);
    expect(peer.queue(`${QUEUE}/$DeadLetterQueue`).contents()).toEqual([
      expect.objectContaining({
        deadLetter: {
          reason: 'MaxDeliveryCountExceeded',
          description: 'Message could not be consumed after 5 delivery attempts.',
        },
      }),
    ]);
    void served.close();
  });

  it('renews a lock for another lock duration from the peer clock', async () => {
    const receiver = client.createReceiver(QUEUE, { maxAutoLockRenewalDurationInMs: 0 });
    await client.createSender(QUEUE).sendMessages({ messageId: 'long', body: 'long step' });
    const [message] = await receiver.receiveMessages(1);
    peer.advance(REQUEST_QUEUE_SETTINGS.lockDurationMs - 1);
    const until = await receiver.renewMessageLock(message);
    expect(until.getTime()).toBe(peer.clock.now() + REQUEST_QUEUE_SETTINGS.lockDurationMs);
    peer.advance(REQUEST_QUEUE_SETTINGS.lockDurationMs - 1);
    await receiver.completeMessage(message);
    expect(peer.queue(QUEUE).contents()).toEqual([]);
  });

  it('cancels a scheduled message by its sequence number, and peeks without locking', async () => {
    const sender = client.createSender(QUEUE);
    const at = new Date(peer.clock.now() + 60_000);
    const [cancelled] = await sender.scheduleMessages({ messageId: 'cancelled', body: 1 }, at);
    await sender.scheduleMessages({ messageId: 'kept', body: 2 }, at);
    await sender.sendMessages([
      { messageId: 'batch-1', body: 3 },
      { messageId: 'batch-2', body: 4 },
    ]);
    await sender.cancelScheduledMessages(cancelled);
    const peeked = await client.createReceiver(QUEUE).peekMessages(10);
    expect(peeked.map((m) => [m.messageId, m.state])).toEqual([
      ['kept', 'scheduled'],
      ['batch-1', 'active'],
      ['batch-2', 'active'],
    ]);
    const receiver = client.createReceiver(QUEUE, { maxAutoLockRenewalDurationInMs: 0 });
    expect((await receiver.receiveMessages(2)).map((m) => m.messageId)).toEqual(['batch-1', 'batch-2']);
    // The scheduled one stays unlocked until its time.
    expect(
      peer
        .queue(QUEUE)
        .contents()
        .map((m) => [m.message.message_id, m.lock === undefined]),
    ).toEqual([
      ['kept', true],
      ['batch-1', false],
      ['batch-2', false],
    ]);
    peer.advance(60_000);
    expect((await receiver.receiveMessages(1)).map((m) => m.messageId)).toEqual(['kept']);
  });

  it('withdraws a message another process scheduled, by the ref it stored, on a session queue too', async () => {
    const endpoint = { connectionString: peer.connectionString };
    const scheduler = new ServiceBusRequestQueue(endpoint, SESSIONS, { sessions: true });
    const decider = new ServiceBusRequestQueue(endpoint, SESSIONS, { sessions: true });
    try {
      const deadline = { action: 'approval-deadline', requestId: '0d0d0d0d-0000-4000-8000-000000000001' };
      const at = new Date(peer.clock.now() + 60_000);
      const ref = await scheduler.schedule(
        { messageId: 'deadline', body: deadline as never, applicationProperties: {} },
        at,
      );
      expect(peer.queue(SESSIONS).contents()).toEqual([
        expect.objectContaining({ sessionId: 'deployment', visibleAt: at.getTime() }),
      ]);
      expect(await decider.cancelScheduled(ref as string)).toBe(true);
      expect(peer.queue(SESSIONS).contents()).toEqual([]);
      // The service answers MessageNotFound for what is no longer scheduled: nothing withdrawn.
      expect(await decider.cancelScheduled(ref as string)).toBe(false);
    } finally {
      await scheduler.close();
      await decider.close();
    }
  });

  describe("the doctor's probe", () => {
    const endpoint = () => ({ connectionString: peer.connectionString });

    it('answers with what the queue holds', async () => {
      expect(await probeQueue(endpoint(), QUEUE)).toEqual({ ok: true, messageWaiting: false });
      await client.createSender(QUEUE).sendMessages({ messageId: 'waiting', body: 1 });
      expect(await probeQueue(endpoint(), QUEUE)).toEqual({ ok: true, messageWaiting: true });
      // A peek locks nothing: the message is still there for the worker.
      expect(
        peer
          .queue(QUEUE)
          .contents()
          .map((m) => [m.lock, m.deliveries]),
      ).toEqual([[undefined, 0]]);
    });

    it('says unauthorized for a key the namespace refuses, and not-found for a queue it lacks', async () => {
      const wrongKey = {
        connectionString: peer.connectionString.replace(/SharedAccessKey=[^;]+/, 'SharedAccessKey=wrong'),
      };
      expect(await probeQueue(wrongKey, QUEUE)).toMatchObject({ ok: false, kind: 'unauthorized' });
      expect(await probeQueue(endpoint(), 'no-such-queue')).toMatchObject({
        ok: false,
        kind: 'not-found',
        message: expect.stringMatching(/\/no-such-queue' could not be found/),
      });
    });

    it('says unreachable when nothing listens', async () => {
      const connectionString = peer.connectionString;
      await peer.stop();
      expect(await probeQueue({ connectionString }, QUEUE)).toMatchObject({ ok: false, kind: 'unreachable' });
    });
  });

  describe('sessions', () => {
    const send = (sessionId: string, body: string) =>
      client.createSender(SESSIONS).sendMessages({ sessionId, body, messageId: `${sessionId}:${body}` });

    it('never lets two receivers hold one session at once', async () => {
      await send('tenant-a', 'a1');
      const holder = await client.acceptSession(SESSIONS, 'tenant-a', { maxAutoLockRenewalDurationInMs: 0 });
      await expect(client.acceptSession(SESSIONS, 'tenant-a')).rejects.toMatchObject({
        code: 'SessionCannotBeLocked',
      });
      // No retries: the peer answers at once where the service would wait for its server timeout.
      const impatient = new ServiceBusClient(peer.connectionString, { retryOptions: { maxRetries: 0 } });
      await expect(impatient.acceptNextSession(SESSIONS)).rejects.toMatchObject({ code: 'ServiceTimeout' });
      await impatient.close();
      expect(holder.sessionLockedUntilUtc?.getTime()).toBe(
        peer.clock.now() + REQUEST_QUEUE_SETTINGS.lockDurationMs,
      );
      // Closing the receiver frees the session for the next one.
      await holder.close();
      const next = await client.acceptNextSession(SESSIONS, { maxAutoLockRenewalDurationInMs: 0 });
      expect(next.sessionId).toBe('tenant-a');
    });

    it('takes a session from a receiver whose session lock ran out, unless it renewed it', async () => {
      await send('tenant-a', 'a1');
      const first = await client.acceptSession(SESSIONS, 'tenant-a', { maxAutoLockRenewalDurationInMs: 0 });
      peer.advance(REQUEST_QUEUE_SETTINGS.lockDurationMs - 1);
      await first.renewSessionLock();
      peer.advance(REQUEST_QUEUE_SETTINGS.lockDurationMs - 1);
      await expect(client.acceptSession(SESSIONS, 'tenant-a')).rejects.toMatchObject({
        code: 'SessionCannotBeLocked',
      });
      peer.advance(1);
      await expect(first.renewSessionLock()).rejects.toMatchObject({ code: 'SessionLockLost' });
      const second = await client.acceptSession(SESSIONS, 'tenant-a', { maxAutoLockRenewalDurationInMs: 0 });
      expect((await second.receiveMessages(1)).map((m) => m.body)).toEqual(['a1']);
    });

    it('serves two sessions to two receivers, each only its own messages, in order', async () => {
      await send('tenant-a', 'a1');
      await send('tenant-b', 'b1');
      await send('tenant-a', 'a2');
      const first = await client.acceptNextSession(SESSIONS, { maxAutoLockRenewalDurationInMs: 0 });
      const second = await client.acceptNextSession(SESSIONS, { maxAutoLockRenewalDurationInMs: 0 });
      expect([first.sessionId, second.sessionId]).toEqual(['tenant-a', 'tenant-b']);
      const bodies = (messages: ServiceBusReceivedMessage[]) => messages.map((m) => m.body);
      expect(bodies(await first.receiveMessages(2))).toEqual(['a1', 'a2']);
      expect(bodies(await second.receiveMessages(1))).toEqual(['b1']);
      expect(
        peer
          .queue(SESSIONS)
          .contents()
          .map((m) => [m.sessionId, m.lock?.holder !== undefined]),
      ).toEqual([
        ['tenant-a', true],
        ['tenant-b', true],
        ['tenant-a', true],
      ]);
    });
  });
});

/** Waits, a timer turn at a time, for what the SDK delivers over loopback (bounded by the test's timeout). */
async function until(done: () => boolean): Promise<void> {
  while (!done()) await timerTurn();
}
