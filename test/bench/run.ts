/**
 * `npm run bench -- <name>... [--option value]...`: runs benchmark modules and prints their figures;
 * the options go to each (the storm benches': options.ts). Benchmarks measure; tests never assert
 * timings. Add a benchmark with one line below.
 */
import { UsageError } from './options';

type Bench = { run(args: string[]): Promise<void> };
const BENCHMARKS: Record<string, () => Promise<Bench>> = {
  coldstart: () => import('./coldstart'),
  latency: () => import('./latency'),
  parse: () => import('./parse'),
  policy: () => import('./policy'),
  quota: () => import('./quota'),
  reconcile: () => import('./reconcile'),
  // Burst then sustained arrival (or the one `--arrival` names), then, unless a run picks sizes or an
  // arrival, a crash mid-storm.
  storm: async () => ({
    run: async (args) => {
      const { arrivals } = (await import('./options')).stormOptions(args);
      if (arrivals.includes('burst')) await (await import('./storm')).run(args);
      if (arrivals.includes('sustained')) await (await import('./storm-sustained')).run(args);
      if (!args.includes('--arrival') && !args.includes('--devices'))
        await (await import('./storm-restart')).run(args);
    },
  }),
  'storm-sustained': () => import('./storm-sustained'),
  store: () => import('./store'),
  'storm-store': () => import('./storm-store'),
  'storm-budget': async () => ({ run: (await import('./storm-store')).runBudgetPair }),
  'storm-restart': () => import('./storm-restart'),
  tenants: () => import('./tenants'),
  whatif: () => import('./whatif'),
};

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const firstOption = args.findIndex((arg) => arg.startsWith('--'));
  const names = firstOption === -1 ? args : args.slice(0, firstOption);
  const options = firstOption === -1 ? [] : args.slice(firstOption);
  const unknown = names.filter((name) => !(name in BENCHMARKS));
  if (names.length === 0 || unknown.length > 0) {
    process.stderr.write(`usage: npm run bench -- <${Object.keys(BENCHMARKS).join('|')}>... [options]\n`);
    process.exitCode = 2;
    return;
  }
  try {
    for (const name of names) await (await BENCHMARKS[name]()).run(options);
  } catch (error) {
    process.stderr.write(`bench: ${(error as Error).message}\n`);
    // Like an unknown bench name, a bad option is the caller's to fix (2); a bench that failed, 1.
    process.exitCode = error instanceof UsageError ? 2 : 1;
  }
}

void main();
