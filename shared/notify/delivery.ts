/**
 * One message posted to one channel, retried with backoff and the receiver's `Retry-After`, a bounded
 * number of times. The answer says how it ended in words fit for a log line: a status, "timeout", "no
 * answer"; never the URL (a Teams or Slack webhook URL is its own credential) and never a library
 * error, whose message may quote it. Node's fetch, not the JSON client: no token is involved, and a
 * signed body must go out as the exact bytes that were signed.
 */
import { jitteredBackoffMs } from '../kernel/backoff';

export interface RetryPolicy {
  /** Attempts in all, the first included. */
  maxAttempts: number;
  baseBackoffMs: number;
  maxBackoffMs: number;
  /** A longer Retry-After is cut to this: a notification late by more is stale. */
  maxRetryAfterMs: number;
  /** The deadline of one attempt. */
  timeoutMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = {
  maxAttempts: 4,
  baseBackoffMs: 2_000,
  maxBackoffMs: 30_000,
  maxRetryAfterMs: 120_000,
  timeoutMs: 10_000,
};

export interface OutgoingMessage {
  url: string;
  body: string;
  /** The headers of an attempt made at `nowMs` (a signature covers the attempt's timestamp). */
  headers(nowMs: number): Record<string, string>;
}

export type DeliveryResult =
  | { delivered: true; attempts: number }
  | { delivered: false; attempts: number; status: number | null; why: string };

/** Worth another attempt: no answer, a timeout, throttling, or the receiver's own failure. */
function retryable(status: number | null): boolean {
  return status === null || status === 408 || status === 429 || status >= 500;
}

/** `Retry-After` in ms from `now`: seconds or an HTTP date; null when absent or unreadable. */
export function retryAfterMs(header: string | null, now: number): number | null {
  if (!header) return null;
  if (/^\d{1,7}$/.test(header.trim())) return Number(header.trim()) * 1000;
  const at = Date.parse(header);
  return Number.isNaN(at) ? null : Math.max(0, at - now);
}

interface Attempt {
  status: number | null;
  why: string;
  retryAfter: number | null;
}

async function attempt(message: OutgoingMessage, now: () => number, timeoutMs: number): Promise<Attempt> {
  try {
    const response = await fetch(message.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...message.headers(now()) },
      body: message.body,
      // A webhook that redirects is not followed: the body would go where the settings never said.
      redirect: 'manual',
      signal: AbortSignal.timeout(timeoutMs),
    });
    // The body is not read: what a receiver answers is no concern of the sender's.
    await response.body?.cancel();
    const ok = response.status >= 200 && response.status < 300;
    return {
      status: response.status,
      why: ok ? 'delivered' : `answered ${response.status}`,
      retryAfter: retryAfterMs(response.headers.get('retry-after'), now()),
    };
  } catch (error) {
    const timedOut = error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError');
    return {
      status: null,
      why: timedOut ? `no answer within ${timeoutMs} ms` : 'no answer (connection failed)',
      retryAfter: null,
    };
  }
}

export interface DeliveryClock {
  now(): number;
  /** Resolves after `ms`, or sooner when the sender is closing. */
  sleep(ms: number): Promise<void>;
  /** True once the sender is closing: the attempt under way is the last. */
  stopping(): boolean;
}

/**
 * Posts `message` until it is accepted (2xx), refused for good (another 4xx), or `maxAttempts` are
 * spent.
 */
export async function deliver(
  message: OutgoingMessage,
  options: { clock: DeliveryClock; retry: RetryPolicy; random?: () => number },
): Promise<DeliveryResult> {
  const { clock, retry } = options;
  const random = options.random ?? Math.random;
  for (let attempts = 1; ; attempts += 1) {
    const result = await attempt(message, () => clock.now(), retry.timeoutMs);
    if (result.status !== null && result.status >= 200 && result.status < 300)
      return { delivered: true, attempts };
    if (!retryable(result.status) || attempts >= retry.maxAttempts || clock.stopping())
      return { delivered: false, attempts, status: result.status, why: result.why };
    const backoff = jitteredBackoffMs(attempts, retry.baseBackoffMs, retry.maxBackoffMs, random);
    const wait = Math.max(backoff, Math.min(result.retryAfter ?? 0, retry.maxRetryAfterMs));
    await clock.sleep(wait);
  }
}
