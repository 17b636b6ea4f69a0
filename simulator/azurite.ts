/**
 * Azurite's Table service as a child process, in memory, on a free loopback port: the real Table
 * Storage protocol for tests, benchmarks and the demo, with nothing written to disk and nothing sent
 * anywhere (telemetry off). A start that fails or does not answer in time is an error naming why,
 * never a hang.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EMULATOR_ACCOUNT_KEY, EMULATOR_ACCOUNT_NAME } from 'azurite/dist/src/common/utils/constants';

/**
 * Azurite's published development account, taken from Azurite itself rather than written here: the key
 * is public (Microsoft's Azurite page) and opens nothing but a local emulator.
 * https://learn.microsoft.com/azure/storage/common/storage-use-azurite#well-known-storage-account-and-key
 */
const ACCOUNT = EMULATOR_ACCOUNT_NAME;
const ACCOUNT_KEY = EMULATOR_ACCOUNT_KEY.toString('base64');
/** What the Table service prints once it listens: alone (table/main.js), or last of the three (azurite.js). */
const STARTED = /successfully started|Table service is successfully listening/i;
/** Azurite's default ports, which `UseDevelopmentStorage=true` names. */
export const AZURITE_DEFAULT_PORTS = { blob: 10000, queue: 10001, table: 10002 } as const;
/** Another process may take the free port between our check and Azurite's bind. */
const PORT_ATTEMPTS = 3;

export interface RunningAzurite {
  port: number;
  /** The explicit form of `UseDevelopmentStorage=true`, for this port. */
  connectionString: string;
  stop(): Promise<void>;
}

export function azuriteConnectionString(port: number): string {
  return `DefaultEndpointsProtocol=http;AccountName=${ACCOUNT};AccountKey=${ACCOUNT_KEY};TableEndpoint=http://127.0.0.1:${port}/${ACCOUNT};`;
}

/** A loopback port free right now. */
export function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

export async function startAzurite(options: { startTimeoutMs?: number } = {}): Promise<RunningAzurite> {
  let lastError: Error | null = null;
  for (let attempt = 0; attempt < PORT_ATTEMPTS; attempt += 1) {
    const port = await freeLoopbackPort();
    try {
      return await startOn(port, options.startTimeoutMs ?? 20_000);
    } catch (error) {
      lastError = error as Error;
      if (!/EADDRINUSE/.test(lastError.message)) break;
    }
  }
  throw lastError;
}

/**
 * Blob, Queue and Table on their default ports, as the Functions host needs them for
 * `UseDevelopmentStorage=true` (`npm run dev`); in memory and without telemetry like the others.
 */
export function startDevelopmentAzurite(options: { startTimeoutMs?: number } = {}): Promise<RunningAzurite> {
  const { blob, queue, table } = AZURITE_DEFAULT_PORTS;
  const listen = ['--blobHost', '127.0.0.1', '--queueHost', '127.0.0.1', '--tableHost', '127.0.0.1'];
  const ports = ['--blobPort', String(blob), '--queuePort', String(queue), '--tablePort', String(table)];
  return launch(
    'azurite/dist/src/azurite.js',
    [...listen, ...ports],
    table,
    options.startTimeoutMs ?? 20_000,
  );
}

function startOn(port: number, startTimeoutMs: number): Promise<RunningAzurite> {
  const listen = ['--tableHost', '127.0.0.1', '--tablePort', String(port)];
  return launch('azurite/dist/src/table/main.js', listen, port, startTimeoutMs);
}

async function launch(
  script: string,
  listen: string[],
  port: number,
  startTimeoutMs: number,
): Promise<RunningAzurite> {
  // In memory Azurite writes nothing, but it runs in a directory of its own in case a version does.
  const workspace = mkdtempSync(join(tmpdir(), 'azurite-'));
  const child = spawn(
    process.execPath,
    [
      require.resolve(script),
      '--inMemoryPersistence',
      '--disableTelemetry',
      '--skipApiVersionCheck',
      '--silent',
      ...listen,
    ],
    { cwd: workspace, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  // A test runner that dies must not leave Azurite behind.
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  const stop = async () => {
    process.removeListener('exit', killOnExit);
    await terminate(child);
    rmSync(workspace, { recursive: true, force: true });
  };
  try {
    await started(child, startTimeoutMs);
  } catch (error) {
    await stop();
    throw error;
  }
  return { port, connectionString: azuriteConnectionString(port), stop };
}

function started(child: ChildProcess, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let output = '';
    const tail = () => output.trim().split('\n').slice(-5).join(' | ') || 'no output';
    const timer = setTimeout(
      () => finish(new Error(`Azurite did not start within ${timeoutMs} ms (${tail()})`)),
      timeoutMs,
    );
    const onData = (chunk: Buffer) => {
      output = (output + chunk.toString()).slice(-4_000);
      if (STARTED.test(output)) finish(null);
    };
    const onExit = (code: number | null) =>
      finish(new Error(`Azurite exited with code ${code} before starting (${tail()})`));
    const onError = (error: Error) => finish(new Error(`Azurite could not be run: ${error.message}`));
    const finish = (error: Error | null) => {
      clearTimeout(timer);
      child.stdout?.off('data', onData);
      child.stderr?.off('data', onData);
      child.off('exit', onExit);
      child.off('error', onError);
      if (error) reject(error);
      else {
        // Keep reading so a full pipe never blocks Azurite.
        child.stdout?.resume();
        child.stderr?.resume();
        resolve();
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', onExit);
    child.once('error', onError);
  });
}

function terminate(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const force = setTimeout(() => child.kill('SIGKILL'), 5_000);
    child.once('exit', () => {
      clearTimeout(force);
      resolve();
    });
    child.kill('SIGTERM');
  });
}
