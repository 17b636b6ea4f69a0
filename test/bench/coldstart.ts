/**
 * `npm run bench -- coldstart`: how long the Functions host takes to import this app's functions,
 * against a bare `@azure/functions` app registering one HTTP function, each in a fresh Node process
 * (the module cache is what a cold start lacks). Measured inside the child, so Node's own start-up
 * is left out; median of RUNS. Run after `npm run build` (the bench script builds first).
 * Two settings: no Service Bus namespace (local runs: the worker trigger is not registered) and a
 * namespace (as deployed: the worker checks settings and policy before registering).
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

const RUNS = 9;
const DIST = join(__dirname, '..', '..');
const FUNCTIONS = ['alerts', 'health', 'worker'].map((name) => join(DIST, 'functions', `${name}.js`));

const BARE = `
const { app } = require('@azure/functions');
app.http('bare', { methods: ['GET'], authLevel: 'anonymous', handler: async () => ({ status: 200 }) });`;
const APP = `for (const file of ${JSON.stringify(FUNCTIONS)}) require(file);`;

function importMs(body: string, env: Record<string, string>): number {
  const script = `const t = process.hrtime.bigint(); ${body}
process.stdout.write(String(Number(process.hrtime.bigint() - t) / 1e6));`;
  const out = execFileSync(process.execPath, ['-e', script], {
    cwd: DIST,
    env: { PATH: process.env.PATH ?? '', ...env },
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  return Number(out);
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

export async function run(): Promise<void> {
  const settings: [string, Record<string, string>][] = [
    ['no namespace (local)', {}],
    [
      'Service Bus namespace (deployed)',
      { ServiceBusConnection__fullyQualifiedNamespace: 'x.servicebus.windows.net' },
    ],
  ];
  process.stdout.write(`coldstart: import time, median of ${RUNS} fresh processes\n`);
  for (const [label, env] of settings) {
    const bare: number[] = [];
    const app: number[] = [];
    // Interleaved, so a busy machine slows both alike.
    for (let i = 0; i < RUNS; i += 1) {
      bare.push(importMs(BARE, env));
      app.push(importMs(APP, env));
    }
    const ratio = median(app) / median(bare);
    process.stdout.write(
      `  ${label}: bare app ${median(bare).toFixed(0)} ms, mde-isolator ${median(app).toFixed(0)} ms, ratio ${ratio.toFixed(2)} (target <= 2.00)\n`,
    );
  }
}
