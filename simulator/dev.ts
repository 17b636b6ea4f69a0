/**
 * `npm run dev`: the local loop in one command. Starts the MDE simulator (port 4010, a fixed identity
 * header), Azurite on its default ports (in memory, telemetry off), writes local.settings.json from them
 * when there is none, then runs the Functions host (`func start`) when Core Tools are installed, or the
 * development host (simulator/dev-host.ts) on port 7071 when they are not. Ctrl+C stops everything.
 */
import { spawn } from 'node:child_process';
import { accessSync, constants, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { type RunningAzurite, startDevelopmentAzurite } from './azurite';
import { DEV_FUNCTION_KEY, loadHttpFunctions, startDevHost } from './dev-host';
import { startOnPort } from './main';

/** Public like Azurite's account key: it guards a simulator on loopback, and keeps local settings valid. */
export const DEV_IDENTITY_HEADER = 'local-dev-identity-header';
export const DEV_PORTS = { simulator: 4010, host: 7071 } as const;

/** The repository root, from simulator/ (ts-jest) or dist/simulator/ (npm run dev). */
const ROOT = join(__dirname, __filename.endsWith('.ts') ? '..' : join('..', '..'));

interface SettingsFile {
  IsEncrypted: boolean;
  Values: Record<string, string>;
  [other: string]: unknown;
}

/** The sample settings with the running simulator's values and Azurite's connection. */
export function devSettings(sample: SettingsFile, simulatorEnv: Record<string, string>): SettingsFile {
  return {
    ...sample,
    Values: { ...sample.Values, ...simulatorEnv, AzureWebJobsStorage: 'UseDevelopmentStorage=true' },
  };
}

export type SettingsOutcome =
  | { written: true }
  /** A file was there: kept as it is; `differs` names the settings that do not point at this loop. */
  | { written: false; differs: string[] };

/** Writes `settings` to `file` unless a file is there; then it is never overwritten, only compared. */
export function placeSettings(file: string, settings: SettingsFile): SettingsOutcome {
  if (!existsSync(file)) {
    writeFileSync(file, `${JSON.stringify(settings, null, 2)}\n`, { flag: 'wx' });
    return { written: true };
  }
  let values: Record<string, unknown> = {};
  try {
    values = (JSON.parse(readFileSync(file, 'utf8')) as Partial<SettingsFile>).Values ?? {};
  } catch {
    // Unreadable: every setting differs, which is what the message will say.
  }
  const loop = ['MDE_API_URL', 'IDENTITY_ENDPOINT', 'IDENTITY_HEADER', 'AzureWebJobsStorage'];
  return { written: false, differs: loop.filter((name) => values[name] !== settings.Values[name]) };
}

/** Whether an executable `name` is on PATH. */
export function onPath(name: string, path = process.env.PATH ?? ''): boolean {
  return path.split(delimiter).some((dir) => {
    try {
      accessSync(join(dir, name), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

async function azuriteOrRunning(): Promise<RunningAzurite | null> {
  try {
    return await startDevelopmentAzurite();
  } catch (error) {
    if (!/EADDRINUSE/.test((error as Error).message)) throw error;
    console.log('Azurite: its ports (10000-10002) are taken, by `npm run azurite` presumably: using it');
    return null;
  }
}

function report(file: string, outcome: SettingsOutcome): void {
  if (outcome.written) console.log(`Wrote ${file} (the simulator, Azurite, dry-run mode)`);
  else if (outcome.differs.length === 0) console.log(`Kept ${file}: it points at this loop`);
  else
    console.log(
      `Kept your ${file}; not overwritten, but ${outcome.differs.join(', ')} ` +
        `${outcome.differs.length === 1 ? 'differs' : 'differ'} from this loop's: ` +
        'move it aside and run npm run dev again to get one that matches',
    );
}

async function main(): Promise<void> {
  const simulator = await startOnPort({ port: DEV_PORTS.simulator, identityHeader: DEV_IDENTITY_HEADER });
  const azurite = await azuriteOrRunning();
  const stops: Array<() => Promise<void>> = [() => simulator.close()];
  if (azurite) stops.push(() => azurite.stop());
  const stop = () => void Promise.allSettled(stops.map((s) => s())).then(() => process.exit(0));
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  console.log(`MDE API simulator on ${simulator.baseUrl}; Azurite on 127.0.0.1:10000-10002`);

  const sample = JSON.parse(readFileSync(join(ROOT, 'local.settings.sample.json'), 'utf8')) as SettingsFile;
  const file = join(ROOT, 'local.settings.json');
  const settings = devSettings(sample, simulator.env());
  report('local.settings.json', placeSettings(file, settings));

  if (onPath('func')) {
    console.log('Azure Functions Core Tools found: func start');
    const host = spawn('func', ['start'], { cwd: ROOT, stdio: 'inherit' });
    host.on('exit', stop);
    return;
  }
  // As the Functions host does: local.settings.json's Values become the environment, which wins.
  const loaded = JSON.parse(readFileSync(file, 'utf8')) as SettingsFile;
  for (const [name, value] of Object.entries(loaded.Values)) process.env[name] ??= value;
  const host = await startDevHost({ functions: loadHttpFunctions(), port: DEV_PORTS.host }).catch(
    (error: NodeJS.ErrnoException) => {
      if (error.code !== 'EADDRINUSE') throw error;
      throw new Error(`port ${DEV_PORTS.host} on 127.0.0.1 is in use (func start still running?): stop it`);
    },
  );
  stops.unshift(() => host.close());
  const api = `${host.baseUrl}/api`;
  console.log(
    [
      `Development host on ${api} (Core Tools not found; HTTP functions only, the worker inline)`,
      `Function key: ${DEV_FUNCTION_KEY} (header x-functions-key)`,
      `API reference: ${api}/docs   Requests to try: requests.http`,
      `Try: curl -sS -X POST ${api}/alerts -H "x-functions-key: ${DEV_FUNCTION_KEY}" \\`,
      `       -H 'Content-Type: application/json' -d '{"hostname":"ws-finance-01","comment":"trying"}'`,
      'Stop with Ctrl+C.',
    ].join('\n'),
  );
}

if (require.main === module)
  main().catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  });
