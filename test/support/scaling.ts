/**
 * Growth of work with input size, for "no quadratic behaviour" tests: the time of `work(4n)` over the
 * time of `work(n)`. About 4 for linear work, 16 for quadratic. The time is the CPU time this process
 * spent, not the wall time: on a busy machine the wall time of a sample also holds the time other
 * processes had the core, which came and went between the samples of the two sizes (ratios of 2.3 to
 * 7 for linear work at a load of 10 on 2 cores, one run at 9.2), while the CPU time stays with the
 * work (3.8 to 4.5 in the same runs). Each size is timed as the best of a few runs, each repeated long
 * enough to read; tests assert the ratio with a generous factor, never an absolute time.
 */

const MIN_SAMPLE_MS = 40;
const RUNS = 5;

/** CPU time of this process (user and system, all its threads), in ms. */
function cpuMs(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1_000;
}

/** Mean CPU time of one call, over as many calls as fit in MIN_SAMPLE_MS of it. */
function sample(work: () => void): number {
  let calls = 0;
  const start = cpuMs();
  let elapsed = 0;
  do {
    work();
    calls++;
    elapsed = cpuMs() - start;
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

/**
 * Linear work gives ~4 and quadratic ~16: anything under this is not quadratic. Twice the worst CPU-time
 * ratio of linear work seen under load (4.5); a quadratic step still measures above it even at these
 * small sizes (12.4 for the de-duplication done with Array.includes).
 */
export const LINEAR_GROWTH_LIMIT = 9;
