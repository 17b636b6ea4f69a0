import fc from 'fast-check';
import { SlidingWindowLog } from '../../shared/dispatch/quota/sliding-window';

function callAt(log: SlidingWindowLog, at: number): void {
  log.take(1);
  log.settle(at);
}

describe('SlidingWindowLog', () => {
  it('refuses the burst a fixed-interval refill would allow across the boundary', () => {
    const log = new SlidingWindowLog([{ limit: 3, windowMs: 1000 }]);
    for (const t of [900, 950, 990]) {
      expect(log.slotAt(t, 1)).toBe(t);
      callAt(log, t);
    }
    // A fixed window resetting at 1000 would admit three more here; a sliding one waits for 900 to age out.
    expect(log.slotAt(1001, 1)).toBe(1901);
    expect(log.slotAt(1001, 2)).toBe(1951);
    expect(log.slotAt(1001, 4)).toBe(2902);
  });

  it('counts a call in flight as made now until it ends', () => {
    const log = new SlidingWindowLog([{ limit: 1, windowMs: 1000 }]);
    log.take(1);
    expect(log.slotAt(10, 1)).toBe(1011);
    log.refund();
    expect(log.slotAt(10, 1)).toBe(10);
  });

  it('honours every window at once', () => {
    const log = new SlidingWindowLog([
      { limit: 2, windowMs: 100 },
      { limit: 3, windowMs: 1000 },
    ]);
    for (const t of [0, 0]) callAt(log, t);
    expect(log.slotAt(0, 1)).toBe(101);
    expect(log.slotAt(0, 2)).toBe(1001);
  });

  it('never lets more than the limit into any window, whatever the call pattern', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 5 }),
        fc.integer({ min: 10, max: 200 }),
        fc.array(fc.integer({ min: 0, max: 50 }), { minLength: 1, maxLength: 80 }),
        fc.integer({ min: 1, max: 4 }),
        (limit, windowMs, gaps, lookahead) => {
          const log = new SlidingWindowLog([{ limit, windowMs }]);
          const admitted: number[] = [];
          let now = 0;
          for (const gap of gaps) {
            now += gap;
            // A slot promised further ahead is never earlier than the next one.
            if (log.slotAt(now, lookahead) < log.slotAt(now, 1)) return false;
            now = log.slotAt(now, 1);
            callAt(log, now);
            admitted.push(now);
          }
          // MDE's view: any span [t - windowMs, t] holds at most `limit` calls.
          return admitted.every((t) => admitted.filter((u) => u >= t - windowMs && u <= t).length <= limit);
        },
      ),
    );
  });

  it('promises call k the slot it gets when the calls before it are made at theirs', () => {
    const windows = [
      { limit: 3, windowMs: 50 },
      { limit: 7, windowMs: 400 },
    ];
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 30 }), { maxLength: 40 }),
        fc.integer({ min: 0, max: 3 }),
        fc.integer({ min: 1, max: 20 }),
        (gaps, inFlight, position) => {
          const history = () => {
            const log = new SlidingWindowLog(windows);
            let now = 0;
            for (const gap of gaps) {
              now = log.slotAt(now + gap, 1);
              callAt(log, now);
            }
            log.take(inFlight);
            return { log, now };
          };
          const { log, now } = history();
          const promised = log.slotAt(now, position);
          // The same history played on: the calls in flight end now, then each call takes its slot.
          const replay = history().log;
          for (let i = 0; i < inFlight; i += 1) replay.settle(now);
          let at = now;
          for (let call = 1; call < position; call += 1) {
            at = replay.slotAt(at, 1);
            callAt(replay, at);
          }
          return replay.slotAt(at, 1) === promised;
        },
      ),
    );
  });

  it('keeps a cap on a window until it lifts, then its own limit again', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 4 }),
        fc.array(fc.integer({ min: 0, max: 40 }), { minLength: 1, maxLength: 60 }),
        (cap, gaps) => {
          const windowMs = 100;
          const until = 300;
          const log = new SlidingWindowLog([{ limit: 6, windowMs }]);
          log.cap(0, { limit: cap, until });
          const admitted: number[] = [];
          let now = 0;
          for (const gap of gaps) {
            now = log.slotAt(now + gap, 1);
            callAt(log, now);
            admitted.push(now);
          }
          const within = (t: number) => admitted.filter((u) => u >= t - windowMs && u <= t).length;
          return admitted.every((t) => within(t) <= (t < until ? cap : 6));
        },
      ),
    );
  });
});
