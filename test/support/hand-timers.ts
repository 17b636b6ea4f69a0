/**
 * Timers on a clock only the test moves (shared/notify/timers.ts): `advance` fires every timer it
 * passes, in order, and `fireNext` jumps to the earliest one. Nothing fires by itself, so a digest
 * interval or a retry's backoff happens exactly when the test says, however loaded the machine.
 */
import type { Timers } from '../../shared/notify/timers';
import { timerTurn } from './timer-turns';

export interface HandTimers extends Timers {
  advance(ms: number): void;
  /** Moves to the earliest timer and fires it; false when none is set. */
  fireNext(): boolean;
  pending(): number;
}

export function handTimers(start = Date.parse('2026-01-01T00:00:00Z')): HandTimers {
  let now = start;
  let sequence = 0;
  const timers = new Map<number, { at: number; fire: () => void }>();
  const earliest = () => [...timers.entries()].sort(([a, x], [b, y]) => x.at - y.at || a - b)[0];
  const fire = (id: number) => {
    const timer = timers.get(id);
    timers.delete(id);
    timer?.fire();
  };
  return {
    now: () => now,
    after(ms, callback) {
      sequence += 1;
      const id = sequence;
      timers.set(id, { at: now + Math.max(0, ms), fire: callback });
      return () => timers.delete(id);
    },
    advance(ms) {
      const until = now + ms;
      for (let next = earliest(); next && next[1].at <= until; next = earliest()) {
        now = next[1].at;
        fire(next[0]);
      }
      now = until;
    },
    fireNext() {
      const next = earliest();
      if (!next) return false;
      now = Math.max(now, next[1].at);
      fire(next[0]);
      return true;
    },
    pending: () => timers.size,
  };
}

/**
 * Fires the timers as they are set, turn by turn, until `done()` (a delivery that retries sets its
 * backoff only after its attempt is answered), at most `maxTurns` turns.
 */
export async function fireUntil(timers: HandTimers, done: () => boolean, maxTurns = 5_000): Promise<void> {
  for (let turn = 0; !done() && turn < maxTurns; turn += 1) {
    await timerTurn();
    timers.fireNext();
  }
}
