/**
 * A clock only the test moves, for code that stamps and schedules on a `Clock` but waits on real
 * timers that read it again when they fire (the throttle): a busy machine delays those timers but
 * never moves the clock, so the times a test compares are exact.
 */
import type { Clock } from '../../shared/kernel/clock';
import { timerTurn } from './timer-turns';

export interface HandClock extends Clock {
  advance(ms: number): void;
}

export function handClock(start = Date.parse('2026-01-01T00:00:00Z')): HandClock {
  let now = start;
  return {
    now: () => now,
    advance: (ms) => {
      now += ms;
    },
  };
}

/**
 * Moves `clock` 1 ms per timer turn (`timer-turns.ts`) until `done()`, by `maxMs` at most: code that
 * does not wait for the clock runs on the first turns, under any load, and is seen at the time it
 * ran; code that waits for a time runs once the clock reaches it, never before.
 */
export async function advanceUntil(clock: HandClock, done: () => boolean, maxMs: number): Promise<void> {
  for (let moved = 0; !done() && moved < maxMs; moved += 1) {
    await timerTurn();
    clock.advance(1);
  }
}
