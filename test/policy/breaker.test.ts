import fc from 'fast-check';
import { RollingWindowBreaker } from '../../shared/policy/breaker';

const T0 = Date.parse('2026-11-29T00:00:00Z');
const at = (minutes: number) => new Date(T0 + minutes * 60_000);
const auto = { manual: false };
const manual = { manual: true };

describe('RollingWindowBreaker', () => {
  it('admits up to the limit in a window, then opens on the next automatic isolation', () => {
    const breaker = new RollingWindowBreaker(3, 60 * 60_000);
    expect([0, 1, 2].map((m) => breaker.admit(at(m), auto).allowed)).toEqual([true, true, true]);
    expect(breaker.status(at(3))).toMatchObject({
      open: false,
      count: 3,
      limit: 3,
      closesAt: null,
      reason: null,
    });
    expect(breaker.admit(at(3), auto)).toEqual({
      allowed: false,
      reason: 'blast-radius breaker open: 3 isolations in the last 60 min (limit 3)',
    });
    expect(breaker.status(at(3))).toMatchObject({ open: true, closesAt: at(63) });
  });

  it('stays open for a whole window even as old isolations age out, then closes by itself', () => {
    const breaker = new RollingWindowBreaker(2, 10 * 60_000);
    breaker.admit(at(0), auto);
    breaker.admit(at(1), auto);
    expect(breaker.admit(at(5), auto).allowed).toBe(false);
    expect(breaker.status(at(12))).toMatchObject({ open: true, count: 0 });
    expect(breaker.admit(at(14), auto).allowed).toBe(false);
    expect(breaker.status(at(15))).toMatchObject({ open: false, closesAt: null });
    expect(breaker.admit(at(15), auto).allowed).toBe(true);
  });

  it('lets isolations through again when old ones leave the rolling window', () => {
    const breaker = new RollingWindowBreaker(2, 10 * 60_000);
    breaker.admit(at(0), auto);
    breaker.admit(at(9), auto);
    expect(breaker.status(at(10))).toMatchObject({ open: false, count: 1 });
    expect(breaker.admit(at(10), auto).allowed).toBe(true);
  });

  it('closes on an operator reset and forgets the window', () => {
    const breaker = new RollingWindowBreaker(1, 60 * 60_000);
    breaker.admit(at(0), auto);
    expect(breaker.admit(at(1), auto).allowed).toBe(false);
    breaker.reset();
    expect(breaker.status(at(1))).toMatchObject({ open: false, count: 0 });
    expect(breaker.admit(at(1), auto).allowed).toBe(true);
  });

  it('counts manual requests but never blocks them', () => {
    const breaker = new RollingWindowBreaker(2, 60 * 60_000);
    expect(breaker.admit(at(0), manual).allowed).toBe(true);
    expect(breaker.admit(at(0), manual).allowed).toBe(true);
    expect(breaker.admit(at(0), manual).allowed).toBe(true);
    expect(breaker.status(at(0)).count).toBe(3);
    expect(breaker.admit(at(1), auto).allowed).toBe(false);
    expect(breaker.admit(at(2), manual).allowed).toBe(true);
  });

  it('opens when tripped, with the reason given', () => {
    const breaker = new RollingWindowBreaker(10, 60 * 60_000);
    breaker.trip(at(0), 'alert X named 40 devices');
    expect(breaker.admit(at(30), auto)).toEqual({ allowed: false, reason: 'alert X named 40 devices' });
    expect(breaker.admit(at(60), auto).allowed).toBe(true);
  });

  it('is a true rolling window: no stretch of one window length ever holds more than the limit', () => {
    const steps = fc.array(
      fc.record({ afterMs: fc.integer({ min: 0, max: 20 * 60_000 }), manual: fc.boolean() }),
      {
        maxLength: 60,
      },
    );
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 5 }), steps, (limit, requests) => {
        const windowMs = 30 * 60_000;
        const breaker = new RollingWindowBreaker(limit, windowMs);
        const admitted: number[] = [];
        let now = T0;
        for (const { afterMs, manual } of requests) {
          now += afterMs;
          const inWindow = admitted.filter((at) => at > now - windowMs).length;
          const admission = breaker.admit(new Date(now), { manual });
          if (manual) expect(admission.allowed).toBe(true);
          // An automatic isolation only ever goes through while the trailing window has room for it.
          if (!manual && admission.allowed) expect(inWindow).toBeLessThan(limit);
          if (admission.allowed) admitted.push(now);
          expect(breaker.status(new Date(now)).count).toBe(
            admitted.filter((at) => at > now - windowMs).length,
          );
        }
      }),
    );
  });

  it('a burst straddling a fixed clock boundary is still held', () => {
    const breaker = new RollingWindowBreaker(2, 60 * 60_000);
    expect(breaker.admit(at(58), auto).allowed).toBe(true);
    expect(breaker.admit(at(59), auto).allowed).toBe(true);
    expect(breaker.admit(at(61), auto).allowed).toBe(false);
  });
});
