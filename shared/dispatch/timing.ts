/**
 * Every delay dispatch uses, in one place, and the pure functions that compute them. Tests and the
 * demo compress all of them with `compressTiming`, so a 3-day MDE retry plays out in seconds without
 * a different code path.
 */
import { jitteredBackoffMs } from '../kernel/backoff';
import type { MachineActionStatus } from '../mde/types';

export interface DispatchTiming {
  /** Retries after transient failures (5xx, timeouts, resets). */
  transientBaseMs: number;
  transientMaxMs: number;
  /** Attempts before a request is dead-lettered. */
  transientMaxAttempts: number;
  /** Wait after a 429 that carried no usable Retry-After. */
  defaultRetryAfterMs: number;
  /**
   * Least wait before retrying an isolate/unisolate POST whose answer was lost (it may have been
   * executed): long enough for MDE's action list to show the action, so the retry adopts it.
   */
  uncertainPostRecheckMs: number;
  /** First poll of a posted action, and how far apart polls may drift. */
  trackFirstPollMs: number;
  /** Poll interval cap while the device works on the action (`InProgress`). */
  trackMaxInProgressMs: number;
  /** Poll interval cap while the action waits for an offline device (`Pending`). */
  trackMaxPendingMs: number;
  /**
   * How old a list of the followed actions' statuses a poll may answer from: while polls come, one
   * list per this interval serves them all (steps/action-statuses.ts).
   */
  trackListMaxAgeMs: number;
  /**
   * The pre-POST history check sends a read at most this often (steps/recent-actions.ts), the first
   * after a quiet spell at once: in a storm it adds at most this much to the time from alert to POST.
   * A request holds its message meanwhile, so with c messages at once the check passes at least
   * c per interval: 2 s lets 4 concurrent messages pass 120 requests a minute, above the isolate
   * quota's 100; a busy worker sends sooner (steps/recent-actions.ts, READ_ENOUGH).
   */
  historyGatherMs: number;
  /** MDE retries isolating an offline device for 3 days; after that (plus margin) tracking stops. */
  trackGiveUpMs: number;
  /** How long a machine record or lookup result is reused. */
  machineCacheTtlMs: number;
  /** Waits while the state store is unreachable: nothing is posted unchecked meanwhile. */
  storeRetryBaseMs: number;
  storeRetryMaxMs: number;
  /** A request that found the store down this long ago (its first deferral for it) is dead-lettered. */
  storeOutageMaxMs: number;
  /** A store outage is logged at most once per this interval, not once per request. */
  storeOutageLogMs: number;
}

const HOUR = 3_600_000;

export const DEFAULT_TIMING: DispatchTiming = {
  transientBaseMs: 2_000,
  transientMaxMs: 5 * 60_000,
  transientMaxAttempts: 6,
  defaultRetryAfterMs: 30_000,
  uncertainPostRecheckMs: 30_000,
  trackFirstPollMs: 10_000,
  trackMaxInProgressMs: 60_000,
  trackMaxPendingMs: HOUR,
  trackListMaxAgeMs: 30_000,
  historyGatherMs: 2_000,
  trackGiveUpMs: 73 * HOUR,
  machineCacheTtlMs: 5 * 60_000,
  storeRetryBaseMs: 2_000,
  storeRetryMaxMs: 60_000,
  storeOutageMaxMs: 30 * 60_000,
  storeOutageLogMs: 60_000,
};

/** Every delay multiplied by `factor` (e.g. 0.001 turns hours into seconds); the attempt count stays. */
export function compressTiming(factor: number, base: DispatchTiming = DEFAULT_TIMING): DispatchTiming {
  const scaled = { ...base };
  for (const key of Object.keys(scaled) as (keyof DispatchTiming)[]) {
    if (key !== 'transientMaxAttempts') scaled[key] = Math.max(1, Math.round(base[key] * factor));
  }
  return scaled;
}

export function transientRetryDelayMs(attempt: number, timing: DispatchTiming, random: () => number): number {
  return jitteredBackoffMs(attempt, timing.transientBaseMs, timing.transientMaxMs, random);
}

/**
 * Delay before poll number `polls + 1` of a machine action. Polls start fast because most actions
 * end within a minute on an online device; an action still `Pending` is waiting for an offline
 * device, which may take days, so its polls stretch to hours to spare the machineactions quota.
 */
export function trackingPollDelayMs(
  polls: number,
  status: MachineActionStatus | null,
  timing: DispatchTiming,
  random: () => number,
): number {
  const cap = status === 'Pending' ? timing.trackMaxPendingMs : timing.trackMaxInProgressMs;
  return jitteredBackoffMs(polls + 1, timing.trackFirstPollMs, cap, random);
}
