/**
 * Notifications to the SOC (docs/decisions/0027-notifications-after-the-outcome.md). Events come from
 * dispatch's outcome records and notes (this wraps the reporter, so an outcome is written before it
 * is told) and from emitters (the breaker, the approvals). Each channel keeps its own outbox: an event
 * alone in its interval goes out alone; more than one in an interval goes out as one digest when the
 * interval ends, so a storm is at most one message per channel per interval. Sending never reaches
 * back into dispatch: a failure is one log line (no URL) and a metric, and the event is dropped.
 */
import type { Meter } from '@opentelemetry/api';
import type { DispatchReporter } from '../dispatch/outcome';
import { tenantLabel } from '../tenants/label';
import { SINGLE_TENANT, type TenantDirectory } from '../tenants/lookup';
import {
  DEFAULT_RETRY,
  type DeliveryClock,
  type DeliveryResult,
  deliver,
  type RetryPolicy,
} from './delivery';
import { type Digest, digestOf } from './digest';
import type { NotifyEvent, NotifyEventKind, NotifyLinks } from './events';
import { eventOfNote, eventOfOutcome } from './from-records';
import { digestOutgoing, eventOutgoing } from './messages';
import { present } from './presentation';
import type { NotifyChannel, NotifySettings } from './settings';
import { systemTimers, type Timers } from './timers';

/** The instruments, by name (docs/records.md "Notifications"). */
export const NOTIFY_METRICS = {
  sent: 'mde_isolator.notifications_sent',
  failed: 'mde_isolator.notifications_failed',
} as const;

/** Events an outbox keeps to list in a digest; the counts cover every one. */
export const MAX_OUTBOX_EVENTS = 1_000;
/** Keys of events already told, per channel, so a repeat (a redelivered record) is not told again. */
export const MAX_REMEMBERED_KEYS = 5_000;

export interface NotifierOptions {
  settings: NotifySettings;
  /** Where a failed delivery is logged: one warning per message given up. */
  log: DispatchReporter['note'];
  meter?: Meter;
  timers?: Timers;
  /** The tenant list, which names the tenant of an event (`notify`); default: one tenant, named nowhere. */
  tenants?: TenantDirectory;
  retry?: Partial<RetryPolicy>;
  random?: () => number;
}

interface Counters {
  sent(channel: NotifyChannel, what: string): void;
  failed(channel: NotifyChannel, what: string): void;
}

function countersOf(meter: Meter | undefined): Counters {
  const sent = meter?.createCounter(NOTIFY_METRICS.sent, { description: 'Notification messages delivered' });
  const failed = meter?.createCounter(NOTIFY_METRICS.failed, {
    description: 'Notification messages given up',
  });
  return {
    sent: (channel, what) => sent?.add(1, { channel: channel.name, kind: channel.kind, message: what }),
    failed: (channel, what) => failed?.add(1, { channel: channel.name, kind: channel.kind, message: what }),
  };
}

/** One channel's events waiting for their interval, and when it last sent. */
class Outbox {
  private events: NotifyEvent[] = [];
  private counts = new Map<NotifyEventKind, number>();
  private readonly told = new Map<string, true>();
  private lastSentAt = Number.NEGATIVE_INFINITY;
  private windowStart = 0;
  private cancelTimer: (() => void) | null = null;
  private sending: Promise<void> | null = null;

  constructor(
    private readonly channel: NotifyChannel,
    private readonly notifier: Notifier,
  ) {}

  accept(event: NotifyEvent, key: string): void {
    if (!this.channel.events.has(event.kind) || this.told.has(key)) return;
    this.told.set(key, true);
    if (this.told.size > MAX_REMEMBERED_KEYS) this.told.delete(this.told.keys().next().value as string);
    if (this.counts.size === 0) this.windowStart = this.notifier.timers.now();
    this.counts.set(event.kind, (this.counts.get(event.kind) ?? 0) + 1);
    if (this.events.length < MAX_OUTBOX_EVENTS) this.events.push(event);
    this.arm();
  }

  /** Sends what waits now, whatever the interval (closing). */
  async flush(): Promise<void> {
    this.cancelTimer?.();
    this.cancelTimer = null;
    await this.sending;
    await this.send();
  }

  private arm(): void {
    if (this.sending || this.cancelTimer) return;
    const due = this.lastSentAt + this.notifier.intervalMs - this.notifier.timers.now();
    if (due <= 0) {
      void this.send();
      return;
    }
    this.cancelTimer = this.notifier.timers.after(due, () => {
      this.cancelTimer = null;
      void this.send();
    });
  }

