/**
 * The pre-flight check: before any work, one token and one machines lookup; a refused identity
 * header, a missing permission or a refused connection ends the command with one line naming the
 * cause and the fix. Asserted by what was attempted and the failure kind, not by time. (A stale
 * identity header has its own file: MSAL keeps the managed identity's settings per module registry.)
 */
import { createServer } from 'node:net';
import { runManualOrder } from '../../cli/isolate';
import type { MdeApi } from '../../shared/mde/api';
import type { RunningSimulator } from '../../simulator';
import { cliIn } from '../cli/run-cli';
import { startSimulatorWithIdentity } from '../support/simulator';
import { TEST_POLICY } from './harness';

let sim: RunningSimulator;
let env: Record<string, string>;

beforeAll(async () => {
  sim = await startSimulatorWithIdentity();
  env = { ...sim.env(), ISOLATION_POLICY: JSON.stringify(TEST_POLICY) };
});
afterAll(() => sim.close());

const calls = () => sim.calls().map((c) => `${c.api} ${c.status}`);

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as { port: number };
  await new Promise((done) => server.close(done));
  return port;
}

/** Runs `isolate` in-process, counting every MDE client call it makes. */
async function isolateCounting(settings: Record<string, string>) {
  const counted: string[] = [];
  let stderr = '';
  const io = {
    stdout: { write: () => true },
    stderr: { write: (text: string) => (stderr += text) },
    cwd: process.cwd(),
    env: settings,
  };
  const count = (api: MdeApi): MdeApi =>
    new Proxy(api, {
      get(target, key, receiver) {
        const member = Reflect.get(target, key, receiver);
        if (typeof member !== 'function') return member;
        return (...args: unknown[]) => {
          counted.push(String(key));
          return member.apply(target, args);
        };
      },
    });
  const code = await runManualOrder('isolate', { host: 'web1', comment: 'pre-flight test' }, io, {
    decorateApi: count,
  });
  return { code, stderr, counted };
}

it('doctor: one pass line per check, the first line saying the store is local', async () => {
  const { code, stdout } = await cliIn(process.cwd(), env)('doctor');
  expect(code).toBe(0);
  expect(stdout.trim().split('\n')).toEqual([
    expect.stringMatching(
      /^note {2}the CLI runs with a local store: this process's own breaker and register/,
    ),
    expect.stringMatching(/^pass {2}settings: MDE_CLOUD=commercial, MDE_API_URL=http:\/\/127\.0\.0\.1:\d+$/),
    expect.stringMatching(/^pass {2}store: local store/),
    expect.stringMatching(
      /^pass {2}token: \S+, tenant \S+, audience https:\/\/api\.securitycenter\.microsoft\.com, application permissions .*Machine\.Isolate/,
    ),
    expect.stringMatching(/^pass {2}MDE API: http:\/\/127\.0\.0\.1:\d+ answers a machines lookup$/),
    'skip  queue: none configured (inline dispatch)',
    'skip  deployed app: MDE_ISOLATOR_APP_URL not set',
  ]);
});

it('doctor checks the queue where one is configured: a namespace that refuses the connection fails it', async () => {
  // Nothing listens for AMQP on the loopback address: the peek is refused at once, never retried.
  const { code, stdout } = await cliIn(process.cwd(), {
    ...env,
    ServiceBusConnection__fullyQualifiedNamespace: '127.0.0.1',
  })('doctor');
  expect(code).toBe(1);
  const lines = stdout.trim().split('\n');
  expect(lines.filter((l) => l.startsWith('pass'))).toHaveLength(4);
  expect(lines.find((l) => l.includes('queue:'))).toMatch(
    /^FAIL {2}queue: isolation-requests on 127\.0\.0\.1: unreachable: the namespace cannot be reached: .*ECONNREFUSED/,
  );
});

it('a missing permission (403): one lookup, named as a permission, not as a cloud or a sign-in', async () => {
  sim.setRoles([]);
  // The cached token has the roles: revoked, the client's resend fetches one without them.
  sim.revokeTokens();
  sim.resetCalls();
  try {
    const { code, stderr, counted } = await isolateCounting(env);
    expect(code).toBe(1);
    expect(stderr).toMatch(
      /isolate: pre-flight forbidden: MDE refused the call \(403\): the identity lacks Machine\.Read\.All/,
    );
    expect(counted).toEqual(['findMachinesByDnsName']);
    expect(calls()).toEqual(['machines 401', 'token 200', 'machines 403']);
    // doctor names both: the token's missing permissions, and the API's refusal.
    const doctor = await cliIn(process.cwd(), env)('doctor');
    expect(doctor.code).toBe(1);
    expect(doctor.stdout).toMatch(
      /^FAIL {2}token: \S+ lacks application permission Machine\.Isolate, Machine\.Read\.All or Machine\.ReadWrite\.All;/m,
    );
    expect(doctor.stdout).toMatch(/^FAIL {2}MDE API: forbidden: /m);
  } finally {
    sim.setRoles(['Machine.Isolate', 'Machine.Read.All']);
    sim.revokeTokens();
  }
});

it('connection refused at MDE_API_URL: one line naming the URL, found before any MDE call', async () => {
  const url = `http://127.0.0.1:${await closedPort()}`;
  const { code, stderr, counted } = await isolateCounting({ ...env, MDE_API_URL: url });
  expect(code).toBe(1);
  expect(stderr.trim().split('\n')[1]).toBe(
    `isolate: pre-flight connection-refused: connection refused at MDE_API_URL (${url}): nothing listens there; start the simulator or fix MDE_API_URL / MDE_CLOUD`,
  );
  expect(counted).toEqual([]);
});

it('goes on to the work once the pre-flight lookup answers', async () => {
  sim.resetCalls();
  const { code, counted } = await isolateCounting({ ...env, ISOLATION_MODE: 'dry-run' });
  expect(code).toBe(0);
  expect(counted[0]).toBe('findMachinesByDnsName');
  expect(counted.length).toBeGreaterThan(1);
});
