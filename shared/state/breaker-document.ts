/**
 * The shared breaker as one document, and the pure steps on it; the store reads it, applies a step
 * and writes it back under its ETag. Its size is bounded whatever the policy's limit or the number of
 * manual requests: committed isolations are kept as up to ~100 time buckets per window (a bucket ages
 * out with its newest entry, so counts are never low, at most one bucket's width long), live
 * reservations are capped, and so are the action ids remembered so an action counts once.
 */
import { randomBytes } from 'node:crypto';
import { COUNTED_ISOLATIONS_KEPT } from '../config';
import { truncate } from '../kernel/text';
import {
  type BreakerAdmission,
  type BreakerLimits,
  type BreakerReset,
  type SharedBreakerStatus,
  StoreUnavailableError,
} from './store';

/** Isolations committed close together: `count` of them, the first at `first`, the newest at `last`. */
export type Bucket = [first: number, last: number, count: number];

export interface Reservation {
  id: string;
  at: number;
  manual: boolean;
}

/** An isolation counted: its MDE action id and when. */
export type CountedAction = [actionId: string, at: number];

export interface BreakerDocument {
  /** Oldest first. */
  committed: Bucket[];
  /**
   * The actions counted in the window, oldest first, so a second commit of one (a retry adopting
   * this app's own isolation) counts nothing. Past the cap the oldest are forgotten: such an action
   * committed again would count twice, never too few.
   */
  counted: CountedAction[];
  reservations: Reservation[];
  openedAt: number | null;
  openReason: string;
  /** The window last seen, so steps that take no limits (commit) can still prune and bucket. */
  windowMs: number;
  /** Newest first. */
  resets: BreakerReset[];
}

export const EMPTY_BREAKER: BreakerDocument = {
  committed: [],
  counted: [],
  reservations: [],
  openedAt: null,
  openReason: '',
  windowMs: 0,
  resets: [],
};

/** How a breaker's refusals name it: the policy's blast-radius breaker, or the deployment-wide cap. */
export interface BreakerWords {
  /** Opens the reason when the window's count reached the limit. */
  open: string;
  /** Opens the reason when the window is full only counting isolations in flight. */
  full: string;
}

export const BLAST_RADIUS_WORDS: BreakerWords = {
  open: 'blast-radius breaker open',
  full: 'blast-radius window full',
};

const BUCKETS_PER_WINDOW = 100;
/** Backstop when the window shrinks between calls; merging two buckets only ever counts longer. */
const MAX_BUCKETS = 2 * BUCKETS_PER_WINDOW;
/** Isolate POSTs in flight at once across every process; more waits (StoreUnavailableError). */
export const MAX_RESERVATIONS = 300;
const RESETS_KEPT = 10;
const TEXT_MAX = 300;

/** Drops what left the window, expired reservations and an open state whose window is over. */
function prune(doc: BreakerDocument, now: number, reservationTtlMs: number): BreakerDocument {
  const committed = doc.committed.filter(([, last]) => last > now - doc.windowMs);
  while (committed.length > MAX_BUCKETS) {
    const [a, b] = committed.splice(0, 2);
    committed.unshift([a[0], b[1], a[2] + b[2]]);
  }
  const closed = doc.openedAt !== null && now >= doc.openedAt + doc.windowMs;
  return {
    ...doc,
    committed,
    counted: doc.counted.filter(([, at]) => at > now - doc.windowMs),
    reservations: doc.reservations.filter((r) => r.at > now - reservationTtlMs),
    openedAt: closed ? null : doc.openedAt,
    openReason: closed ? '' : doc.openReason,
  };
}

function committedCount(doc: BreakerDocument): number {
  return doc.committed.reduce((sum, [, , count]) => sum + count, 0);
}

function withLimits(doc: BreakerDocument, limits: BreakerLimits): BreakerDocument {
  if (
    !(
      Number.isInteger(limits.limit) &&
      limits.limit >= 1 &&
      Number.isInteger(limits.windowMs) &&
      limits.windowMs >= 1
    )
  )
    throw new Error(
      `breaker limits must be whole numbers of at least 1 (got ${limits.limit} per ${limits.windowMs} ms)`,
    );
  return { ...doc, windowMs: limits.windowMs };
}

function windowLabel(windowMs: number): string {
  const minutes = windowMs / 60_000;
  return Number.isInteger(minutes) ? `${minutes} min` : `${windowMs} ms`;
}

