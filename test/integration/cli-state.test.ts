/**
 * `isolations`, `breaker status|reset` and `cancel` read and write the store the storage settings
 * name: with AzureWebJobsStorage (here a real Azurite) the CLI sees what another process (the
 * deployed app) wrote, and a reset is recorded with who and why.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStateStore, readStateStorage } from '../../shared/state/settings';
import type { Provenance, StateStore } from '../../shared/state/store';
import { tenantTablePrefix } from '../../shared/state/table';
import type { RunningSimulator } from '../../simulator';
import {
  azuriteConnectionString,
  freeLoopbackPort,
  type RunningAzurite,
  startAzurite,
} from '../../simulator/azurite';
import { cliIn, interruptOncePosted } from '../cli/run-cli';
import { startSimulatorWithIdentity } from '../support/simulator';
import { WebhookReceiver } from '../support/webhook-receiver';
import { TEST_POLICY } from './harness';

let azurite: RunningAzurite;
let sim: RunningSimulator;
let store: StateStore;
let env: Record<string, string>;
let cwd: string;
let cli: ReturnType<typeof cliIn>;

const provenance: Provenance = {
  requestedBy: { kind: 'rule', name: 'isolate-high' },
  alertSource: 'mde-alert',
  alertId: 'da-1',
  incidentId: '42',
  incidentArmId: null,
  policyVersion: 'integration-1',
  mode: 'enforce',
  reason: 'high-severity alert on a workstation',
};

beforeAll(async () => {
  azurite = await startAzurite();
  sim = await startSimulatorWithIdentity({ lifecycle: { pendingMs: 60_000, inProgressMs: 60_000 } });
  env = {
    ...sim.env(),
    ISOLATION_POLICY: JSON.stringify(TEST_POLICY),
    AzureWebJobsStorage: azurite.connectionString,
    USER: 'jo',
  };
  // The deployed app's side: the same settings, another store instance.
  store = openStateStore(readStateStorage(env), { getToken: async () => null });
  cwd = mkdtempSync(join(tmpdir(), 'mde-isolator-state-'));
  cli = cliIn(cwd, env);
}, 30_000);
afterAll(async () => {
  await sim.close();
  await azurite?.stop();
});

const machineId = (n: number) => `${String(n).padStart(2, '0')}${'a'.repeat(38)}`;

describe('isolations', () => {
  it('lists what another process wrote to the register, filtered by state, in every format', async () => {
    await store.register.record({
      machineId: machineId(1),
      computerDnsName: 'ws-finance-01.contoso.local',
      state: 'isolated',
      requestId: 'req-1',
      reason: 'MDE reports Succeeded',
      provenance,
      action: {
        actionId: '6f1c2b3a-4d5e-4f60-8a7b-9c0d1e2f3a4b',
        type: 'Isolate',
        status: 'Succeeded',
        requestor: 'app',
        requestSource: 'PublicApi',
      },
    });
    await store.register.record({
      machineId: machineId(2),
      computerDnsName: 'web1.contoso.local',
      state: 'released',
      requestId: 'req-2',
      reason: 'released',
      provenance,
    });
    const table = await cli('isolations', '--state', 'isolated', '--wide');
    expect(table.code).toBe(0);
    expect(table.stderr.split('\n')[0]).toMatch(
      /^shared store: the app's breaker and register \(AzureWebJobsStorage\)/,
    );
    expect(table.stdout).toMatch(
      /ws-finance-01\.contoso\.local.*isolated.*isolate-high \(rule\).*6f1c2b3a-4d5e-4f60-8a7b-9c0d1e2f3a4b/,
    );
    expect(table.stdout).not.toMatch(/web1/);
    const json = JSON.parse((await cli('isolations', '--json')).stdout);
    expect(json.map((r: { state: string }) => r.state)).toEqual(['isolated', 'released']);
    const tsv = (await cli('isolations', '--output', 'tsv')).stdout.split('\n');
    expect(tsv[0]).toBe('Device\tState\tSince\tRequested by\tAction\tReason');
    expect(tsv[1].split('\t')[4]).toBe('6f1c2b3a-4d5e-4f60-8a7b-9c0d1e2f3a4b');
    expect((await cli('isolations', '--state', 'gone')).code).toBe(2);
  });

  it('ends with one line and, under -o json, the error a script reads when the store does not answer', async () => {
    const closed = azuriteConnectionString(await freeLoopbackPort());
    const run = await cliIn(cwd, { ...env, AzureWebJobsStorage: closed })('isolations', '-o', 'json');
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(
      /\nisolations: the store did not answer: .*; check AzureWebJobsStorage and try again\n$/,
    );
    expect(JSON.parse(run.stdout)).toEqual({
      error: {
        stage: 'run',
        kind: 'store-unavailable',
        message: expect.stringMatching(/^the store did not answer: /),
      },
    });
  }, 60_000);

  it('with a tenant list names the tenant read: a column that fits 80, the first field of TSV, `tenant` in JSON', async () => {
    const tenantId = '2f4a9c1e-7b3d-4e8a-9c21-5d6e7f8a9b0c';
    const listed = cliIn(
      cwd,
      {
        ...env,
        AZURE_CLIENT_ID: '0c0ffee0-1111-4222-8333-444444444444',
        MDE_TENANT_APP_CLIENT_ID: '6a1f0e2d-3c4b-4a59-8e7f-90a1b2c3d4e5',
        MDE_TENANTS: JSON.stringify([{ tenantId, displayName: 'Contoso Pharmaceuticals' }]),
      },
      { terminal: 80 },
    );
    // The tenant's register is in its own tables; the deployment's devices are not listed with it.
    const tenantStore = openStateStore(
      readStateStorage(env),
      { getToken: async () => null },
      { tablePrefix: tenantTablePrefix(tenantId) },
    );
    await tenantStore.register.record({
      machineId: machineId(3),
      computerDnsName: 'lab-ws-0042.research.contoso-pharma.local',
      state: 'isolated',
      requestId: 'req-3',
      reason: 'MDE reports Succeeded',
      provenance,
    });
    const table = await listed('isolations', '--tenant', 'Contoso Pharmaceuticals');
    expect(table.code).toBe(0);
    expect(table.stdout.split('\n')[1]).toMatch(/Tenant.*Device.*State.*Since.*Requested by.*Action/);
    expect(Math.max(...table.stdout.split('\n').map((line) => [...line].length))).toBeLessThanOrEqual(80);
    const tsv = (await listed('isolations', '--tenant', tenantId, '-o', 'tsv')).stdout.split('\n');
    expect(tsv[0]).toBe('Tenant\tDevice\tState\tSince\tRequested by\tAction\tReason');
    expect(tsv[1].split('\t')[0]).toBe('Contoso Pharmaceuticals');
    expect(tsv).toHaveLength(3);
    const json = JSON.parse((await listed('isolations', '--tenant', tenantId, '-o', 'json')).stdout);
    expect(json[0].tenant).toEqual({ tenantId, displayName: 'Contoso Pharmaceuticals' });
  });

  it("says on its first line when the store is this process's own", async () => {
    const { AzureWebJobsStorage: _shared, ...local } = env;
    const run = await cliIn(process.cwd(), local, { terminal: 80 })('isolations');
    expect(run.code).toBe(0);
    expect(run.stderr.split('\n')[0]).toMatch(/^local store: this process's own breaker and register/);
    expect(run.stdout).toBe('no device in the register\n');
  });
});

describe('breaker', () => {
  it('shows a breaker another process tripped, and a reset records who and why', async () => {
    await store.breaker.trip('one alert named 40 devices');
    const status = await cli('breaker', 'status');
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(/^breaker OPEN: .*\n {2}why: one alert named 40 devices/);
    expect((await cli('breaker', 'reset')).code).toBe(2);
    const reset = await cli('breaker', 'reset', '--reason', 'false positive, rule fixed');
    expect(reset.code).toBe(0);
    expect(reset.stdout).toMatch(/^breaker closed: 0 isolation/);
    expect(reset.stdout).toMatch(/reset \S+ by jo: false positive, rule fixed/);
    await cli('breaker', 'reset', '--reason', 'again', '--by', 'sam@contoso.com');
    const { resets } = await store.breaker.status({ limit: 10, windowMs: 600_000 });
    expect(resets.slice(0, 2)).toEqual([
      expect.objectContaining({ by: 'sam@contoso.com', reason: 'again' }),
      expect.objectContaining({ by: 'jo', reason: 'false positive, rule fixed' }),
    ]);
  });

  it('shows and resets the deployment-wide cap beside the breaker when MDE_DEPLOYMENT_MAX_ISOLATIONS sets one', async () => {
    const capped = cliIn(cwd, { ...env, MDE_DEPLOYMENT_MAX_ISOLATIONS: '5/30m' });
    const cap = { limit: 5, windowMs: 1_800_000 };
    await store.deploymentCap.trip('a storm past the cap');
    const status = await capped('breaker', 'status');
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(
      /^breaker (closed|OPEN): .*\n(.*\n)*deployment-wide cap OPEN: 0 isolation\(s\) in the last 30 min \(limit 5\), 0 being posted\n {2}why: a storm past the cap\n/,
    );
    const reset = await capped('breaker', 'reset', '--reason', 'storm understood', '-o', 'json');
    expect(reset.code).toBe(0);
    expect(JSON.parse(reset.stdout)).toMatchObject({
      open: false,
      deploymentCap: { open: false, limit: 5, windowMs: 1_800_000 },
    });
    expect((await store.deploymentCap.status(cap)).resets[0]).toMatchObject({
      by: 'jo',
      reason: 'storm understood',
    });
    // A closed cap keeps its count when the breaker beside it is reset: it goes on counting.
    for (const requestId of ['counted-1', 'counted-2']) {
      const admission = await store.deploymentCap.reserve({ requestId, manual: false }, cap);
      if (!admission.allowed) throw new Error('the cap was open');
      await store.deploymentCap.commit(admission.reservationId, `action-${requestId}`);
    }
    expect((await capped('breaker', 'reset', '--reason', 'breaker only')).code).toBe(0);
    expect(await store.deploymentCap.status(cap)).toMatchObject({ open: false, count: 2 });
    expect((await store.deploymentCap.status(cap)).resets[0]).toMatchObject({ reason: 'storm understood' });
    // Without the setting the verb is about the breaker alone, as before.
    expect(JSON.parse((await cli('breaker', 'status', '-o', 'json')).stdout)).not.toHaveProperty(
      'deploymentCap',
    );
  });

  it("tells the SOC's channels who reset it and why", async () => {
    const receiver = await WebhookReceiver.start();
    try {
      const channels = [{ name: 'soc-teams', kind: 'teams', url: receiver.url('teams') }];
      const reset = await cliIn(cwd, { ...env, NOTIFY_CHANNELS: JSON.stringify(channels) })(
        'breaker',
        'reset',
        '--reason',
        'rule fixed',
      );
      expect(reset.code).toBe(0);
      // The CLI ends only once its notification has landed.
      expect(receiver.received).toHaveLength(1);
      const card = JSON.stringify(JSON.parse(receiver.received[0].body).attachments[0].content);
      expect(card).toContain('Blast-radius breaker reset');
      expect(card).toContain('"value":"jo"');
      expect(card).toContain('"value":"rule fixed"');
      // With the deployment-wide cap open, the one reset of both says so.
      await store.deploymentCap.trip('a storm past the cap');
      const both = await cliIn(cwd, {
        ...env,
        NOTIFY_CHANNELS: JSON.stringify(channels),
        MDE_DEPLOYMENT_MAX_ISOLATIONS: '5/30m',
      })('breaker', 'reset', '--reason', 'storm understood');
      expect(both.code).toBe(0);
      const told = receiver.received
        .slice(1)
        .map((r) => JSON.stringify(JSON.parse(r.body).attachments[0].content));
      expect(told).toEqual([
        expect.stringContaining('"value":"breaker and deployment-wide cap: storm understood"'),
      ]);
    } finally {
      await receiver.close();
    }
  });
});

describe('cancel', () => {
  it("cancels this app's pending action, refuses another's unless --force, and records the reason", async () => {
    // Stops waiting once posted: the action is still Pending (60 s) for the cancel.
    const isolated = await cliIn(cwd, env, interruptOncePosted())(
      'isolate',
      '--host',
      'mac-design-01',
      '--comment',
      'IR-9',
      '--json',
    );
    expect(isolated.code).toBe(130);
    const [own] = JSON.parse(isolated.stdout).actions;
    expect((await cli('cancel', own.actionId)).code).toBe(2);
    const cancelled = await cli('cancel', own.actionId, '--reason', 'wrong device');
    expect(cancelled.code).toBe(0);
    expect(cancelled.stdout).toMatch(/Isolate action \S+ on mac-design-01\.contoso\.local: Cancelled/);
    const action = sim.actions().find((a) => a.id === own.actionId);
    expect(action).toMatchObject({
      status: 'Cancelled',
      cancellationComment: 'mde-isolator: cancel requested by jo: wrong device',
    });
    expect(sim.calls().filter((c) => c.api === 'cancel')).toHaveLength(1);
    // Final now: nothing to cancel.
    expect((await cli('cancel', own.actionId, '--reason', 'again')).code).toBe(3);
  });

  it('refuses an action posted by someone else unless --force, and says so in the comment', async () => {
    const machine = sim.machines().find((m) => m.computerDnsName === 'web10.contoso.local');
    // An analyst's action in the portal, with a comment that looks like this app's.
    const posted = sim.portalAction(String(machine?.id), 'Isolate', {
      requestor: 'analyst@contoso.com',
      comment: 'mde-isolator (enforce): isolated from the portal by an analyst',
    });
    const action = { actionId: posted.id };
    const refused = await cli('cancel', action.actionId, '--reason', 'not ours');
    expect(refused.code).toBe(3);
    expect(refused.stderr).toMatch(/not by this app; give --force with --reason/);
    const forced = await cli('cancel', action.actionId, '--reason', 'storm cleanup', '--force');
    expect(forced.code).toBe(0);
    expect(sim.actions().find((a) => a.id === action.actionId)).toMatchObject({
      status: 'Cancelled',
      cancellationComment:
        'mde-isolator: cancel (forced: not posted by this app) requested by jo: storm cleanup',
    });
  });
});

describe('action ids', () => {
  it('are taken by any unique prefix the register holds; an ambiguous one lists its matches', async () => {
    const host = 'ws-hr-02.contoso.local';
    const posted = await cliIn(cwd, env, interruptOncePosted())(
      'isolate',
      '--host',
      host,
      '--comment',
      'IR-10',
    );
    expect(posted.code).toBe(130);
    const id = (/^posted Isolate action (\S+) /m.exec(posted.stderr) as RegExpExecArray)[1];
    // What a table shows: the first 8 characters and "…".
    const status = await cli('status', `${id.slice(0, 8)}…`, '--output', 'tsv');
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(new RegExp(`^id\\t${id}$`, 'm'));

    for (const [n, actionId] of [
      [7, 'abcd1234-0000-4000-8000-000000000007'],
      [8, 'abcd5678-0000-4000-8000-000000000008'],
    ] as const)
      await store.register.record({
        machineId: machineId(n),
        state: 'isolated',
        requestId: `req-${n}`,
        reason: 'isolated',
        provenance,
        action: {
          actionId,
          type: 'Isolate',
          status: 'Succeeded',
          requestor: 'app',
          requestSource: 'PublicApi',
        },
      });
    const ambiguous = await cli('cancel', 'ABCD', '--reason', 'x');
    expect(ambiguous.code).toBe(2);
    expect(ambiguous.stderr).toMatch(
      /^cancel: abcd matches 2 actions \(abcd1234-0000-4000-8000-000000000007, abcd5678-0000-4000-8000-000000000008\): give more characters$/m,
    );
    expect((await cli('status', 'zz12')).stderr).toBe(
      'status: "zz12" is not an MDE action id: give the GUID or at least its first 4 characters\n',
    );
    const { AzureWebJobsStorage: _shared, ...local } = env;
    const unknown = await cliIn(cwd, local)('status', 'abcd1234');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(
      /^status: no action id starting with abcd1234 in this process's own register/,
    );
    // No internal name reaches the operator.
    expect(`${unknown.stderr}${ambiguous.stderr}`).not.toMatch(/getMachineAction|cancelMachineAction/);
  });
});
