/**
 * The pre-flight check against a flaky API: a 5xx or a dropped connection is retried as the worker
 * retries it (its backoff, its bound on attempts), so one lost answer never abandons a run; only an
 * identity or permission answer ends the command at once. With `--json` a failure is also a JSON
 * document on stdout. The simulator scripts its faults, so every assertion counts calls, not time.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FatalCliError } from '../../cli/context';
import { runManualOrder } from '../../cli/isolate';
import { PREFLIGHT_NAME } from '../../cli/preflight';
import { DEFAULT_TIMING } from '../../shared/dispatch/timing';
import type { MdeApi } from '../../shared/mde/api';
import type { RunningSimulator } from '../../simulator';
import { cliIn } from '../cli/run-cli';
import { mdeAlert } from '../support/alert-payloads';
import { startSimulatorWithIdentity } from '../support/simulator';
import { TEST_POLICY } from './harness';

const DOMAIN = 'contoso.local';
const DEVICES = [`mac-design-01.${DOMAIN}`, `ws-finance-01.${DOMAIN}`];

let sim: RunningSimulator;
let dir: string;
let env: Record<string, string>;
let cli: ReturnType<typeof cliIn>;

beforeAll(async () => {
  sim = await startSimulatorWithIdentity({
    lifecycle: { pendingMs: 30, inProgressMs: 30, offlineTimeoutMs: 1_000 },
  });
  dir = mkdtempSync(join(tmpdir(), 'mde-isolator-preflight-'));
  writeFileSync(join(dir, 'alerts.json'), JSON.stringify(DEVICES.map((dnsName) => mdeAlert({ dnsName }))));
  env = { ...sim.env(), ISOLATION_POLICY: JSON.stringify(TEST_POLICY) };
  cli = cliIn(dir, env);
});
afterAll(() => sim.close());
beforeEach(() => {
  sim.setFaults({});
  sim.resetCalls();
});

const machineCalls = () =>
  sim
    .calls()
    .filter((c) => c.api === 'machines')
    .map((c) => c.status);

it('retries a 5xx and a dropped connection on the pre-flight read, then runs and isolates', async () => {
  sim.setFaults({ apis: ['machines'], firstFaults: ['server-error', 'drop', 'server-error'] });
  const { code, stdout, stderr } = await cli(
    'run',
    '--json',
    '--enforce',
    '--time-scale',
    '0.001',
    'alerts.json',
  );
  expect(stderr.match(/^run: pre-flight attempt \d failed \(.*\); retrying in \d+ ms$/gm)).toHaveLength(3);
  // The MDE API is named, not the client's function.
  expect(stderr).toMatch(/^run: pre-flight attempt 1 failed \(MDE \(machines API\) failed with 503/m);
  expect(stderr).not.toMatch(/findMachines/);
  // Three faults, then the pre-flight's lookup of a name no device has (404), then the work.
  expect(machineCalls().slice(0, 4)).toEqual([503, null, 503, 404]);
  expect(code).toBe(0);
  const { outcomes } = JSON.parse(stdout);
  expect(
    outcomes.map((o: { computerDnsName: string; outcome: string }) => [o.computerDnsName, o.outcome]).sort(),
  ).toEqual(DEVICES.map((name) => [name, 'succeeded']));
  for (const name of DEVICES) {
    const machine = sim.machines().find((m) => m.computerDnsName === name);
    expect(sim.machineState(machine?.id as string)?.isolated).toBe(true);
  }
});

it("gives up after the worker's number of attempts, with a JSON error on stdout under --json", async () => {
  sim.setFaults({ apis: ['machines'], serverErrorRate: 1 });
  const actionsBefore = sim.actions().length;
  const { code, stdout, stderr } = await cli(
    'run',
    '--json',
    '--enforce',
    '--time-scale',
    '0.001',
    'alerts.json',
  );
  expect(code).toBe(1);
  expect(machineCalls()).toEqual(Array(DEFAULT_TIMING.transientMaxAttempts).fill(503));
  expect(JSON.parse(stdout)).toEqual({
    error: {
      stage: 'pre-flight',
      kind: 'server-error',
      message: expect.stringMatching(
        new RegExp(
          `^MDE answered with a server error on ${DEFAULT_TIMING.transientMaxAttempts} attempt\\(s\\), retried with backoff; last: .*503`,
        ),
      ),
    },
  });
  expect(stderr.trim().split('\n').at(-1)).toMatch(
    /^run: pre-flight server-error: MDE answered with a server error/,
  );
  expect(sim.actions()).toHaveLength(actionsBefore);
});

it('Ctrl+C while the pre-flight waits to retry ends the command before any work (exit 130)', async () => {
  sim.setFaults({ apis: ['machines'], firstFaults: ['server-error'] });
  const interrupt = new AbortController();
  // The operator interrupts as soon as the first retry is announced; no --time-scale: the wait is seconds.
  const interrupted = cliIn(dir, env, {
    interrupt: interrupt.signal,
    onStderr: (stderr) => {
      if (stderr.includes('pre-flight attempt 1 failed')) interrupt.abort();
    },
  });
  const actionsBefore = sim.actions().length;
  const { code, stdout, stderr } = await interrupted('run', '--json', '--enforce', 'alerts.json');
  expect(code).toBe(130);
  expect(stderr.trim().split('\n').at(-1)).toBe(
    'run: pre-flight interrupted: interrupted during the pre-flight check; nothing was started',
  );
  expect(JSON.parse(stdout)).toMatchObject({ error: { stage: 'pre-flight', kind: 'interrupted' } });
  expect(machineCalls()).toEqual([503]);
  expect(sim.actions()).toHaveLength(actionsBefore);
});

it('a missing permission (403) still ends the command at once: one lookup, and the JSON error names it', async () => {
  sim.setRoles([]);
  sim.revokeTokens();
  try {
    const { code, stdout } = await cli('run', '--json', '--enforce', '--time-scale', '0.001', 'alerts.json');
    expect(code).toBe(1);
    expect(JSON.parse(stdout)).toEqual({
      error: {
        stage: 'pre-flight',
        kind: 'forbidden',
        message: expect.stringMatching(/lacks Machine\.Read\.All/),
      },
    });
    // The client's one resend with a token fetched anew, then the 403: no backoff retries.
    expect(machineCalls()).toEqual([401, 403]);
  } finally {
    sim.setRoles(['Machine.Isolate', 'Machine.Read.All']);
    sim.revokeTokens();
  }
});

it('a 401 later in the run ends it with a JSON error on stdout under --json', async () => {
  let stdout = '';
  const io = {
    stdout: { write: (text: string) => (stdout += text) },
    stderr: { write: () => true },
    cwd: process.cwd(),
    env: { ...sim.env(), ISOLATION_POLICY: JSON.stringify(TEST_POLICY) },
  };
  // MDE stops accepting the identity once the pre-flight lookup has answered.
  const refuseAfterPreflight = (api: MdeApi): MdeApi =>
    new Proxy(api, {
      get: (target, key, receiver) => {
        const member = Reflect.get(target, key, receiver);
        if (key !== 'findMachinesByDnsName') return member;
        return async (name: string) => {
          try {
            return await member.call(target, name);
          } finally {
            if (name === PREFLIGHT_NAME) sim.refuseTokens(true);
          }
        };
      },
    });
  try {
    const order = { host: 'mac-design-01', comment: 'IR-7', json: true, timeScale: '0.001' };
    await expect(runManualOrder('isolate', order, io, { decorateApi: refuseAfterPreflight })).rejects.toThrow(
      FatalCliError,
    );
    expect(JSON.parse(stdout)).toEqual({
      error: {
        stage: 'run',
        kind: 'token-rejected',
        message: expect.stringMatching(/refused this identity's token \(401\)/),
      },
    });
  } finally {
    sim.refuseTokens(false);
  }
});