export function reserve(
  stored: BreakerDocument,
  now: number,
  request: { manual: boolean },
  limits: BreakerLimits,
  reservationTtlMs: number,
  words: BreakerWords = BLAST_RADIUS_WORDS,
): { doc: BreakerDocument; admission: BreakerAdmission } {
  const doc = prune(withLimits(stored, limits), now, reservationTtlMs);
  if (!request.manual) {
    if (doc.openedAt !== null)
      return { doc, admission: { allowed: false, open: true, reason: doc.openReason } };
    const count = committedCount(doc);
    if (count >= limits.limit) {
      const reason = `${words.open}: ${count} isolation${count === 1 ? '' : 's'} in the last ${windowLabel(limits.windowMs)} (limit ${limits.limit})`;
      return {
        doc: { ...doc, openedAt: now, openReason: reason },
        admission: { allowed: false, open: true, reason },
      };
    }
    const inFlight = doc.reservations.length;
    if (count + inFlight >= limits.limit)
      return {
        doc,
        admission: {
          allowed: false,
          open: false,
          reason: `${words.full} counting ${inFlight} isolation${inFlight === 1 ? '' : 's'} in flight (limit ${limits.limit}); waiting for them to settle`,
          retryAt: Math.min(...doc.reservations.map((r) => r.at)) + reservationTtlMs,
        },
      };
  }
  // Manual requests are never refused, but a runaway caller must not grow the document without bound.
  if (doc.reservations.length >= MAX_RESERVATIONS)
    throw new StoreUnavailableError(`${MAX_RESERVATIONS} isolations already in flight; try again shortly`);
  const id = randomBytes(8).toString('hex');
  return {
    doc: { ...doc, reservations: [...doc.reservations, { id, at: now, manual: request.manual }] },
    admission: { allowed: true, reservationId: id },
  };
}

export function commit(
  stored: BreakerDocument,
  now: number,
  reservation: { reservationId: string | null; actionId: string },
  reservationTtlMs: number,
): BreakerDocument {
  const pruned = prune(stored, now, reservationTtlMs);
  const doc = {
    ...pruned,
    reservations: pruned.reservations.filter((r) => r.id !== reservation.reservationId),
  };
  if (doc.counted.some(([id]) => id === reservation.actionId)) return doc;
  const counted: CountedAction[] = [
    ...doc.counted,
    [truncate(reservation.actionId, TEXT_MAX), now] as CountedAction,
  ].slice(-COUNTED_ISOLATIONS_KEPT);
  const committed = [...doc.committed];
  const newest = committed[committed.length - 1];
  const width = Math.max(1, Math.floor(doc.windowMs / BUCKETS_PER_WINDOW));
  if (newest && now - newest[0] < width)
    committed[committed.length - 1] = [newest[0], Math.max(newest[1], now), newest[2] + 1];
  else committed.push([now, now, 1]);
  return { ...doc, committed, counted };
}

export function release(
  stored: BreakerDocument,
  now: number,
  reservationId: string,
  reservationTtlMs: number,
) {
  const doc = prune(stored, now, reservationTtlMs);
  return { ...doc, reservations: doc.reservations.filter((r) => r.id !== reservationId) };
}

export function trip(stored: BreakerDocument, now: number, reason: string): BreakerDocument {
  return { ...stored, openedAt: now, openReason: truncate(reason, TEXT_MAX) };
}

/** Closed, with the window's count forgotten; POSTs in flight still count when they commit. */
export function reset(stored: BreakerDocument, now: number, by: string, reason: string): BreakerDocument {
  const entry = {
    at: new Date(now).toISOString(),
    by: truncate(by, TEXT_MAX),
    reason: truncate(reason, TEXT_MAX),
  };
  return {
    ...stored,
    committed: [],
    counted: [],
    openedAt: null,
    openReason: '',
    resets: [entry, ...stored.resets].slice(0, RESETS_KEPT),
  };
}

export function status(
  stored: BreakerDocument,
  now: number,
  limits: BreakerLimits,
  reservationTtlMs: number,
): SharedBreakerStatus {
  const doc = prune(withLimits(stored, limits), now, reservationTtlMs);
  return {
    open: doc.openedAt !== null,
    count: committedCount(doc),
    reserved: doc.reservations.length,
    limit: limits.limit,
    windowMs: limits.windowMs,
    closesAt: doc.openedAt === null ? null : new Date(doc.openedAt + limits.windowMs),
    reason: doc.openedAt === null ? null : doc.openReason,
    resets: doc.resets,
  };
}
