/**
 * Exponential backoff with "equal jitter": half the exponential step fixed, half random. The fixed
 * half keeps a retry from firing right away; the random half spreads retries of a burst of
 * failures so they do not hit a recovering service together. Dispatch's retries (dispatch/timing.ts)
 * and the state store's ETag conflicts (state/entity-store.ts) both wait this way.
 */
export function jitteredBackoffMs(
  attempt: number,
  baseMs: number,
  maxMs: number,
  random: () => number,
): number {
  const step = Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(step / 2 + random() * (step / 2));
}
