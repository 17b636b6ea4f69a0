/**
 * The time source of everything that waits, stamps or schedules (queue, throttle, resolver cache,
 * worker, tracker): the system clock in production, a hand-moved one in tests.
 */
export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

/** One day in milliseconds, for lookbacks and retention stated in days. */
export const DAY_MS = 86_400_000;
