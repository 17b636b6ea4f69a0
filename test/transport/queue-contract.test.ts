/**
 * The contract of the request queue (shared/dispatch/transport/queue.ts), run against both of its
 * implementations: the Service Bus adapter driving the real SDK against the AMQP peer, with the
 * Functions trigger's side played by test/support/service-bus-peer/functions-host.ts, and the
 * in-process stand-in of inline mode. What one does the other must do (docs/decisions/0015).
 */
import { ServiceBusClient } from '@azure/service-bus';
import { deliveryOf } from '../../functions/service-bus-trigger';
import type { IsolationRequest } from '../../shared/dispatch/request';
import { InProcessQueue, type MessageHandler } from '../../shared/dispatch/transport/in-process-queue';
import {
  type DeadLetterRecord,
  type QueueMessage,
  type RequestQueue,
  scheduledMessageRef,
} from '../../shared/dispatch/transport/queue';
import {
  deadLetterQueueName,
  ServiceBusRequestQueue,
} from '../../shared/dispatch/transport/service-bus-queue';
import { REQUEST_QUEUE_SETTINGS } from '../../shared/dispatch/transport/service-bus-settings';
import { handClock } from '../support/hand-clock';
import { type ServedQueue, serveQueue } from '../support/service-bus-peer/functions-host';
import { ServiceBusPeer } from '../support/service-bus-peer/peer';
import { requestQueues } from '../support/service-bus-peer/queues';
import { timerTurn } from '../support/timer-turns';

const QUEUE = 'isolation-requests';

interface Harness {
  queue: RequestQueue;
  /** Hands every message to `handler`, as the worker gets them (Functions trigger or inline). */
  consume(handler: MessageHandler, concurrency?: number): void;
  /** Time passes on the queue's clock. */
  advance(ms: number): Promise<void>;
  /** Every message handed out so far is settled and nothing due is left undelivered. */
  quiet(): Promise<void>;
  /** Messages the queue itself dead-lettered after too many deliveries, with the reason. */
  deadLettered(): Promise<{ messageId: string; reason: string }[]>;
  /** The records the app wrote with `deadLetter()`. */
  records(): Promise<DeadLetterRecord[]>;
  close(): Promise<void>;
}

async function serviceBusHarness(): Promise<Harness> {
  const peer = new ServiceBusPeer({ queues: requestQueues(QUEUE) });
  await peer.start();
  const endpoint = { connectionString: peer.connectionString };
  const queue = new ServiceBusRequestQueue(endpoint, QUEUE);
  const client = new ServiceBusClient(peer.connectionString);
  const served: ServedQueue[] = [];
  const peekAll = async (name: string, subQueueType?: 'deadLetter') => {
    const receiver = client.createReceiver(name, subQueueType ? { subQueueType } : {});
    try {
      return await receiver.peekMessages(100);
    } finally {
      await receiver.close();
    }
  };
  return {
    queue,
    consume: (handler, concurrency) => {
      served.push(
        serveQueue(
          client,
          QUEUE,
          async (body, context) => {
            const metadata = context.triggerMetadata ?? {};
            const message = {
              messageId: String(metadata.messageId),
              body: body as IsolationRequest,
              applicationProperties: metadata.applicationProperties as QueueMessage['applicationProperties'],
            };
            await handler(message, deliveryOf(context));
          },
          concurrency,
        ),
      );
    },
    advance: async (ms) => peer.advance(ms),
    quiet: () => peer.whenQuiet(QUEUE),
    deadLettered: async () =>
      (await peekAll(QUEUE, 'deadLetter')).map((m) => ({
        messageId: String(m.messageId),
        reason: String(m.deadLetterReason),
      })),
    records: async () => (await peekAll(deadLetterQueueName(QUEUE))).map((m) => m.body as DeadLetterRecord),
    close: async () => {
      for (const s of served) await s.close();
      await queue.close();
      await client.close();
      await peer.stop();
    },
  };
}

async function inProcessHarness(): Promise<Harness> {
  const clock = handClock();
  const queue = new InProcessQueue({ clock });
  const byQueue = (r: DeadLetterRecord) => r.reason === 'MaxDeliveryCountExceeded';
  return {
    queue,
    consume: (handler, concurrency) => queue.start(handler, { concurrency }),
    // The stand-in's timers wait in real time for the clock's next due message: a jump is delivered now.
    advance: async (ms) => {
      clock.advance(ms);
      queue.wake();
      await timerTurn();
    },
    quiet: () => queue.idle(),
    deadLettered: async () =>
      queue.deadLetters.filter(byQueue).map((r) => ({ messageId: r.messageId, reason: r.reason })),
    records: async () => queue.deadLetters.filter((r) => !byQueue(r)),
    close: () => queue.close(),
  };
}

