/**
 * Waiting by turns of the timer loop instead of by milliseconds. Timers of one length fire in the
 * order they were set, and a zero-delay timer waits as long as a 1 ms one; so work that hops through
 * such timers (Bottleneck's queue, a call that does not wait for its time) advances at least one hop
 * per turn of a 1 ms timer set after it, however loaded the machine. A wait of some milliseconds
 * promises nothing of the kind: a process that had no core for that long finds every timer due at
 * once, the test's first.
 */
import { setTimeout as sleep } from 'node:timers/promises';

export function timerTurn(): Promise<void> {
  return sleep(1);
}

export async function timerTurns(count: number): Promise<void> {
  for (let turn = 0; turn < count; turn += 1) await timerTurn();
}
