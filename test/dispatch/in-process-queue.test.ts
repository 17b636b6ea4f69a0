import type { IsolationRequest } from '../../shared/dispatch/request';
import { InProcessQueue, MessageSizeExceededError } from '../../shared/dispatch/transport/in-process-queue';
import type { Delivery, QueueMessage } from '../../shared/dispatch/transport/queue';
import {
  MESSAGES_AT_ONCE,
  REQUEST_QUEUE_SETTINGS,
} from '../../shared/dispatch/transport/service-bus-settings';
import { advanceUntil, handClock } from '../support/hand-clock';

function message(id: string, note = id): QueueMessage {
  return { messageId: id, body: { note } as unknown as IsolationRequest, applicationProperties: {} };
}

const noteOf = (m: QueueMessage) => (m.body as unknown as { note: string }).note;

const TENANT_A = '2f4a9c1e-7b3d-4e8a-9c21-5d6e7f8a9b0c';
const TENANT_B = '8d1b6e3f-2a4c-4b5d-8e9f-0a1b2c3d4e5f';

/** A message of `tenantId`'s requests (none: a single-tenant deployment's). */
function tenantMessage(tenantId: string | undefined, id: string): QueueMessage {
  const body = { note: id, ...(tenantId && { tenantId }) };
  return { messageId: id, body: body as unknown as IsolationRequest, applicationProperties: {} };
}

/** Handlers that wait until the test opens it, so what is ready piles up behind those in flight. */
function gate() {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { opened, open };
}

describe('InProcessQueue (in-memory Service Bus stand-in)', () => {
  let queue: InProcessQueue;
  afterEach(() => queue.close());

  it('drops a second message with the same id inside the duplicate window', async () => {
    queue = new InProcessQueue({ duplicateWindowMs: 60_000 });
    const seen: string[] = [];
    queue.start(async (m) => {
      seen.push(noteOf(m));
    });
    expect(await queue.send(message('dev-1', 'first'))).toEqual({ duplicate: false });
    expect(await queue.send(message('dev-1', 'second'))).toEqual({ duplicate: true });
    await queue.send(message('dev-2'));
    await queue.idle();
    expect(seen).toEqual(['first', 'dev-2']);
    expect(queue.stats.duplicatesDropped).toBe(1);
  });

  it('accepts the same id again once the window has passed', async () => {
    let now = 0;
    queue = new InProcessQueue({ duplicateWindowMs: 100, clock: { now: () => now } });
    const seen: string[] = [];
    queue.start(async (m) => {
      seen.push(noteOf(m));
    });
    await queue.send(message('dev-1', 'first'));
    now = 150;
    await queue.send(message('dev-1', 'later'));
    await queue.idle();
    expect(seen).toEqual(['first', 'later']);
  });

  it('delivers scheduled messages no earlier than their time, in time order', async () => {
    // The queue's timers read this clock when they fire: a busy machine cannot make both schedules due
    // before the second one is set.
    const clock = handClock();
    queue = new InProcessQueue({ clock });
    const seen: { note: string; at: number }[] = [];
    queue.start(async (m) => {
      seen.push({ note: noteOf(m), at: clock.now() });
    });
    const start = clock.now();
    await queue.schedule(message('late'), new Date(start + 60));
    await queue.schedule(message('early'), new Date(start + 20));
    await queue.send(message('now'));
    await advanceUntil(clock, () => seen.length === 3, 1_000);
    await queue.idle();
    expect(seen.map((s) => s.note)).toEqual(['now', 'early', 'late']);
    expect(seen[1].at).toBeGreaterThanOrEqual(start + 20);
    expect(seen[2].at).toBeGreaterThanOrEqual(start + 60);
  });

  it('redelivers a message whose handler threw, counting deliveries', async () => {
    queue = new InProcessQueue();
    const deliveries: Delivery[] = [];
    queue.start(async (_m, delivery) => {
      deliveries.push(delivery);
      if (delivery.deliveryCount < 3) throw new Error('lock lost');
    });
    await queue.send(message('flaky'));
    await queue.idle();
    expect(deliveries.map((d) => d.deliveryCount)).toEqual([1, 2, 3]);
    expect(queue.deadLetters).toHaveLength(0);
  });

  it('dead-letters with a reason after the maximum delivery count', async () => {
    queue = new InProcessQueue({ maxDeliveryCount: 4 });
    queue.start(async () => {
      throw new TypeError('poison');
    });
    await queue.send(message('poison'));
    await queue.idle();
    expect(queue.deadLetters).toHaveLength(1);
    expect(queue.deadLetters[0]).toMatchObject({
      reason: 'MaxDeliveryCountExceeded',
      messageId: 'poison',
      request: { note: 'poison' },
    });
    expect(queue.deadLetters[0].description).toMatch(/4 times.*TypeError: poison/);
  });

  it('runs at most `concurrency` handlers at once and reports idle only when all are done', async () => {
    queue = new InProcessQueue();
    let running = 0;
    let peak = 0;
    let done = 0;
    queue.start(
      async () => {
        running += 1;
        peak = Math.max(peak, running);
        await new Promise((resolve) => setTimeout(resolve, 5));
        running -= 1;
        done += 1;
      },
      { concurrency: 3 },
    );
    for (let i = 0; i < 10; i += 1) await queue.send(message(`m${i}`));
    await queue.idle();
    expect(done).toBe(10);
    expect(peak).toBe(3);
    expect(queue.pending()).toBe(0);
  });

  it('holds a copy: editing the sent object does not change the queued message', async () => {
    queue = new InProcessQueue();
    const original = message('copy', 'before');
    const seen: string[] = [];
    await queue.send(original);
    (original.body as unknown as { note: string }).note = 'after';
    queue.start(async (m) => {
      seen.push(noteOf(m));
    });
    await queue.idle();
    expect(seen).toEqual(['before']);
  });
});