function message(id: string, note = id): QueueMessage {
  return {
    messageId: id,
    body: { note } as unknown as IsolationRequest,
    applicationProperties: { action: 'isolate', priority: 1, urgent: true },
  };
}

const noteOf = (m: QueueMessage) => (m.body as unknown as { note: string }).note;

/** What the consumer saw, and a way to wait for the nth delivery without a clock. */
function recorder() {
  const seen: { note: string; deliveryCount: number; messageId?: string; message: QueueMessage }[] = [];
  let waiters: { count: number; resolve: () => void }[] = [];
  return {
    seen,
    record(m: QueueMessage, deliveryCount: number, messageId?: string) {
      seen.push({ note: noteOf(m), deliveryCount, messageId, message: m });
      const ready = waiters.filter((w) => seen.length >= w.count);
      waiters = waiters.filter((w) => seen.length < w.count);
      for (const w of ready) w.resolve();
    },
    count(n: number): Promise<void> {
      if (seen.length >= n) return Promise.resolve();
      return new Promise((resolve) => waiters.push({ count: n, resolve }));
    },
  };
}

describe.each([
  ['the Service Bus adapter, real SDK, AMQP peer', serviceBusHarness],
  ['the in-process stand-in', inProcessHarness],
])('request queue contract: %s', (_name, open) => {
  let harness: Harness;
  beforeEach(async () => {
    harness = await open();
  });
  afterEach(() => harness.close());

  it('delivers a sent message once, with its id, body and properties, on its first delivery', async () => {
    const r = recorder();
    harness.consume(async (m, d) => r.record(m, d.deliveryCount, d.messageId));
    await harness.queue.send(message('req-1', 'isolate ws-1'));
    await r.count(1);
    await harness.quiet();
    expect(r.seen).toEqual([
      {
        note: 'isolate ws-1',
        deliveryCount: 1,
        messageId: 'req-1',
        message: message('req-1', 'isolate ws-1'),
      },
    ]);
    expect(r.seen[0].message.applicationProperties).toEqual({ action: 'isolate', priority: 1, urgent: true });
  });

  it('drops a second message with the same id inside the window, and takes it again after', async () => {
    await harness.queue.send(message('req-1', 'first'));
    await harness.queue.send(message('req-1', 'again'));
    await harness.advance(REQUEST_QUEUE_SETTINGS.duplicateWindowMs);
    await harness.queue.send(message('req-1', 'after the window'));
    const r = recorder();
    harness.consume(async (m, d) => r.record(m, d.deliveryCount));
    await r.count(2);
    await harness.quiet();
    expect(r.seen.map((s) => s.note)).toEqual(['first', 'after the window']);
  });

  it('delivers a scheduled message no earlier than its time', async () => {
    const r = recorder();
    harness.consume(async (m, d) => r.record(m, d.deliveryCount));
    const now = Date.parse('2026-01-01T00:00:00Z');
    await harness.queue.schedule(message('later'), new Date(now + 40));
    await harness.queue.send(message('now'));
    await r.count(1);
    await harness.advance(39);
    expect(r.seen.map((s) => s.note)).toEqual(['now']);
    await harness.advance(1);
    await r.count(2);
    expect(r.seen.map((s) => s.note)).toEqual(['now', 'later']);
  });

  it('brings a scheduled message forward once: delivered then, and not again at its old time', async () => {
    const r = recorder();
    harness.consume(async (m, d) => r.record(m, d.deliveryCount));
    const now = Date.parse('2026-01-01T00:00:00Z');
    await harness.queue.schedule(message('deferred'), new Date(now + 3_600_000));
    expect(await harness.queue.bringForward('deferred', new Date(now))).toBe(true);
    await r.count(1);
    expect(r.seen.map((s) => [s.note, s.deliveryCount])).toEqual([['deferred', 1]]);
    await harness.advance(3_600_000);
    await harness.quiet();
    expect(r.seen).toHaveLength(1);
    // Delivered already, or never scheduled here: nothing to bring forward.
    expect(await harness.queue.bringForward('deferred', new Date(now))).toBe(false);
    expect(await harness.queue.bringForward('unknown', new Date(now))).toBe(false);
  });

  it('withdraws a scheduled message by what schedule answered: never delivered, nor brought forward', async () => {
    const r = recorder();
    harness.consume(async (m, d) => r.record(m, d.deliveryCount));
    const now = Date.parse('2026-01-01T00:00:00Z');
    const withdrawn = await harness.queue.schedule(message('withdrawn'), new Date(now + 3_600_000));
    const kept = await harness.queue.schedule(message('kept'), new Date(now + 3_600_000));
    // A duplicate inside the window is dropped: there is nothing to withdraw.
    expect(await harness.queue.schedule(message('kept'), new Date(now + 3_600_000))).toBeNull();
    expect(await harness.queue.cancelScheduled(withdrawn as string)).toBe(true);
    expect(await harness.queue.bringForward('withdrawn', new Date(now))).toBe(false);
    await harness.advance(3_600_000);
    await r.count(1);
    await harness.quiet();
    expect(r.seen.map((s) => s.note)).toEqual(['kept']);
    // Withdrawn already, or delivered: nothing to withdraw, and no error.
    expect(await harness.queue.cancelScheduled(withdrawn as string)).toBe(false);
    expect(await harness.queue.cancelScheduled(kept as string)).toBe(false);
  });

  it("leaves its own messages alone when given another queue's ref, or a ref that names none", async () => {
    const r = recorder();
    harness.consume(async (m, d) => r.record(m, d.deliveryCount));
    const now = Date.parse('2026-01-01T00:00:00Z');
    const ref = (await harness.queue.schedule(message('kept'), new Date(now + 60_000))) as string;
    const sequence = ref.slice(ref.lastIndexOf('#') + 1);
    for (const elsewhere of [
      scheduledMessageRef('elsewhere.servicebus.windows.net/isolation-requests', sequence),
      scheduledMessageRef('in-process:another-process', sequence),
      sequence,
      '',
    ])
      expect(await harness.queue.cancelScheduled(elsewhere)).toBe(false);
    await harness.advance(60_000);
    await r.count(1);
    await harness.quiet();
    expect(r.seen.map((s) => s.note)).toEqual(['kept']);
  });

  it('redelivers a message whose handler threw, counting deliveries', async () => {
    const r = recorder();
    harness.consume(async (m, d) => {
      r.record(m, d.deliveryCount);
      if (d.deliveryCount < 3) throw new Error('lock lost');
    });
    await harness.queue.send(message('flaky'));
    await r.count(3);
    await harness.quiet();
    expect(r.seen.map((s) => s.deliveryCount)).toEqual([1, 2, 3]);
    expect(await harness.deadLettered()).toEqual([]);
  });

  it('dead-letters a message after the deployed delivery count, with the reason, and stops delivering it', async () => {
    const r = recorder();
    harness.consume(async (m, d) => {
      r.record(m, d.deliveryCount);
      if (noteOf(m) === 'poison') throw new TypeError('poison');
    });
    await harness.queue.send(message('poison'));
    await r.count(REQUEST_QUEUE_SETTINGS.maxDeliveryCount);
    await harness.quiet();
    await harness.queue.send(message('healthy'));
    await r.count(REQUEST_QUEUE_SETTINGS.maxDeliveryCount + 1);
    await harness.quiet();
    expect(r.seen.map((s) => `${s.note}:${s.deliveryCount}`)).toEqual([
      'poison:1',
      'poison:2',
      'poison:3',
      'poison:4',
      'poison:5',
      'healthy:1',
    ]);
    expect(await harness.deadLettered()).toEqual([
      { messageId: 'poison', reason: 'MaxDeliveryCountExceeded' },
    ]);
  });

  it('keeps the records the app dead-letters, with their reason', async () => {
    const record: DeadLetterRecord = {
      event: 'isolation-dead-letter',
      reason: 'RetriesExhausted',
      description: 'MDE answered 503 five times',
      messageId: 'req-9',
      deadLetteredAt: '2026-01-01T00:00:00.000Z',
      request: { note: 'req-9' },
    };
    await harness.queue.deadLetter(record);
    expect(await harness.records()).toEqual([record]);
  });

  it('refuses a message over 256 KB with the SDK error code, and a message id over 128 characters', async () => {
    const big = { ...message('big'), body: { note: 'x'.repeat(300 * 1024) } as unknown as IsolationRequest };
    await expect(harness.queue.send(big)).rejects.toMatchObject({ code: 'MessageSizeExceeded' });
    await expect(harness.queue.schedule(big, new Date(0))).rejects.toMatchObject({
      code: 'MessageSizeExceeded',
    });
    await expect(harness.queue.send(message('x'.repeat(129)))).rejects.toThrow(
      "Length of 'messageId' property on the message cannot be greater than 128 characters.",
    );
    const fits = {
      ...message('fits'),
      body: { note: 'x'.repeat(200 * 1024) } as unknown as IsolationRequest,
    };
    await expect(harness.queue.send(fits)).resolves.toEqual({ duplicate: false });
  });
});
