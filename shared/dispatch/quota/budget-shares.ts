/**
 * The rule of the quota budget every process shares (docs/decisions/0014-one-budget-across-processes.md):
 * one document per API holds each process's share, its recent calls and the slots it holds. A process
 * sends a call only in a slot it holds, and a slot is granted only if, in every window, the calls that
 * ended within the window, plus every slot held by anyone, plus the new ones fit the limit. That keeps
 * every window of every length under its limit: a call counted in a window ended in it, or was held
 * when the last slot sent in that window was granted, and that grant counted it.
 *
 * A holder whose lease lapsed (claim.ts: the process died or stalled) no longer holds anything: its
 * slots count as calls made at the end of its lease (it sends only with half a lease left, so MDE has
 * counted them by then), and its share joins the ended processes' one.
 */
import type { QuotaBudgetDocument, QuotaShare } from '../../state/store';
import type { WindowLimit } from './sliding-window';

/** The share that keeps the calls of every process that no longer holds a lease. */
export const ENDED_HOLDER = 'ended';

/** What one process brings to the document when it syncs its share. */
export interface ShareSync {
  holder: string;
  /** End times of its calls since its last sync. */
  ended: readonly number[];
  /** Slots it goes on holding: granted and unused, or in flight. */
  held: number;
  /** Slots it asks for on top. */
  want: number;
  /** A 429 it met: nobody sends before then. */
  pausedUntil: number;
}

export interface ShareAnswer {
  next: QuotaBudgetDocument | null;
  granted: number;
  /** With nothing granted: when to ask again (epoch ms). */
  retryAt: number;
  /** The calls of every other process (ascending) and the slots they hold, for planning. */
  others: { stamps: number[]; held: number };
  pausedUntil: number;
  /** Every share is taken by a live process: this one gets none until one ends. */
  crowded: boolean;
}

/**
 * Applies `sync` to `doc` at `now`. `leaseOf` answers each other holder's lease end (0: ended or
 * unknown). `pollMs`: when slots held by others are all that stand in the way, ask again this soon.
 */
export function syncShare(
  doc: QuotaBudgetDocument,
  sync: ShareSync,
  leaseOf: ReadonlyMap<string, number>,
  windows: readonly WindowLimit[],
  now: number,
  sharesMax: number,
  pollMs: number,
): ShareAnswer {
  const longestMs = Math.max(...windows.map((w) => w.windowMs));
  const recent = (stamps: readonly number[]) => stamps.filter((at) => at + longestMs >= now);
  const ended: number[] = [];
  const shares: QuotaShare[] = [];
  let mine: QuotaShare | undefined;
  for (const share of doc.shares) {
    if (share.holder === sync.holder) mine = share;
    else if (share.holder === ENDED_HOLDER) ended.push(...share.stamps);
    else {
      const lease = leaseOf.get(share.holder) ?? 0;
      if (lease > now) shares.push({ ...share, stamps: recent(share.stamps) });
      else ended.push(...share.stamps, ...Array<number>(share.held).fill(lease > 0 ? lease : now));
    }
  }
  // Room for the ended processes' share and this one's.
  const crowded = mine === undefined && shares.length + 2 > sharesMax;
  mine = { holder: sync.holder, stamps: recent([...(mine?.stamps ?? []), ...sync.ended]), held: sync.held };
  const pausedUntil = Math.max(doc.pausedUntil, sync.pausedUntil);
  const everyStamp = [...ended, ...mine.stamps, ...shares.flatMap((s) => s.stamps)].sort((a, b) => a - b);
  const heldByAll = mine.held + shares.reduce((sum, s) => sum + s.held, 0);
  let granted = 0;
  let retryAt = now;
  if (pausedUntil > now) retryAt = pausedUntil;
  else if (!crowded) {
    granted = sync.want;
    for (const w of windows) {
      const inWindow = everyStamp.filter((at) => at + w.windowMs >= now);
      const room = w.limit - inWindow.length - heldByAll;
      granted = Math.max(0, Math.min(granted, room));
      // The slot after this one frees when enough of the window's calls leave it; slots held
      // elsewhere come back at their holder's next sync, which nothing here can tell.
      const leaving = 1 - room;
      retryAt = Math.max(
        retryAt,
        leaving <= 0
          ? now
          : leaving <= inWindow.length
            ? inWindow[leaving - 1] + w.windowMs + 1
            : now + pollMs,
      );
    }
  }
  retryAt = granted > 0 ? now : Math.max(retryAt, now + 1);
  mine.held += granted;
  const endedShare = recent(ended).sort((a, b) => a - b);
  const next: QuotaBudgetDocument = {
    shares: [
      ...(endedShare.length > 0 ? [{ holder: ENDED_HOLDER, stamps: endedShare, held: 0 }] : []),
      ...shares,
      ...(crowded || (mine.held === 0 && mine.stamps.length === 0) ? [] : [mine]),
    ],
    pausedUntil: pausedUntil > now ? pausedUntil : 0,
  };
  const others = [...endedShare, ...shares.flatMap((s) => s.stamps)].sort((a, b) => a - b);
  return {
    next: sameDocument(doc, next) ? null : next,
    granted,
    retryAt,
    others: { stamps: others, held: shares.reduce((sum, s) => sum + s.held, 0) },
    pausedUntil,
    crowded,
  };
}

function sameDocument(a: QuotaBudgetDocument, b: QuotaBudgetDocument): boolean {
  return (
    a.pausedUntil === b.pausedUntil &&
    a.shares.length === b.shares.length &&
    a.shares.every((share, index) => {
      const other = b.shares[index];
      return (
        share.holder === other.holder &&
        share.held === other.held &&
        share.stamps.length === other.stamps.length &&
        share.stamps.every((at, i) => at === other.stamps[i])
      );
    })
  );
}
