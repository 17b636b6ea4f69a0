/**
 * The time source of everything that waits, stamps or schedules (queue, throttle, resolver cache,
 * worker, tracker): the system clock in production, a hand-moved one in tests.
 */
export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };
