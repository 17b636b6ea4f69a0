/**
 * One queue of the AMQP peer, without the wire: what Service Bus keeps for a queue and the rules it
 * applies to it, on a clock the test moves. Sequence numbers, scheduled enqueue, duplicate detection
 * by `messageId` within the window, peek-lock with a lock that expires, the delivery count, the
 * dead-letter sub-queue after `maxDeliveryCount`, and sessions (one holder per session).
 */
import { randomUUID } from 'node:crypto';
import type { Message } from 'rhea';
import type { Clock } from '../../../shared/kernel/clock';

export interface QueueSettings {
  name: string;
  /** `duplicateDetectionHistoryTimeWindow`; absent: no duplicate detection (`requiresDuplicateDetection: false`). */
  duplicateWindowMs?: number;
  maxDeliveryCount: number;
  lockDurationMs: number;
  requiresSession?: boolean;
}

export interface Stored {
  sequenceNumber: number;
  /** The message as the sender wrote it; the broker's annotations are added when it leaves. */
  message: Message;
  enqueuedAt: number;
  /** Scheduled messages are invisible (to receive and to peek as active) until then. */
  visibleAt: number;
  /** Deliveries made so far: a message is on its (deliveries + 1)th when it leaves again. */
  deliveries: number;
  sessionId?: string;
  lock?: { token: string; until: number; holder: object };
  deadLetter?: { reason: string; description: string };
}

export type Settlement =
  | { kind: 'complete' }
  | { kind: 'abandon' }
  | { kind: 'dead-letter'; reason: string; description: string };

/** Why a settlement or renewal was refused, as the service says it (the AMQP error condition). */
export class BrokerRefusal extends Error {
  constructor(
    readonly condition: string,
    description: string,
  ) {
    super(description);
  }
}

export class QueueEntity {
  private readonly messages = new Map<number, Stored>();
  private readonly seen = new Map<string, number>();
  private readonly byToken = new Map<string, Stored>();
  /** Which receiver holds each locked session, and until when. */
  private readonly sessions = new Map<string, { holder: object; until: number }>();

  constructor(
    readonly settings: QueueSettings,
    private readonly clock: Clock,
    private readonly nextSequence: () => number,
    /** Where dead-lettered messages go: the `<queue>/$DeadLetterQueue` sub-queue. */
    private readonly deadLetterQueue: QueueEntity | null,
  ) {}

  /** Accepts a message; false when duplicate detection dropped it (the sender is told it was accepted). */
  enqueue(message: Message, visibleAt = this.clock.now()): { accepted: boolean; sequenceNumber: number } {
    const now = this.clock.now();
    const id = message.message_id === undefined ? undefined : String(message.message_id);
    const window = this.settings.duplicateWindowMs;
    if (id !== undefined && window !== undefined) {
      const first = this.seen.get(id);
      if (first !== undefined && now - first < window) return { accepted: false, sequenceNumber: -1 };
      this.seen.set(id, now);
    }
    const sequenceNumber = this.nextSequence();
    this.messages.set(sequenceNumber, {
      sequenceNumber,
      message,
      enqueuedAt: now,
      visibleAt,
      deliveries: 0,
      sessionId: message.group_id === undefined ? undefined : String(message.group_id),
    });
    return { accepted: true, sequenceNumber };
  }

  /**
   * `com.microsoft:cancel-scheduled-message`: a scheduled message not yet enqueued goes away. False
   * when there is none (enqueued already, cancelled, never there), which the service refuses.
   */
  cancelScheduled(sequenceNumber: number): boolean {
    const stored = this.messages.get(sequenceNumber);
    if (!stored || stored.visibleAt <= this.clock.now()) return false;
    this.messages.delete(sequenceNumber);
    return true;
  }

  /** `com.microsoft:peek-message`: the next messages from a sequence number, locked or not, never locking. */
  peek(fromSequence: number, count: number, sessionId?: string): Stored[] {
    return [...this.messages.values()]
      .filter(
        (m) => m.sequenceNumber >= fromSequence && (sessionId === undefined || m.sessionId === sessionId),
      )
      .sort((a, b) => a.sequenceNumber - b.sequenceNumber)
      .slice(0, count);
  }

  /** Locks the next visible, unlocked message for `holder` (of `sessionId` on a session queue). */
  lockNext(holder: object, sessionId?: string): Stored | undefined {
    const now = this.clock.now();
    let next: Stored | undefined;
    for (const m of this.messages.values()) {
      if (m.lock || m.visibleAt > now) continue;
      // A queue without sessions ignores a message's session id, as the service does.
      if (this.settings.requiresSession && m.sessionId !== sessionId) continue;
      if (!next || m.sequenceNumber < next.sequenceNumber) next = m;
    }
    if (!next) return undefined;
    next.lock = { token: randomUUID(), until: now + this.settings.lockDurationMs, holder };
    next.deliveries += 1;
    this.byToken.set(next.lock.token, next);
    return next;
  }

  settle(token: string, settlement: Settlement): void {
    const stored = this.heldBy(token);
    this.unlock(stored);
    if (settlement.kind === 'complete') this.messages.delete(stored.sequenceNumber);
    else if (settlement.kind === 'dead-letter')
      this.moveToDeadLetter(stored, settlement.reason, settlement.description);
    else this.returnOrDeadLetter(stored);
  }

  /** `com.microsoft:renew-lock`: the lock runs for another lock duration from now. */
  renew(token: string): number {
    const stored = this.heldBy(token);
    const lock = stored.lock as NonNullable<Stored['lock']>;
    lock.until = this.clock.now() + this.settings.lockDurationMs;
    return lock.until;
  }

  /** Locks `sessionId` (or the first session with a visible message) for `holder`; undefined if none can be. */
  lockSession(holder: object, sessionId?: string): { sessionId: string; until: number } | undefined {
    this.expire();
    const now = this.clock.now();
    const free = (id: string) => {
      const held = this.sessions.get(id);
      return !held || held.holder === holder;
    };
    let id = sessionId;
    if (id === undefined) {
      const candidates = [...this.messages.values()]
        .filter((m) => m.sessionId !== undefined && m.visibleAt <= now && free(m.sessionId))
        .sort((a, b) => a.sequenceNumber - b.sequenceNumber);
      id = candidates[0]?.sessionId;
    }
    if (id === undefined || !free(id)) return undefined;
    const until = now + this.settings.lockDurationMs;
    this.sessions.set(id, { holder, until });
    return { sessionId: id, until };
  }

  /** Whether `holder` still holds `sessionId` (its lock may have run out). */
  holds(holder: object, sessionId: string): boolean {
    const held = this.sessions.get(sessionId);
    return held !== undefined && held.holder === holder && held.until > this.clock.now();
  }

  /** `com.microsoft:renew-session-lock`: the session stays its holder's for another lock duration. */
  renewSession(sessionId: string): number {
    const held = this.sessions.get(sessionId);
    if (!held || held.until <= this.clock.now())
      throw new BrokerRefusal(
        'com.microsoft:session-lock-lost',
        `The session lock has expired on the MessageSession. Accept a new MessageSession. Session: ${sessionId}.`,
      );
    held.until = this.clock.now() + this.settings.lockDurationMs;
    return held.until;
  }

  /** A session receiver detached: its session is free again and its message locks go with it. */
  releaseHolder(holder: object): void {
    for (const [id, held] of this.sessions) if (held.holder === holder) this.sessions.delete(id);
    for (const m of this.messages.values())
      if (m.lock?.holder === holder) this.returnOrDeadLetter(this.unlock(m));
  }

  /** Expired message locks bring their messages back (a delivery counted); expired session locks free the session. */
  expire(): void {
    const now = this.clock.now();
    for (const m of [...this.messages.values()])
      if (m.lock && m.lock.until <= now) this.returnOrDeadLetter(this.unlock(m));
    for (const [id, held] of this.sessions) if (held.until <= now) this.sessions.delete(id);
  }

  /** The messages still in the queue, scheduled ones included, in sequence order. */
  contents(): Stored[] {
    return [...this.messages.values()].sort((a, b) => a.sequenceNumber - b.sequenceNumber);
  }

  private heldBy(token: string): Stored {
    const stored = this.byToken.get(token);
    if (!stored?.lock || stored.lock.token !== token || stored.lock.until <= this.clock.now())
      throw new BrokerRefusal(
        'com.microsoft:message-lock-lost',
        'The lock supplied is invalid. Either the lock expired, or the message has already been removed from the queue, or was received by a different receiver instance.',
      );
    return stored;
  }

  private unlock(stored: Stored): Stored {
    if (stored.lock) this.byToken.delete(stored.lock.token);
    stored.lock = undefined;
    return stored;
  }

  private returnOrDeadLetter(stored: Stored): void {
    if (stored.deliveries >= this.settings.maxDeliveryCount)
      this.moveToDeadLetter(
        stored,
        'MaxDeliveryCountExceeded',
        `Message could not be consumed after ${stored.deliveries} delivery attempts.`,
      );
  }

  private moveToDeadLetter(stored: Stored, reason: string, description: string): void {
    this.messages.delete(stored.sequenceNumber);
    if (!this.deadLetterQueue) return;
    const message: Message = {
      ...stored.message,
      application_properties: {
        ...stored.message.application_properties,
        DeadLetterReason: reason,
        DeadLetterErrorDescription: description,
      },
    };
    const { sequenceNumber } = this.deadLetterQueue.enqueue(message);
    const moved = this.deadLetterQueue.messages.get(sequenceNumber) as Stored;
    moved.deliveries = stored.deliveries;
    moved.deadLetter = { reason, description };
  }
}
