/**
 * Quota windows as the settings write them (`100/60s,1500/1h`): the deployment's MDE_RATE_LIMITS and a
 * tenant's quota override read the same syntax.
 */

export interface RateWindow {
  count: number;
  windowMs: number;
  /** As written in the setting, for messages and logs. */
  label: string;
}

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, min: 60_000, h: 3_600_000 };
const WINDOW_PATTERN = /^(\d+)\s*\/\s*(\d+(?:\.\d+)?)?\s*(ms|s|min|m|h)$/;

/** Parses `100/60s,1500/1h` (also `100/min`, `100/600ms`). Throws a message naming the bad part. */
export function parseRateLimits(text: string): RateWindow[] {
  const parts = text
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean);
  if (parts.length === 0) throw new Error('no window given');
  return parts.map((part) => {
    const match = WINDOW_PATTERN.exec(part);
    if (!match) throw new Error(`"${part}" is not count/window (e.g. 100/60s, 1500/1h, 100/600ms)`);
    const count = Number(match[1]);
    const windowMs = Number(match[2] ?? '1') * UNIT_MS[match[3]];
    if (count < 1 || !Number.isInteger(windowMs) || windowMs < 1)
      throw new Error(`"${part}" must allow at least 1 call in at least 1 ms`);
    return { count, windowMs, label: part };
  });
}
