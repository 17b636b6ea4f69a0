/**
 * Growth of work with input size, for "no quadratic behaviour" tests: the time of `work(4n)` over the
 * time of `work(n)`. About 4 for linear work, 16 for quadratic. Each size is timed as the best of a
 * few runs, each repeated long enough to read, so a busy shared machine only ever adds noise upwards
 * for both sizes alike; tests assert the ratio with a generous factor, never an absolute time.
 */
import { performance } from 'node:perf_hooks';

const MIN_SAMPLE_MS = 40;
const RUNS = 5;

/** Mean time of one call, over as many calls as fit in MIN_SAMPLE_MS. */
function sample(work: () => void): number {
  let calls = 0;
  const start = performance.now();
  let elapsed = 0;
  do {
    work();
    calls++;
    elapsed = performance.now() - start;
  } while (elapsed < MIN_SAMPLE_MS);
  return elapsed / calls;
}

/** `prepare(size)` builds the input (not timed); `work(input)` is what is timed. */
export function growthRatio<T>(n: number, prepare: (size: number) => T, work: (input: T) => void): number {
  const small = prepare(n);
  const large = prepare(4 * n);
  // Warm-up on both inputs, then interleaved runs, so JIT tiers and machine load hit both sizes alike.
  work(small);
  work(large);
  let [bestSmall, bestLarge] = [Number.POSITIVE_INFINITY, Number.POSITIVE_INFINITY];
  for (let run = 0; run < RUNS; run++) {
    bestSmall = Math.min(
      bestSmall,
      sample(() => work(small)),
    );
    bestLarge = Math.min(
      bestLarge,
      sample(() => work(large)),
    );
  }
  return bestLarge / bestSmall;
}

/** Linear work gives ~4 and quadratic ~16: anything under this is not quadratic. */
export const LINEAR_GROWTH_LIMIT = 9;
