/**
 * InProcessQueue: the in-memory Service Bus stand-in used by inline mode (CLI, demo, local runs) and
 * by the tests. It keeps the Service Bus semantics the worker relies on, so the worker behaves the
 * same with or without Azure: scheduled delivery, duplicate detection by `messageId` within a window,
 * delivery count, abandon-on-throw with redelivery, dead-lettering after the maximum delivery count
 * (with a reason), the message size limits of Service Bus Standard (a message it would refuse is
 * refused here too, so tests see it), plus idle detection so a CLI run knows when every request
 * reached its end.
 *
 * Like Service Bus it does not order by priority: messages are delivered in the order they become
 * visible within their session (their tenant, `sessionOf`), and the sessions take turns
 * (`SessionLanes`), so one tenant's storm does not hold another tenant's requests back, as Service
 * Bus sessions keep them apart. Nothing survives the process; durability is what Service Bus adds in
 * Azure.
 */

import { randomUUID } from 'node:crypto';
import { type Clock, systemClock } from '../../kernel/clock';
import { errorSummary } from '../../kernel/errors';
import {
  type DeadLetterRecord,
  type Delivery,
  type QueueMessage,
  type RequestQueue,
  type ScheduledMessageRef,
  scheduledMessageRef,
  sequenceNumberOn,
} from './queue';
import { REQUEST_QUEUE_SETTINGS, SERVICE_BUS_STANDARD_LIMITS } from './service-bus-settings';
import { sessionOf } from './session';
import { SessionLanes } from './session-lanes';

/**
 * The AMQP framing our estimate cannot see: per property (type and length markers) and per message
 * (system properties, header sections). Generous, so the stand-in refuses what Service Bus would.
 */
const AMQP_PROPERTY_OVERHEAD = 16;
const AMQP_MESSAGE_OVERHEAD = 1024;

/** What the Service Bus SDK throws for a message over the size limit (its error code). */
export class MessageSizeExceededError extends Error {
  readonly code = 'MessageSizeExceeded';
  constructor(message: string) {
    super(message);
    this.name = 'MessageSizeExceededError';
  }
}

/**
 * Throws as Service Bus Standard would refuse `message`: a message id too long (the SDK's own check,
 * in its words), too large, or too many property bytes.
 */
export function checkServiceBusLimits(message: QueueMessage): void {
  const { messageIdChars } = SERVICE_BUS_STANDARD_LIMITS;
  if (message.messageId.length > messageIdChars)
    throw new Error(
      `Length of 'messageId' property on the message cannot be greater than ${messageIdChars} characters.`,
    );
  let properties = 0;
  for (const [key, value] of Object.entries(message.applicationProperties))
    properties += Buffer.byteLength(key) + Buffer.byteLength(String(value)) + AMQP_PROPERTY_OVERHEAD;
  if (properties > SERVICE_BUS_STANDARD_LIMITS.propertiesBytes)
    throw new MessageSizeExceededError(
      `message ${message.messageId}: ${properties} bytes of properties, over the ${SERVICE_BUS_STANDARD_LIMITS.propertiesBytes} allowed`,
    );
  const total =
    Buffer.byteLength(JSON.stringify(message.body)) +
    Buffer.byteLength(message.messageId) +
    properties +
    AMQP_MESSAGE_OVERHEAD;
  if (total > SERVICE_BUS_STANDARD_LIMITS.messageBytes)
    throw new MessageSizeExceededError(
      `message ${message.messageId}: about ${total} bytes, over the ${SERVICE_BUS_STANDARD_LIMITS.messageBytes} allowed`,
    );
}

export type MessageHandler = (message: QueueMessage, delivery: Delivery) => Promise<void>;

export interface InProcessQueueOptions {
  clock?: Clock;
  /** The deployed queue's (REQUEST_QUEUE_SETTINGS) unless given. */
  duplicateWindowMs?: number;
  /** The deployed queue's (REQUEST_QUEUE_SETTINGS) unless given. */
  maxDeliveryCount?: number;
}

interface Entry {
  message: QueueMessage;
  visibleAt: number;
  deliveryCount: number;
  sequence: number;
}

export interface QueueStats {
  accepted: number;
  duplicatesDropped: number;
  delivered: number;
  abandoned: number;
  deadLettered: number;
}

