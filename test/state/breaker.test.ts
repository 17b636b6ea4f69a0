/**
 * The blast-radius breaker's rules, on the shared breaker of the state store (the in-process adapter;
 * the contract suite runs the same semantics against Azurite).
 */
import fc from 'fast-check';
import { InMemoryStateStore } from '../../shared/state/memory';
import type { BreakerAdmission, BreakerLimits } from '../../shared/state/store';
import { admitIsolation } from '../support/breaker';

const T0 = Date.parse('2026-11-29T00:00:00Z');
const MINUTE = 60_000;
const at = (minutes: number) => new Date(T0 + minutes * MINUTE);
const auto = { manual: false };
const manual = { manual: true };

/** A store whose clock the test sets, and the breaker's limits. */
function breakerOf(limit: number, windowMs: number, reservationTtlMs = 5 * MINUTE) {
  let now = T0;
  const store = new InMemoryStateStore({ clock: { now: () => now }, reservationTtlMs });
  const limits: BreakerLimits = { limit, windowMs };
  return {
    store,
    limits,
    /** The clock at `minutes` after T0. */
    at: (minutes: number) => {
      now = T0 + minutes * MINUTE;
    },
    atMs: (ms: number) => {
      now = ms;
    },
    admit: (options: { manual: boolean }) => admitIsolation(store, limits, options),
    reserve: (options: { manual: boolean }) => store.breaker.reserve({ requestId: 'r', ...options }, limits),
    status: () => store.breaker.status(limits),
  };
}

describe('the blast-radius breaker', () => {
  it('admits up to the limit in a window, then opens on the next automatic isolation', async () => {
    const b = breakerOf(3, 60 * MINUTE);
    const allowed: boolean[] = [];
    for (const m of [0, 1, 2]) {
      b.at(m);
      allowed.push((await b.admit(auto)).allowed);
    }
    expect(allowed).toEqual([true, true, true]);
    b.at(3);
    expect(await b.status()).toMatchObject({ open: false, count: 3, limit: 3, closesAt: null, reason: null });
    expect(await b.admit(auto)).toEqual({
      allowed: false,
      open: true,
      reason: 'blast-radius breaker open: 3 isolations in the last 60 min (limit 3)',
    });
    expect(await b.status()).toMatchObject({ open: true, closesAt: at(63) });
  });

  it('stays open for a whole window even as old isolations age out, then closes by itself', async () => {
    const b = breakerOf(2, 10 * MINUTE);
    b.at(0);
    await b.admit(auto);
    b.at(1);
    await b.admit(auto);
    b.at(5);
    expect((await b.admit(auto)).allowed).toBe(false);
    b.at(12);
    expect(await b.status()).toMatchObject({ open: true, count: 0 });
    b.at(14);
    expect((await b.admit(auto)).allowed).toBe(false);
    b.at(15);
    expect(await b.status()).toMatchObject({ open: false, closesAt: null });
    expect((await b.admit(auto)).allowed).toBe(true);
  });

  it('lets isolations through again when old ones leave the rolling window', async () => {
    const b = breakerOf(2, 10 * MINUTE);
    b.at(0);
    await b.admit(auto);
    b.at(9);
    await b.admit(auto);
    b.at(10);
    expect(await b.status()).toMatchObject({ open: false, count: 1 });
    expect((await b.admit(auto)).allowed).toBe(true);
  });

  it('closes on an operator reset and forgets the window', async () => {
    const b = breakerOf(1, 60 * MINUTE);
    b.at(0);
    await b.admit(auto);
    b.at(1);
    expect((await b.admit(auto)).allowed).toBe(false);
    await b.store.breaker.reset('alice@contoso.com', 'false positive');
    expect(await b.status()).toMatchObject({ open: false, count: 0 });
    expect((await b.admit(auto)).allowed).toBe(true);
  });

  it('counts manual requests but never blocks them', async () => {
    const b = breakerOf(2, 60 * MINUTE);
    b.at(0);
    expect((await b.admit(manual)).allowed).toBe(true);
    expect((await b.admit(manual)).allowed).toBe(true);
    expect((await b.admit(manual)).allowed).toBe(true);
    expect((await b.status()).count).toBe(3);
    b.at(1);
    expect((await b.admit(auto)).allowed).toBe(false);
    b.at(2);
    expect((await b.admit(manual)).allowed).toBe(true);
  });

  it('opens when tripped, with the reason given', async () => {
    const b = breakerOf(10, 60 * MINUTE);
    b.at(0);
    await b.store.breaker.trip('alert X named 40 devices');
    b.at(30);
    expect(await b.admit(auto)).toEqual({ allowed: false, open: true, reason: 'alert X named 40 devices' });
    b.at(60);
    expect((await b.admit(auto)).allowed).toBe(true);
  });

  it('is a true rolling window: no stretch of one window length ever holds more than the limit', async () => {
    const windowMs = 30 * MINUTE;
    // Steps in whole bucket widths (1 % of the window, breaker-document.ts), where the shared
    // breaker's count is exact; between them it may count up to one width long, never short.
    const width = windowMs / 100;
    const steps = fc.array(
      fc.record({ afterMs: fc.integer({ min: 0, max: 66 }).map((k) => k * width), manual: fc.boolean() }),
      { maxLength: 60 },
    );
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 5 }), steps, async (limit, requests) => {
        const b = breakerOf(limit, windowMs);
        const admitted: number[] = [];
        let now = T0;
        for (const { afterMs, manual } of requests) {
          now += afterMs;
          b.atMs(now);
          const inWindow = admitted.filter((at) => at > now - windowMs).length;
          const admission = await b.admit({ manual });
          if (manual) expect(admission.allowed).toBe(true);
          // An automatic isolation only ever goes through while the trailing window has room for it.
          if (!manual && admission.allowed) expect(inWindow).toBeLessThan(limit);
          if (admission.allowed) admitted.push(now);
          expect((await b.status()).count).toBe(admitted.filter((at) => at > now - windowMs).length);
        }
      }),
    );
  });

  it('a burst straddling a fixed clock boundary is still held', async () => {
    const b = breakerOf(2, 60 * MINUTE);
    b.at(58);
    expect((await b.admit(auto)).allowed).toBe(true);
    b.at(59);
    expect((await b.admit(auto)).allowed).toBe(true);
    b.at(61);
    expect((await b.admit(auto)).allowed).toBe(false);
  });
});

