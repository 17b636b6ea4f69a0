/** Dispatch reporters for tests: one that drops everything, one that keeps what it is given. */
import type { DispatchReporter, OutcomeRecord } from '../../shared/dispatch/outcome';

/** For tests that read outcomes elsewhere (the simulator, the queue, the state store). */
export const silentReporter: DispatchReporter = { outcome: () => undefined, note: () => undefined };

/** Keeps every outcome record, and every note with its level. */
export function recordingReporter() {
  const outcomes: OutcomeRecord[] = [];
  const notes: Record<string, unknown>[] = [];
  const reporter: DispatchReporter = {
    outcome: (record) => outcomes.push(record),
    note: (level, record) => notes.push({ level, ...record }),
  };
  return { reporter, outcomes, notes };
}
