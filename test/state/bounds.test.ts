/**
 * The size bounds that keep every entity inside Table Storage's limits whatever the policy or the
 * traffic: breaker buckets, the entity backstop and the quota stamps codec.
 */
import { COUNTED_ISOLATIONS_KEPT } from '../../shared/config';
import * as breaker from '../../shared/state/breaker-document';
import { EMPTY_BREAKER, MAX_RESERVATIONS } from '../../shared/state/breaker-document';
import { assertEntityFits, MAX_STRING_UNITS } from '../../shared/state/entities';
import { decodeStamps, encodeStamps } from '../../shared/state/quota-stamps';
import { StoreUnavailableError } from '../../shared/state/store';

const T0 = Date.UTC(2026, 11, 1);
const TTL = 300_000;

describe('breaker document', () => {
  const limits = { limit: 1_000_000, windowMs: 3_600_000 };

  function commitAt(doc: breaker.BreakerDocument, at: number): breaker.BreakerDocument {
    const { doc: reserved, admission } = breaker.reserve(doc, at, { manual: false }, limits, TTL);
    if (!admission.allowed) throw new Error(admission.reason);
    return breaker.commit(reserved, at, { reservationId: admission.reservationId, actionId: `a${at}` }, TTL);
  }

  it('keeps about 100 buckets per window however many isolations it counts, and never counts low', () => {
    let doc = EMPTY_BREAKER;
    // 20,000 isolations spread over two windows.
    for (let i = 0; i < 20_000; i += 1) doc = commitAt(doc, T0 + i * 360);
    const end = T0 + 19_999 * 360;
    expect(doc.committed.length).toBeLessThanOrEqual(101);
    const exact = Array.from({ length: 20_000 }, (_, i) => T0 + i * 360).filter(
      (at) => at > end - limits.windowMs,
    ).length;
    const counted = breaker.status(doc, end, limits, TTL).count;
    expect(counted).toBeGreaterThanOrEqual(exact);
    // Conservative by at most one bucket (1 % of the window).
    expect(counted - exact).toBeLessThanOrEqual(Math.ceil(exact / 100) + 1);
    // The counted ids are stored in a property of their own (entity-store.ts), each within its bound.
    const { counted: ids, ...rest } = doc;
    expect(JSON.stringify(rest).length).toBeLessThan(MAX_STRING_UNITS / 4);
    expect(ids).toHaveLength(COUNTED_ISOLATIONS_KEPT);
    expect(JSON.stringify(ids).length).toBeLessThan(MAX_STRING_UNITS / 2);
  });

  it('caps reservations in flight, manual ones included, by asking the caller to come back', () => {
    let doc = EMPTY_BREAKER;
    for (let i = 0; i < MAX_RESERVATIONS; i += 1)
      doc = breaker.reserve(doc, T0, { manual: true }, limits, TTL).doc;
    expect(() => breaker.reserve(doc, T0, { manual: true }, limits, TTL)).toThrow(StoreUnavailableError);
    expect(JSON.stringify(doc).length).toBeLessThan(MAX_STRING_UNITS);
  });

  it('refuses limits that are not whole numbers of at least 1', () => {
    expect(() => breaker.status(EMPTY_BREAKER, T0, { limit: 0, windowMs: 1 }, TTL)).toThrow(/whole numbers/);
    expect(() => breaker.status(EMPTY_BREAKER, T0, { limit: 1, windowMs: 0.5 }, TTL)).toThrow(
      /whole numbers/,
    );
  });
});

describe('entity backstop', () => {
  it('refuses a string over 32 K characters and an entity near 1 MiB', () => {
    expect(() => assertEntityFits({ doc: 'x'.repeat(MAX_STRING_UNITS) })).not.toThrow();
    expect(() => assertEntityFits({ doc: 'x'.repeat(MAX_STRING_UNITS + 1) })).toThrow(
      /doc has 32769 characters/,
    );
    const wide = Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`p${i}`, 'x'.repeat(30_000)]));
    expect(() => assertEntityFits(wide)).toThrow(/bytes is over/);
  });
});

describe('quota stamps', () => {
  it('round-trips ascending times, sorting what is not', () => {
    expect(decodeStamps(encodeStamps([T0 + 5, T0, T0 + 5, T0 + 1_000], MAX_STRING_UNITS))).toEqual([
      T0,
      T0 + 5,
      T0 + 5,
      T0 + 1_000,
    ]);
    expect(decodeStamps(encodeStamps([], MAX_STRING_UNITS))).toEqual([]);
  });

  it('leaves out the oldest when a share holds more calls than its characters fit', () => {
    const stamps = Array.from({ length: 50_000 }, (_, i) => T0 + i * 1_000);
    const text = encodeStamps(stamps, MAX_STRING_UNITS);
    expect(text.length).toBeLessThanOrEqual(MAX_STRING_UNITS);
    const kept = decodeStamps(text);
    expect(kept.length).toBeGreaterThan(5_000);
    expect(kept).toEqual(stamps.slice(stamps.length - kept.length));
  });

  it('refuses a corrupt share', () => {
    expect(() => decodeStamps('lz2v5k0w,-3')).toThrow(/corrupt/);
    expect(() => decodeStamps('lz2v5k0w,,')).toThrow(/corrupt/);
  });
});
