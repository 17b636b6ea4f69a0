/**
 * The time notifications wait by (the digest interval, a retry's backoff): the system's timers in
 * production; tests move a hand clock whose timers fire when it passes them.
 */
export interface Timers {
  now(): number;
  /** Calls `fire` once `ms` have passed; the answer cancels it. */
  after(ms: number, fire: () => void): () => void;
}

export const systemTimers: Timers = {
  now: () => Date.now(),
  after(ms, fire) {
    const timer = setTimeout(fire, ms);
    return () => clearTimeout(timer);
  },
};
