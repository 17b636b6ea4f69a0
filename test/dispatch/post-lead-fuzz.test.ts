import { setTimeout as sleep } from 'node:timers/promises';
import fc from 'fast-check';
import { parseRateLimits } from '../../shared/config';
import { effectiveWindows } from '../../shared/dispatch/quota/api-budget';
import { Reservation } from '../../shared/dispatch/quota/reservation';
import { MdeThrottle } from '../../shared/dispatch/quota/throttle';

/** A call as MDE could have counted it: at any moment between its send and its end. */
interface Sent {
  api: string;
  sentAt: number;
  endedAt: number;
}

const RATE = '3/120ms,5/400ms';

/** Most calls whose [sent, ended] meets one inclusive span of `windowMs`. */
function worstSpan(calls: Sent[], windowMs: number): number {
  let worst = 0;
  for (const start of calls.map((c) => c.endedAt)) {
    const inside = calls.filter((c) => c.endedAt >= start && c.sentAt <= start + windowMs).length;
    worst = Math.max(worst, inside);
  }
  return worst;
}

const requestArb = fc.record({
  gapMs: fc.integer({ min: 0, max: 40 }),
  lookup: fc.boolean(),
  post: fc.boolean(),
  priority: fc.integer({ min: 0, max: 8 }),
  lookupMs: fc.integer({ min: 0, max: 30 }),
  checkMs: fc.integer({ min: 0, max: 50 }),
  postMs: fc.integer({ min: 0, max: 60 }),
  fails: fc.boolean(),
  skipsPost: fc.boolean(),
  /** After reserving, a 429 on isolate (another caller's) pauses isolate this long. */
  pauseMs: fc.option(fc.integer({ min: 1, max: 150 }), { freq: 6 }),
});

/** Calls of the previous process, ended this long ago (a checkpoint restored at start). */
const restoredArb = fc.array(fc.integer({ min: 0, max: 400 }), { maxLength: 3 });

describe('MdeThrottle with a lead: fuzzed', () => {
  it('never lets a span of a window meet more calls than its limit, and leaks no slot', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(requestArb, { minLength: 5, maxLength: 25 }),
        restoredArb,
        fc.constantFrom(0, 0.2, 0.5),
        async (requests, restoredAgo, headroom) => {
          const clock = { now: () => Date.now() };
          const throttle = new MdeThrottle({ rateLimits: parseRateLimits(RATE), headroom, clock });
          const start = clock.now();
          const restored = restoredAgo.map((ago) => start - ago).sort((a, b) => a - b);
          throttle.restore([{ api: 'isolate', stamps: restored, pausedUntil: 0 }]);
          const sent: Sent[] = restored.map((at) => ({ api: 'isolate', sentAt: at, endedAt: at }));
          const timed = (api: string, ms: number, fails: boolean) => async () => {
            const sentAt = clock.now();
            await sleep(ms);
            sent.push({ api, sentAt, endedAt: clock.now() });
            if (fails) throw new Error('MDE failed');
          };
          const running: Promise<void>[] = [];
          for (const [n, r] of requests.entries()) {
            await sleep(r.gapMs);
            const needs = { ...(r.lookup && { machines: 1 }), ...(r.post && { isolate: 1 }) };
            const reservation = throttle.reserve(needs, r.priority, `r${n}`);
            if (r.pauseMs !== null) {
              throttle.pause('isolate', clock.now() + r.pauseMs);
            }
            if (!(reservation instanceof Reservation)) continue;
            running.push(
              (async () => {
                try {
                  if (r.lookup) await reservation.call('machines', timed('machines', r.lookupMs, false));
                  await sleep(r.checkMs);
                  if (r.post && !r.skipsPost)
                    await reservation.call('isolate', timed('isolate', r.postMs, r.fails));
                } catch {
                  // A failed call: the request ends.
                } finally {
                  reservation.close();
                }
              })(),
            );
          }
          await Promise.all(running);
          for (const { limit, windowMs } of effectiveWindows(parseRateLimits(RATE), headroom))
            for (const api of ['machines', 'isolate'])
              expect(
                worstSpan(
                  sent.filter((c) => c.api === api),
                  windowMs,
                ),
              ).toBeLessThanOrEqual(limit);
          // Nothing still counts in flight once every request ended.
          const later = Date.now() + 10_000;
          clock.now = () => later;
          for (const checkpoint of throttle.checkpoint()) expect(checkpoint.stamps).toEqual([]);
          await throttle.stop();
        },
      ),
      { numRuns: 15 },
    );
  }, 120_000);
});