describe('InProcessQueue sessions: one lane per tenant', () => {
  let queue: InProcessQueue;
  afterEach(() => queue.close());

  it("delivers a tenant's one message at once, however many another tenant has ready or in flight", async () => {
    queue = new InProcessQueue();
    const held = gate();
    const seen: string[] = [];
    queue.start(
      async (m) => {
        seen.push(noteOf(m));
        await held.opened;
      },
      { concurrency: MESSAGES_AT_ONCE },
    );
    const storm = Array.from({ length: 200 }, (_, i) => `a-${i}`);
    for (const id of storm) await queue.send(tenantMessage(TENANT_A, id));
    // Tenant B's message goes at once: each tenant has MESSAGES_AT_ONCE in flight of its own.
    await queue.send(tenantMessage(TENANT_B, 'b-0'));
    expect(seen).toEqual([...storm.slice(0, MESSAGES_AT_ONCE), 'b-0']);
    held.open();
    await queue.idle();
    expect(seen.filter((note) => note.startsWith('a-'))).toEqual(storm);
  });

  it('takes the sessions with a message ready in turn, each first in first out', async () => {
    queue = new InProcessQueue();
    for (const [tenant, id] of [
      [TENANT_A, 'a-0'],
      [TENANT_A, 'a-1'],
      [TENANT_A, 'a-2'],
      [TENANT_A, 'a-3'],
      [TENANT_B, 'b-0'],
      [undefined, 'd-0'],
      [TENANT_B, 'b-1'],
      [undefined, 'd-1'],
    ] as const)
      await queue.send(tenantMessage(tenant, id));
    const seen: string[] = [];
    queue.start(async (m) => {
      seen.push(noteOf(m));
      // A session with more once its lane emptied keeps its place: after the others with a message ready.
      if (noteOf(m) === 'b-1') await queue.send(tenantMessage(TENANT_B, 'b-2'));
    });
    await queue.idle();
    expect(seen).toEqual(['a-0', 'b-0', 'd-0', 'a-1', 'b-1', 'd-1', 'a-2', 'b-2', 'a-3']);
  });

  it.each([
    ['a single-tenant deployment', undefined],
    ['one tenant', TENANT_A],
  ])(
    'with one session (%s) delivers in the order messages became ready, as before',
    async (_name, tenant) => {
      const clock = handClock();
      queue = new InProcessQueue({ clock });
      const held = gate();
      const seen: string[] = [];
      queue.start(
        async (m, delivery) => {
          seen.push(`${noteOf(m)}#${delivery.deliveryCount}`);
          await held.opened;
          if (noteOf(m) === 'm-1' && delivery.deliveryCount === 1) throw new Error('lock lost');
        },
        { concurrency: 2 },
      );
      await queue.schedule(tenantMessage(tenant, 'due'), new Date(clock.now() + 1_000));
      for (let i = 0; i < 6; i += 1) await queue.send(tenantMessage(tenant, `m-${i}`));
      clock.advance(1_000);
      queue.wake();
      await queue.send(tenantMessage(tenant, 'm-6'));
      held.open();
      await queue.idle();
      expect(seen).toEqual(['m-0#1', 'm-1#1', 'm-2#1', 'm-3#1', 'm-4#1', 'm-5#1', 'due#1', 'm-6#1', 'm-1#2']);
    },
  );

  it("puts a tenant's scheduled message, due or brought forward, in that tenant's lane", async () => {
    const clock = handClock();
    queue = new InProcessQueue({ clock });
    const held = gate();
    const seen: string[] = [];
    queue.start(
      async (m) => {
        seen.push(noteOf(m));
        await held.opened;
      },
      { concurrency: 2 },
    );
    await queue.schedule(tenantMessage(TENANT_B, 'b-due'), new Date(clock.now() + 1_000));
    await queue.schedule(tenantMessage(TENANT_B, 'b-early'), new Date(clock.now() + 60_000));
    for (let i = 0; i < 10; i += 1) await queue.send(tenantMessage(TENANT_A, `a-${i}`));
    clock.advance(1_000);
    queue.wake();
    expect(await queue.bringForward('b-early', new Date(clock.now()))).toBe(true);
    held.open();
    await queue.idle();
    expect(seen.slice(0, 6)).toEqual(['a-0', 'a-1', 'b-due', 'b-early', 'a-2', 'a-3']);
    expect(seen).toHaveLength(12);
  });
});

