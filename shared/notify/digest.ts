/**
 * A storm told as one message: what happened in the interval, counted by kind, with the events that
 * ask a person to act listed first, as many as the channel's message holds, and where to see the rest.
 */
import type { NotifyEvent, NotifyEventKind } from './events';

/** Kinds a person must act on: listed before the others. */
const ACT_ON: readonly NotifyEventKind[] = ['escalated', 'approval-pending', 'break-glass'];

export interface Digest {
  since: string;
  until: string;
  /** Every event of the interval, listed or not. */
  total: number;
  counts: { kind: NotifyEventKind; count: number }[];
  /** The events kept to list, those to act on first; a channel lists what fits of them. */
  events: NotifyEvent[];
  /** Where the rest is seen (the Defender action center). */
  moreUrl: string;
}

export function digestOf(
  events: readonly NotifyEvent[],
  counted: ReadonlyMap<NotifyEventKind, number>,
  window: { since: number; until: number },
  moreUrl: string,
): Digest {
  const first = events.filter((event) => ACT_ON.includes(event.kind));
  const rest = events.filter((event) => !ACT_ON.includes(event.kind));
  const counts = [...counted].map(([kind, count]) => ({ kind, count }));
  return {
    since: new Date(window.since).toISOString(),
    until: new Date(window.until).toISOString(),
    total: counts.reduce((sum, entry) => sum + entry.count, 0),
    counts,
    events: [...first, ...rest],
    moreUrl,
  };
}
