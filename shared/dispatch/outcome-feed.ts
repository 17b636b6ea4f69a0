/**
 * The outcome records this process reports, for a caller waiting on one request's end (the manual
 * API's wait): a request that ends without an action (skipped, escalated, coalesced) is answered the
 * moment its record exists, not when the wait runs out. Only this process's records are seen: with
 * Service Bus, a worker on another instance reports its own.
 */
import type { DispatchReporter, OutcomeRecord } from './outcome';

/** One caller's watch, begun before its request exists: a coalesced request ends while it is submitted. */
export interface OutcomeWatch {
  /** The record of `requestId`, reported since the watch began; settles once, never rejects. */
  of(requestId: string): Promise<OutcomeRecord>;
  stop(): void;
}

export class OutcomeFeed {
  private readonly listeners = new Set<(record: OutcomeRecord) => void>();

  /** `reporter`, with every outcome record also handed to the watches open at the time. */
  reporting(reporter: DispatchReporter): DispatchReporter {
    return {
      outcome: (record) => {
        reporter.outcome(record);
        for (const listener of this.listeners) listener(record);
      },
      note: (level, record) => reporter.note(level, record),
    };
  }

  watch(): OutcomeWatch {
    // Records reported before the caller knows its request id; kept only until it does.
    let early: OutcomeRecord[] | null = [];
    let wanted: { requestId: string; found: (record: OutcomeRecord) => void } | null = null;
    const listener = (record: OutcomeRecord) => {
      if (wanted === null) early?.push(record);
      else if (record.requestId === wanted.requestId) wanted.found(record);
    };
    this.listeners.add(listener);
    return {
      of: (requestId) =>
        new Promise((found) => {
          const seen = early?.find((record) => record.requestId === requestId);
          early = null;
          if (seen) found(seen);
          else wanted = { requestId, found };
        }),
      stop: () => {
        this.listeners.delete(listener);
        early = null;
      },
    };
  }
}