export class InProcessQueue implements RequestQueue {
  readonly deadLetters: DeadLetterRecord[] = [];
  readonly stats: QueueStats = {
    accepted: 0,
    duplicatesDropped: 0,
    delivered: 0,
    abandoned: 0,
    deadLettered: 0,
  };
  private readonly clock: Clock;
  /** What its scheduled-message refs name: this queue only, so another process's ref finds nothing here. */
  private readonly name = `in-process:${randomUUID()}`;
  private readonly duplicateWindowMs: number;
  private readonly maxDeliveryCount: number;
  private readonly seen = new Map<string, number>();
  /** Waiting for their time, ordered by visibleAt then arrival. */
  private readonly scheduled: Entry[] = [];
  private readonly ready = new SessionLanes<Entry>((entry) => sessionOf(entry.message));
  private inFlight = 0;
  /** Messages in flight by session (tenant). */
  private readonly inFlightBySession = new Map<string, number>();
  private sequence = 0;
  private handler: MessageHandler | null = null;
  private concurrency = 1;
  private timer: NodeJS.Timeout | null = null;
  private timerAt = Number.POSITIVE_INFINITY;
  private idleWaiters: (() => void)[] = [];
  private closed = false;
  private deadLetterListener: ((record: DeadLetterRecord) => void) | null = null;

  constructor(options: InProcessQueueOptions = {}) {
    this.clock = options.clock ?? systemClock;
    this.duplicateWindowMs = options.duplicateWindowMs ?? REQUEST_QUEUE_SETTINGS.duplicateWindowMs;
    this.maxDeliveryCount = options.maxDeliveryCount ?? REQUEST_QUEUE_SETTINGS.maxDeliveryCount;
  }

  /** Starts delivering to `handler`, at most `concurrency` messages at a time. */
  start(handler: MessageHandler, options: { concurrency?: number } = {}): void {
    this.handler = handler;
    this.concurrency = options.concurrency ?? 1;
    this.pump();
  }

  onDeadLetter(listener: (record: DeadLetterRecord) => void): void {
    this.deadLetterListener = listener;
  }

  async send(message: QueueMessage): Promise<{ duplicate: boolean }> {
    return { duplicate: this.accept(message, this.clock.now()) === null };
  }

  async schedule(message: QueueMessage, at: Date): Promise<ScheduledMessageRef | null> {
    const entry = this.accept(message, at.getTime());
    return entry && scheduledMessageRef(this.name, String(entry.sequence));
  }

  async cancelScheduled(ref: ScheduledMessageRef): Promise<boolean> {
    const sequence = sequenceNumberOn(this.name, ref);
    const now = this.clock.now();
    // Like Service Bus, a message whose time has come is enqueued and can no longer be cancelled.
    const index =
      sequence === null
        ? -1
        : this.scheduled.findIndex((entry) => String(entry.sequence) === sequence && entry.visibleAt > now);
    if (index < 0) return false;
    this.scheduled.splice(index, 1);
    this.pump();
    return true;
  }

  async bringForward(messageId: string, at: Date): Promise<boolean> {
    const index = this.scheduled.findIndex((entry) => entry.message.messageId === messageId);
    if (index < 0 || this.scheduled[index].visibleAt <= at.getTime()) return false;
    const [entry] = this.scheduled.splice(index, 1);
    this.enqueue({ ...entry, visibleAt: at.getTime() });
    return true;
  }

  async deadLetter(record: DeadLetterRecord): Promise<void> {
    this.stats.deadLettered += 1;
    this.deadLetters.push(record);
    this.deadLetterListener?.(record);
  }

