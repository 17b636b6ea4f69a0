/**
 * A small seeded generator (mulberry32): the fleet and every injected fault come out the same on
 * every run with the same seed, so a failing test or benchmark can be replayed.
 */
export interface SeededRandom {
  /** Uniform in [0, 1). */
  next(): number;
  /** True with the given probability; 0 never draws true, 1 always does. */
  chance(probability: number): boolean;
  int(minInclusive: number, maxInclusive: number): number;
  pick<T>(items: readonly T[]): T;
}

export function seededRandom(seed: number): SeededRandom {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    chance: (probability) => probability >= 1 || (probability > 0 && next() < probability),
    int: (min, max) => min + Math.floor(next() * (max - min + 1)),
    pick: (items) => items[Math.floor(next() * items.length)],
  };
}
