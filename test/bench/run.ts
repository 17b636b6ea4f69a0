/**
 * `npm run bench -- <name>`: runs one benchmark module and prints its figures. Benchmarks measure;
 * tests never assert timings. Add a benchmark with one line below.
 */
const BENCHMARKS: Record<string, () => Promise<{ run(): Promise<void> }>> = {
  coldstart: () => import('./coldstart'),
  latency: () => import('./latency'),
  parse: () => import('./parse'),
  policy: () => import('./policy'),
  quota: () => import('./quota'),
  reconcile: () => import('./reconcile'),
  // The burst scenarios, the sustained-arrival one, then a crash mid-storm.
  storm: async () => ({
    run: async () => {
      await (await import('./storm')).run();
      await (await import('./storm-sustained')).run();
      await (await import('./storm-restart')).run();
    },
  }),
  'storm-sustained': () => import('./storm-sustained'),
  store: () => import('./store'),
  'storm-store': () => import('./storm-store'),
  'storm-budget': async () => ({ run: (await import('./storm-store')).runBudgetPair }),
  'storm-restart': () => import('./storm-restart'),
  whatif: () => import('./whatif'),
};

async function main(): Promise<void> {
  const names = process.argv.slice(2);
  const unknown = names.filter((name) => !(name in BENCHMARKS));
  if (names.length === 0 || unknown.length > 0) {
    process.stderr.write(`usage: npm run bench -- <${Object.keys(BENCHMARKS).join('|')}>...\n`);
    process.exitCode = 2;
    return;
  }
  for (const name of names) await (await BENCHMARKS[name]()).run();
}

void main();
