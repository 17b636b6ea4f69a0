import fc from 'fast-check';
import { RollingWindowBreaker } from '../../shared/policy/breaker';
import { admitIsolation } from '../support/breaker';

const T0 = Date.parse('2026-11-29T00:00:00Z');
const at = (minutes: number) => new Date(T0 + minutes * 60_000);
const auto = { manual: false };
const manual = { manual: true };

describe('RollingWindowBreaker', () => {
  it('admits up to the limit in a window, then opens on the next automatic isolation', () => {
    const breaker = new RollingWindowBreaker(3, 60 * 60_000);
    expect([0, 1, 2].map((m) => admitIsolation(breaker, at(m), auto).allowed)).toEqual([true, true, true]);
    expect(breaker.status(at(3))).toMatchObject({
      open: false,
      count: 3,
      limit: 3,
      closesAt: null,
      reason: null,
    });
    expect(admitIsolation(breaker, at(3), auto)).toEqual({
      allowed: false,
      reason: 'blast-radius breaker open: 3 isolations in the last 60 min (limit 3)',
    });
    expect(breaker.status(at(3))).toMatchObject({ open: true, closesAt: at(63) });
  });

  it('stays open for a whole window even as old isolations age out, then closes by itself', () => {
    const breaker = new RollingWindowBreaker(2, 10 * 60_000);
    admitIsolation(breaker, at(0), auto);
    admitIsolation(breaker, at(1), auto);
    expect(admitIsolation(breaker, at(5), auto).allowed).toBe(false);
    expect(breaker.status(at(12))).toMatchObject({ open: true, count: 0 });
    expect(admitIsolation(breaker, at(14), auto).allowed).toBe(false);
    expect(breaker.status(at(15))).toMatchObject({ open: false, closesAt: null });
    expect(admitIsolation(breaker, at(15), auto).allowed).toBe(true);
  });

  it('lets isolations through again when old ones leave the rolling window', () => {
    const breaker = new RollingWindowBreaker(2, 10 * 60_000);
    admitIsolation(breaker, at(0), auto);
    admitIsolation(breaker, at(9), auto);
    expect(breaker.status(at(10))).toMatchObject({ open: false, count: 1 });
    expect(admitIsolation(breaker, at(10), auto).allowed).toBe(true);
  });

  it('closes on an operator reset and forgets the window', () => {
    const breaker = new RollingWindowBreaker(1, 60 * 60_000);
    admitIsolation(breaker, at(0), auto);
    expect(admitIsolation(breaker, at(1), auto).allowed).toBe(false);
    breaker.reset();
    expect(breaker.status(at(1))).toMatchObject({ open: false, count: 0 });
    expect(admitIsolation(breaker, at(1), auto).allowed).toBe(true);
  });

  it('counts manual requests but never blocks them', () => {
    const breaker = new RollingWindowBreaker(2, 60 * 60_000);
    expect(admitIsolation(breaker, at(0), manual).allowed).toBe(true);
    expect(admitIsolation(breaker, at(0), manual).allowed).toBe(true);
    expect(admitIsolation(breaker, at(0), manual).allowed).toBe(true);
    expect(breaker.status(at(0)).count).toBe(3);
    expect(admitIsolation(breaker, at(1), auto).allowed).toBe(false);
    expect(admitIsolation(breaker, at(2), manual).allowed).toBe(true);
  });

  it('opens when tripped, with the reason given', () => {
    const breaker = new RollingWindowBreaker(10, 60 * 60_000);
    breaker.trip(at(0), 'alert X named 40 devices');
    expect(admitIsolation(breaker, at(30), auto)).toEqual({
      allowed: false,
      reason: 'alert X named 40 devices',
    });
    expect(admitIsolation(breaker, at(60), auto).allowed).toBe(true);
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
          const admission = admitIsolation(breaker, new Date(now), { manual });
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
    expect(admitIsolation(breaker, at(58), auto).allowed).toBe(true);
    expect(admitIsolation(breaker, at(59), auto).allowed).toBe(true);
    expect(admitIsolation(breaker, at(61), auto).allowed).toBe(false);
  });
});

describe('RollingWindowBreaker reservations', () => {
  const reserved = (admission: ReturnType<RollingWindowBreaker['reserve']>) => {
    if (!admission.allowed) throw new Error(`refused: ${admission.reason}`);
    return admission.reservation;
  };

  it('counts isolations MDE accepted, not attempts: released reservations never open it', () => {
    const breaker = new RollingWindowBreaker(3, 60 * 60_000);
    for (let i = 0; i < 10; i += 1) breaker.release(reserved(breaker.reserve(at(i), auto)));
    expect(breaker.status(at(10))).toMatchObject({ open: false, count: 0, reserved: 0 });
    for (let i = 0; i < 3; i += 1) breaker.commit(`a${i}`, at(11), reserved(breaker.reserve(at(11), auto)));
    expect(breaker.status(at(11))).toMatchObject({ open: false, count: 3 });
    expect(breaker.reserve(at(12), auto).allowed).toBe(false);
  });

  it('holds reserved slots, so concurrent POSTs cannot overshoot, and waits for them instead of opening', () => {
    const breaker = new RollingWindowBreaker(2, 60 * 60_000);
    breaker.commit('a1', at(0), reserved(breaker.reserve(at(0), auto)));
    const inFlight = reserved(breaker.reserve(at(1), auto));
    expect(breaker.reserve(at(1), auto)).toMatchObject({ allowed: false, wait: true });
    expect(breaker.status(at(1))).toMatchObject({ open: false, count: 1, reserved: 1 });
    breaker.release(inFlight);
    expect(breaker.reserve(at(2), auto).allowed).toBe(true);
  });

  it('frees the slot of a reservation never committed or released once it expires', () => {
    const breaker = new RollingWindowBreaker(1, 60 * 60_000, 5 * 60_000);
    reserved(breaker.reserve(at(0), auto)); // its holder died between reserve and commit
    expect(breaker.reserve(at(4), auto)).toMatchObject({ allowed: false, wait: true });
    expect(breaker.status(at(5))).toMatchObject({ open: false, reserved: 0 });
    expect(breaker.reserve(at(5), auto).allowed).toBe(true);
  });

  it('counts an action once, however many requests commit it', () => {
    const breaker = new RollingWindowBreaker(2, 60 * 60_000);
    breaker.commit('same', at(0), reserved(breaker.reserve(at(0), auto)));
    breaker.commit('same', at(1));
    expect(breaker.status(at(1))).toMatchObject({ count: 1, reserved: 0 });
  });

  it('reserves for manual requests without ever refusing them', () => {
    const breaker = new RollingWindowBreaker(1, 60 * 60_000);
    reserved(breaker.reserve(at(0), auto));
    expect(breaker.reserve(at(0), manual).allowed).toBe(true);
    expect(breaker.status(at(0)).reserved).toBe(2);
  });
});
