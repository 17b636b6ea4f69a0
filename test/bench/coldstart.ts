/**
 * `npm run bench -- coldstart`: how long the Functions host takes to import this app's functions,
 * against a bare `@azure/functions` app registering one HTTP function, each in a fresh Node process
 * (the module cache is what a cold start lacks). Measured inside the child, so Node's own start-up
 * is left out. Run after `npm run build` (the bench script builds first).
 *
 * The app side imports what the host imports: every file matched by `main` in package.json, helper
 * modules included (functionFiles), the telemetry set-up first. Three settings: no Service Bus
 * namespace (a local run: the Service Bus triggers are not registered); a namespace, as deployed:
 * there the triggers check the settings and the policy before registering; and a namespace with
 * Application Insights, where the telemetry set-up loads the exporter too. The target applies to both
 * deployed ratios.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

/** Per setting and side; odd, so the median is one run. Bare and app runs alternate (see run()). */
const RUNS = 31;
const TARGET = 2;
const DIST = join(__dirname, '..', '..');
const ROOT = join(DIST, '..');

/**
 * The files the host loads, in its order: `main` is `<folder>/*.js`, or `<folder>/{first.js,*.js}`
 * with the files named first (the telemetry set-up), relative to the app's root.
 */
function functionFiles(root: string): string[] {
  const { main } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { main: string };
  const named = /^(?:\{((?:[\w.-]+\.js,)*)\*\.js\}|\*\.js)$/.exec(basename(main));
  if (!named) throw new Error(`package.json main "${main}" is not <folder>/*.js or <folder>/{first.js,*.js}`);
  const first = (named[1] ?? '').split(',').filter(Boolean);
  const folder = join(root, dirname(main));
  const rest = readdirSync(folder)
    .filter((name) => name.endsWith('.js') && !first.includes(name))
    .sort();
  return [...first, ...rest].map((name) => join(folder, name));
}

const BARE = `
const { app } = require('@azure/functions');
app.http('bare', { methods: ['GET'], authLevel: 'anonymous', handler: async () => ({ status: 200 }) });`;
const appImport = (files: string[]) => `for (const file of ${JSON.stringify(files)}) require(file);`;

function importMs(body: string, env: Record<string, string>): number {
  // Ends once measured: the exporter's start-up (its own usage reports) keeps timers the host would keep.
  const script = `const t = process.hrtime.bigint(); ${body}
process.stdout.write('\\n' + String(Number(process.hrtime.bigint() - t) / 1e6), () => process.exit(0));`;
  const out = execFileSync(process.execPath, ['-e', script], {
    cwd: DIST,
    env: { PATH: process.env.PATH ?? '', ...env },
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  // The last line: @azure/functions writes its own notes to stdout outside the Functions host.
  return Number(out.trim().split('\n').at(-1));
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

interface Setting {
  label: string;
  env: Record<string, string>;
  /** The setting the target applies to. */
  target: boolean;
}

const NAMESPACE = { ServiceBusConnection__fullyQualifiedNamespace: 'x.servicebus.windows.net' };

const SETTINGS: Setting[] = [
  { label: 'no namespace (local)', env: {}, target: false },
  { label: 'namespace (deployed)', env: NAMESPACE, target: true },
  {
    // As deployed with Application Insights: the exporter set up at load (functions/telemetry.ts),
    // pointed at a loopback address; nothing is sent while the host loads the app.
    label: 'namespace and telemetry (deployed)',
    env: {
      ...NAMESPACE,
      APPLICATIONINSIGHTS_CONNECTION_STRING:
        'InstrumentationKey=00000000-0000-0000-0000-000000000000;IngestionEndpoint=https://127.0.0.1:9/',
      APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'Authorization=AAD',
    },
    target: true,
  },
];

export async function run(): Promise<void> {
  const files = functionFiles(ROOT);
  const app = appImport(files);
  process.stdout.write(
    `coldstart: import time, median of ${RUNS} fresh processes per side, bare and app alternating\n` +
      `  app imports ${files.map((file) => basename(file)).join(', ')}\n`,
  );
  for (const setting of SETTINGS) {
    const bare: number[] = [];
    const ours: number[] = [];
    // Interleaved, first one side then the other, so a busy machine or a warming disk cache slows both alike.
    for (let i = 0; i < RUNS; i += 1) {
      const sides: [number[], string][] = [
        [bare, BARE],
        [ours, app],
      ];
      if (i % 2 === 1) sides.reverse();
      for (const [into, body] of sides) into.push(importMs(body, setting.env));
    }
    const ratio = median(ours) / median(bare);
    const verdict = setting.target ? ` <- the target (<= ${TARGET.toFixed(2)}) applies here` : '';
    process.stdout.write(
      `  ${setting.label}: bare app ${median(bare).toFixed(1)} ms, mde-isolator ${median(ours).toFixed(1)} ms, ratio ${ratio.toFixed(2)}${verdict}\n`,
    );
  }
}