  /** Resolves once nothing is waiting, scheduled or being handled. */
  idle(): Promise<void> {
    if (this.isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /**
   * Delivers what is due by the clock now: for a clock that jumps (a test moving the simulator's
   * days ahead) rather than one that runs, whose next scheduled message the timer waits for.
   */
  wake(): void {
    this.pump();
  }

  /** Messages not yet finished (waiting, scheduled or in a handler). */
  pending(): number {
    return this.scheduled.length + this.ready.size + this.inFlight;
  }

  /** The ids of the messages waiting for their time, soonest first. */
  scheduledIds(): string[] {
    return this.scheduled.map((entry) => entry.message.messageId);
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  /** Null when dropped as a duplicate. */
  private accept(message: QueueMessage, visibleAt: number): Entry | null {
    if (this.closed) throw new Error('queue is closed');
    checkServiceBusLimits(message);
    const now = this.clock.now();
    const firstSeen = this.seen.get(message.messageId);
    if (firstSeen !== undefined && now - firstSeen < this.duplicateWindowMs) {
      // Service Bus accepts the send and silently drops the duplicate; so do we.
      this.stats.duplicatesDropped += 1;
      return null;
    }
    // Re-inserted so the map stays in first-seen order, which pruning relies on.
    this.seen.delete(message.messageId);
    this.seen.set(message.messageId, now);
    this.pruneSeen(now);
    this.stats.accepted += 1;
    // A copy, as a broker would hold: later edits by the sender do not reach the queued message.
    const entry = {
      message: structuredClone(message),
      visibleAt,
      deliveryCount: 0,
      sequence: this.sequence++,
    };
    this.enqueue(entry);
    return entry;
  }

  private enqueue(entry: Entry): void {
    if (entry.visibleAt <= this.clock.now()) this.ready.push(entry);
    else insertSorted(this.scheduled, entry);
    this.pump();
  }

  private pump(): void {
    if (this.closed) return;
    const now = this.clock.now();
    while (this.scheduled.length > 0 && this.scheduled[0].visibleAt <= now) {
      this.ready.push(this.scheduled.shift() as Entry);
    }
    // Each session (tenant) has `concurrency` in flight of its own, as each Service Bus session is
    // served apart: one tenant's slow messages never hold another's. One session: `concurrency` in all.
    const underShare = (session: string) => (this.inFlightBySession.get(session) ?? 0) < this.concurrency;
    while (this.handler && this.ready.size > 0) {
      const entry = this.ready.shift(underShare);
      if (!entry) break;
      this.deliver(entry);
    }
    this.armTimer();
    this.notifyIdle();
  }

  private deliver(entry: Entry): void {
    const handler = this.handler as MessageHandler;
    this.inFlight += 1;
    const session = sessionOf(entry.message);
    this.inFlightBySession.set(session, (this.inFlightBySession.get(session) ?? 0) + 1);
    entry.deliveryCount += 1;
    this.stats.delivered += 1;
    handler(structuredClone(entry.message), {
      deliveryCount: entry.deliveryCount,
      messageId: entry.message.messageId,
    })
      .then(
        () => undefined,
        (error: unknown) => this.abandon(entry, error),
      )
      .finally(() => {
        this.inFlight -= 1;
        const left = (this.inFlightBySession.get(session) ?? 1) - 1;
        if (left === 0) this.inFlightBySession.delete(session);
        else this.inFlightBySession.set(session, left);
        this.pump();
      });
  }

  /** The handler threw: like Service Bus, the message comes back until the delivery limit. */
  private abandon(entry: Entry, error: unknown): void {
    this.stats.abandoned += 1;
    if (entry.deliveryCount >= this.maxDeliveryCount) {
      void this.deadLetter({
        event: 'isolation-dead-letter',
        reason: 'MaxDeliveryCountExceeded',
        description: `handler failed ${entry.deliveryCount} times; last error: ${errorSummary(error)}`,
        messageId: entry.message.messageId,
        deadLetteredAt: new Date(this.clock.now()).toISOString(),
        request: entry.message.body,
      });
      return;
    }
    this.ready.push(entry);
  }

  private armTimer(): void {
    const next = this.scheduled[0]?.visibleAt ?? Number.POSITIVE_INFINITY;
    if (next === this.timerAt) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.timerAt = next;
    if (next === Number.POSITIVE_INFINITY) return;
    this.timer = setTimeout(
      () => {
        this.timer = null;
        this.timerAt = Number.POSITIVE_INFINITY;
        this.pump();
      },
      Math.max(0, next - this.clock.now()),
    );
  }

  private isIdle(): boolean {
    return this.pending() === 0;
  }

  private notifyIdle(): void {
    if (!this.isIdle() || this.idleWaiters.length === 0) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const resolve of waiters) resolve();
  }

  private pruneSeen(now: number): void {
    // Map iteration is insertion order, so the oldest ids come first.
    for (const [id, at] of this.seen) {
      if (now - at < this.duplicateWindowMs) break;
      this.seen.delete(id);
    }
  }
}

function insertSorted(list: Entry[], entry: Entry): void {
  let low = 0;
  let high = list.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    const other = list[mid];
    if (
      other.visibleAt < entry.visibleAt ||
      (other.visibleAt === entry.visibleAt && other.sequence < entry.sequence)
    )
      low = mid + 1;
    else high = mid;
  }
  list.splice(low, 0, entry);
}
