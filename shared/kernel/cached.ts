/**
 * An answer that is read at most once per `ms` and shared by every caller meanwhile (the store's
 * health, intake's view of the breaker), so a flood of callers costs one read per interval. A read
 * that fails is not kept: the next caller reads again.
 */
import { type Clock, systemClock } from './clock';

export function cachedFor<T>(
  ms: number,
  read: () => Promise<T>,
  clock: Clock = systemClock,
): () => Promise<T> {
  let last: { at: number; answer: Promise<T> } | null = null;
  return () => {
    const now = clock.now();
    if (last && now - last.at < ms) return last.answer;
    const answer = read();
    const entry = { at: now, answer };
    last = entry;
    answer.catch(() => {
      if (last === entry) last = null;
    });
    return answer;
  };
}