describe('the blast-radius breaker reservations', () => {
  const reserved = (admission: BreakerAdmission) => {
    if (!admission.allowed) throw new Error(`refused: ${admission.reason}`);
    return admission.reservationId;
  };

  it('counts isolations MDE accepted, not attempts: released reservations never open it', async () => {
    const b = breakerOf(3, 60 * MINUTE);
    for (let i = 0; i < 10; i += 1) {
      b.at(i);
      await b.store.breaker.release(reserved(await b.reserve(auto)));
    }
    b.at(10);
    expect(await b.status()).toMatchObject({ open: false, count: 0, reserved: 0 });
    b.at(11);
    for (let i = 0; i < 3; i += 1) await b.store.breaker.commit(reserved(await b.reserve(auto)), `a${i}`);
    expect(await b.status()).toMatchObject({ open: false, count: 3 });
    b.at(12);
    expect((await b.reserve(auto)).allowed).toBe(false);
  });

  it('holds reserved slots, so concurrent POSTs cannot overshoot, and waits for them instead of opening', async () => {
    const b = breakerOf(2, 60 * MINUTE);
    b.at(0);
    await b.store.breaker.commit(reserved(await b.reserve(auto)), 'a1');
    b.at(1);
    const inFlight = reserved(await b.reserve(auto));
    expect(await b.reserve(auto)).toMatchObject({ allowed: false, open: false });
    expect(await b.status()).toMatchObject({ open: false, count: 1, reserved: 1 });
    await b.store.breaker.release(inFlight);
    b.at(2);
    expect((await b.reserve(auto)).allowed).toBe(true);
  });

  it('frees the slot of a reservation never committed or released once it expires', async () => {
    const b = breakerOf(1, 60 * MINUTE, 5 * MINUTE);
    b.at(0);
    reserved(await b.reserve(auto)); // its holder died between reserve and commit
    b.at(4);
    expect(await b.reserve(auto)).toMatchObject({ allowed: false, open: false });
    b.at(5);
    expect(await b.status()).toMatchObject({ open: false, reserved: 0 });
    expect((await b.reserve(auto)).allowed).toBe(true);
  });

  it('counts an action once, however many requests commit it', async () => {
    const b = breakerOf(2, 60 * MINUTE);
    b.at(0);
    await b.store.breaker.commit(reserved(await b.reserve(auto)), 'same');
    b.at(1);
    await b.store.breaker.commit(null, 'same');
    expect(await b.status()).toMatchObject({ count: 1, reserved: 0 });
  });

  it('reserves for manual requests without ever refusing them', async () => {
    const b = breakerOf(1, 60 * MINUTE);
    b.at(0);
    reserved(await b.reserve(auto));
    expect((await b.reserve(manual)).allowed).toBe(true);
    expect((await b.status()).reserved).toBe(2);
  });
});