describe('InProcessQueue as the deployed queue', () => {
  it("takes the Bicep's duplicate window and delivery count unless told otherwise", async () => {
    let now = 0;
    const queue = new InProcessQueue({ clock: { now: () => now } });
    try {
      const deliveries: number[] = [];
      queue.start(async (m, delivery) => {
        if (noteOf(m) !== 'poison') return;
        deliveries.push(delivery.deliveryCount);
        throw new Error('poison');
      });
      expect(await queue.send(message('dev-1'))).toEqual({ duplicate: false });
      now = REQUEST_QUEUE_SETTINGS.duplicateWindowMs - 1;
      expect(await queue.send(message('dev-1'))).toEqual({ duplicate: true });
      now = REQUEST_QUEUE_SETTINGS.duplicateWindowMs;
      expect(await queue.send(message('dev-1'))).toEqual({ duplicate: false });
      await queue.send(message('poison'));
      await queue.idle();
      expect(deliveries).toEqual([1, 2, 3, 4, 5]);
      expect(queue.deadLetters).toEqual([expect.objectContaining({ reason: 'MaxDeliveryCountExceeded' })]);
    } finally {
      await queue.close();
    }
  });

  it('refuses a message id over 128 characters, as Service Bus does', async () => {
    const queue = new InProcessQueue();
    try {
      await expect(queue.send(message('m'.repeat(129)))).rejects.toThrow(/messageId.*128 characters/);
      await expect(queue.schedule(message('s'.repeat(129)), new Date())).rejects.toThrow(/128 characters/);
      expect(await queue.send(message('m'.repeat(128)))).toEqual({ duplicate: false });
      expect(queue.stats.accepted).toBe(1);
    } finally {
      await queue.close();
    }
  });
});

describe('InProcessQueue message size', () => {
  const sized = (body: object, applicationProperties: Record<string, string> = {}) => ({
    messageId: 'size-test',
    body: body as unknown as IsolationRequest,
    applicationProperties,
  });

  it('refuses what Service Bus Standard refuses: over 256 KB in all, or over 64 KB of properties', async () => {
    const queue = new InProcessQueue();
    try {
      await expect(queue.send(sized({ text: 'x'.repeat(256 * 1024) }))).rejects.toThrow(
        MessageSizeExceededError,
      );
      await expect(queue.send(sized({}, { big: 'x'.repeat(64 * 1024) }))).rejects.toThrow(/properties/);
      await expect(queue.schedule(sized({ text: 'x'.repeat(300_000) }), new Date())).rejects.toThrow(
        MessageSizeExceededError,
      );
      expect(await queue.send(sized({ text: 'x'.repeat(200 * 1024) }))).toEqual({ duplicate: false });
      expect(queue.stats.accepted).toBe(1);
    } finally {
      await queue.close();
    }
  });
});
