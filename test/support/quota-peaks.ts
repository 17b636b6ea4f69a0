/** What the simulator admitted, against the quota windows: the proof that no window went over. */
import { parseRateLimits } from '../../shared/config';
import type { RecordedCall } from '../../simulator';

/** The most calls of each API the simulator admitted within any span of each window of `rateLimits`. */
export function peaks(calls: readonly RecordedCall[], rateLimits: string): Map<string, number[]> {
  const windows = parseRateLimits(rateLimits);
  const byApi = new Map<string, number[]>();
  for (const call of calls)
    if (call.api && call.api !== 'token' && call.status !== 429)
      byApi.set(call.api, [...(byApi.get(call.api) ?? []), call.timeMs]);
  return new Map(
    [...byApi].map(([api, times]) => [
      api,
      windows.map((w) =>
        Math.max(...times.map((t) => times.filter((u) => u > t - w.windowMs && u <= t).length)),
      ),
    ]),
  );
}

/** The calls of each API the simulator admitted (429s and token requests aside). */
export function admitted(calls: readonly RecordedCall[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const call of calls)
    if (call.api && call.api !== 'token' && call.status !== 429)
      counts.set(call.api, (counts.get(call.api) ?? 0) + 1);
  return counts;
}