  private send(): Promise<void> {
    if (this.counts.size === 0) return Promise.resolve();
    const events = this.events;
    const counts = this.counts;
    const total = [...counts.values()].reduce((sum, count) => sum + count, 0);
    this.events = [];
    this.counts = new Map();
    const now = this.notifier.timers.now();
    this.lastSentAt = now;
    const single = total === 1 ? events[0] : undefined;
    const what = single ? single.kind : 'digest';
    const message = single
      ? eventOutgoing(this.channel, single, this.notifier.links)
      : digestOutgoing(this.channel, this.digest(events, counts, now), this.notifier.links);
    const sending = this.notifier
      .deliver(message)
      .then((result) => this.notifier.settle(this.channel, what, total, result))
      .finally(() => {
        this.sending = null;
        // What came in meanwhile waits for the interval after this message.
        if (this.counts.size > 0) this.arm();
      });
    this.sending = sending;
    return this.notifier.track(sending);
  }

  private digest(events: NotifyEvent[], counts: Map<NotifyEventKind, number>, now: number): Digest {
    return digestOf(
      events,
      counts,
      { since: this.windowStart, until: now },
      `${this.notifier.links.portalUrl}/action-center/history`,
    );
  }
}

export class Notifier {
  readonly timers: Timers;
  readonly links: NotifyLinks;
  readonly intervalMs: number;
  private readonly outboxes: Outbox[];
  private readonly retry: RetryPolicy;
  private readonly counters: Counters;
  private readonly inFlight = new Set<Promise<void>>();
  private readonly sleepers = new Set<() => void>();
  private closing = false;

  constructor(private readonly options: NotifierOptions) {
    this.timers = options.timers ?? systemTimers;
    this.links = { portalUrl: options.settings.portalUrl };
    this.intervalMs = options.settings.digestIntervalMs;
    this.retry = { ...DEFAULT_RETRY, ...options.retry };
    this.counters = countersOf(options.meter);
    this.outboxes = options.settings.channels.map((channel) => new Outbox(channel, this));
  }

  /**
   * Tells `event` to every channel that takes its kind; with a tenant list, as happened in tenant
   * `tenantId` (`NotifyEvent.tenant`: its display name and id). Never throws, never waits.
   */
  notify(event: NotifyEvent, tenantId?: string): void {
    if (this.outboxes.length === 0 || this.closing) return;
    const tenant = tenantLabel(this.options.tenants ?? SINGLE_TENANT, tenantId);
    const told = tenant ? { ...event, tenant } : event;
    const { key } = present(told, this.links);
    for (const outbox of this.outboxes) outbox.accept(told, key);
  }

  /** `inner`, with every outcome and note also told once `inner` has written it. */
  reporting(inner: DispatchReporter): DispatchReporter {
    return {
      outcome: (record) => {
        inner.outcome(record);
        const event = eventOfOutcome(record);
        if (event) this.notify(event, record.tenant);
      },
      note: (level, record) => {
        inner.note(level, record);
        const event = eventOfNote(record, this.timers.now());
        if (event) this.notify(event, typeof record.tenant === 'string' ? record.tenant : undefined);
      },
    };
  }

  /** Resolves once every message started so far is delivered or given up. */
  async idle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.all(this.inFlight);
  }

  /** Sends what waits at once, each message with the one attempt under way at most, and ends. */
  async close(): Promise<void> {
    this.closing = true;
    for (const wake of this.sleepers) wake();
    await Promise.all(this.outboxes.map((outbox) => outbox.flush()));
    await this.idle();
  }

  /** @internal The outboxes' sender. */
  deliver(message: Parameters<typeof deliver>[0]): Promise<DeliveryResult> {
    const clock: DeliveryClock = {
      now: () => this.timers.now(),
      stopping: () => this.closing,
      sleep: (ms) =>
        new Promise<void>((wake) => {
          const done = () => {
            cancel();
            this.sleepers.delete(done);
            wake();
          };
          const cancel = this.timers.after(ms, done);
          this.sleepers.add(done);
        }),
    };
    return deliver(message, { clock, retry: this.retry, random: this.options.random });
  }

  /** @internal How a message ended: counted, and logged in one line when given up. */
  settle(channel: NotifyChannel, what: string, events: number, result: DeliveryResult): void {
    if (result.delivered) {
      this.counters.sent(channel, what);
      return;
    }
    this.counters.failed(channel, what);
    try {
      this.options.log('warn', {
        event: 'notification-failed',
        channel: channel.name,
        channelKind: channel.kind,
        message: what,
        events,
        attempts: result.attempts,
        status: result.status,
        why: result.why,
      });
    } catch {
      // A log sink that throws must not reach the worker through a notification.
    }
  }

  /** @internal Keeps `sending` until it ends, for `idle`; never rejects. */
  track(sending: Promise<void>): Promise<void> {
    const done = sending.catch(() => undefined).finally(() => this.inFlight.delete(done));
    this.inFlight.add(done);
    return done;
  }
}
