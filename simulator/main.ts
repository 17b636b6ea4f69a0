/**
 * Standalone simulator for local runs (`npm run simulator`, then `func start` or the CLI with the
 * printed settings). Options: --port (default 4010), --generate N, --seed N, --time-scale F, --rate-limits.
 */
import { Command } from 'commander';
import { DEFAULT_RATE_LIMITS } from '../shared/config';
import { type RunningSimulator, type SimulatorOptions, startSimulator } from './index';

function positiveNumber(value: string): number {
  const number = Number(value);
  if (!Number.isFinite(number) || number < 0) throw new Error(`"${value}" is not a non-negative number`);
  return number;
}

/** A second simulator (or anything else) on the port: say which, and how to pick another. */
export function portInUse(port: number): string {
  return (
    `mde-simulator: port ${port} on 127.0.0.1 is in use (another simulator still running?). ` +
    `Stop it, or pick another port: npm run simulator -- --port ${port + 1} (--port 0 takes any free one)`
  );
}

/** startSimulator on a fixed port; a busy port is reported as portInUse says, not as a Node stack. */
export async function startOnPort(options: SimulatorOptions & { port: number }): Promise<RunningSimulator> {
  try {
    return await startSimulator(options);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw error;
    throw new Error(portInUse(options.port));
  }
}

async function main(): Promise<void> {
  const options = new Command('mde-simulator')
    .description('Local Microsoft Defender for Endpoint API and managed identity endpoint')
    .option('--port <port>', 'port to listen on', positiveNumber, 4010)
    .option('--generate <count>', 'generated devices added to the curated fleet', positiveNumber, 0)
    .option('--seed <seed>', 'seed of the fleet and of injected faults', positiveNumber, 1)
    .option(
      '--time-scale <factor>',
      'multiplies action durations (0.001: 3 days offline timeout → ~4 min)',
      positiveNumber,
      1,
    )
    .option('--rate-limits <windows>', 'quota per API family', DEFAULT_RATE_LIMITS)
    .parse()
    .opts<{ port: number; generate: number; seed: number; timeScale: number; rateLimits: string }>();

  const simulator = await startOnPort({
    port: options.port,
    fleet: { seed: options.seed, generate: options.generate },
    lifecycle: { timeScale: options.timeScale },
    faults: { seed: options.seed },
    rateLimits: options.rateLimits,
  });
  const machines = simulator.machines();
  const settings = Object.entries(simulator.env()).map(([name, value]) => `${name}=${value}`);
  const curated = machines.filter((m) => !m.computerDnsName?.startsWith('gen-'));
  console.log(`MDE API simulator listening on ${simulator.baseUrl} (${machines.length} devices)`);
  console.log('Point the app at it with these settings (func start: local.settings.json "Values"):');
  for (const setting of settings) console.log(`  ${setting}`);
  console.log(
    'For the CLI, in another shell (the default policy is a dry run; add --enforce to post isolations):',
  );
  console.log(`  export ${settings.join(' ')}`);
  console.log('  node dist/cli/main.js isolate --host ws-finance-01 --comment "trying the simulator"');
  console.log(`Devices: ${[...new Set(curated.map((m) => m.computerDnsName))].join(', ')}`);
  if (machines.length > curated.length)
    console.log(`  and ${machines.length - curated.length} generated gen-NNNNN.fleet.* devices`);
  console.log(`State view: ${simulator.baseUrl}/_simulator/state. Stop with Ctrl+C.`);
  const stop = () => {
    simulator.close().then(() => process.exit(0));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

if (require.main === module)
  main().catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  });
