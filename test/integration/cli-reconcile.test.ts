/**
 * `mde-isolator reconcile [--now]` on the app's storage (a real Azurite): the latest report another
 * process wrote, or one run here; every format fits a script.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStateStore, readStateStorage } from '../../shared/state/settings';
import type { StateStore } from '../../shared/state/store';
import { type RunningSimulator, SYSTEM_IDENTITY_CLIENT_ID } from '../../simulator';
import { type RunningAzurite, startAzurite } from '../../simulator/azurite';
import { cliIn } from '../cli/run-cli';
import { startSimulatorWithIdentity } from '../support/simulator';
import { TEST_POLICY, until } from './harness';

let azurite: RunningAzurite;
let sim: RunningSimulator;
let store: StateStore;
let cli: ReturnType<typeof cliIn>;

beforeAll(async () => {
  azurite = await startAzurite();
  sim = await startSimulatorWithIdentity({ lifecycle: { pendingMs: 5, inProgressMs: 5 } });
  const env = {
    ...sim.env(),
    ISOLATION_POLICY: JSON.stringify(TEST_POLICY),
    AzureWebJobsStorage: azurite.connectionString,
    USER: 'jo',
    COLUMNS: '80',
  };
  store = openStateStore(readStateStorage(env), { getToken: async () => null });
  cli = cliIn(mkdtempSync(join(tmpdir(), 'mde-isolator-reconcile-')), env, { terminal: 80 });
}, 30_000);
afterAll(async () => {
  await sim.close();
  await azurite?.stop();
});

it('says when no reconciliation has run yet', async () => {
  const table = await cli('reconcile');
  expect(table).toMatchObject({ code: 0, stdout: '' });
  expect(table.stderr).toMatch(/no reconciliation has run yet: .* run one here with --now/);
  expect(JSON.parse((await cli('reconcile', '--json')).stdout)).toBeNull();
});

it('runs one with --now: a release in the portal is found, classified and corrected in the shared register', async () => {
  const machine = sim.machines().find((m) => m.computerDnsName === 'ws-hr-02.contoso.local');
  if (!machine) throw new Error('curated machine missing');
  const ours = sim.portalAction(machine.id, 'Isolate', {
    requestor: SYSTEM_IDENTITY_CLIENT_ID,
    comment: 'mde-isolator',
  });
  await until(() => sim.machineState(machine.id)?.isolated === true);
  await store.register.record({
    machineId: machine.id,
    computerDnsName: machine.computerDnsName,
    state: 'isolated',
    requestId: 'req-cli-1',
    reason: 'MDE reports Succeeded',
    provenance: {
      requestedBy: { kind: 'rule', name: 'isolate-high' },
      alertSource: 'mde-alert',
      alertId: 'da-1',
      incidentId: null,
      incidentArmId: null,
      policyVersion: 'integration-1',
      mode: 'enforce',
      reason: 'high-severity alert',
    },
    action: {
      actionId: ours.id,
      type: 'Isolate',
      status: 'Succeeded',
      requestor: SYSTEM_IDENTITY_CLIENT_ID,
      requestSource: 'PublicApi',
    },
  });
  sim.portalAction(machine.id, 'Unisolate', { requestor: 'analyst@contoso.com', comment: 'false positive' });
  await until(() => sim.machineState(machine.id)?.isolated === false);

  const run = await cli('reconcile', '--now');
  expect(run.code).toBe(0);
  expect(run.stderr.replace(/\s+/g, ' ')).toMatch(
    /reconciliation \S+ \(cli: jo\) at .*: 1 device in the register \(1 held isolated\), 2 MDE actions read since .*; 1 drifted \(released 1\)/,
  );
  expect(run.stdout).toMatch(
    /│ ws-hr-02\.contoso\.loc… │ released │ released │ released by\s*│\n│\s*│\s*│\s*│ analyst@contoso\.com/,
  );
  for (const line of run.stdout.split('\n')) expect(line.length).toBeLessThanOrEqual(80);
  expect((await store.register.get(machine.id))?.state).toBe('released');

  // Read again by another invocation, from the shared store: JSON and TSV.
  const json = JSON.parse((await cli('reconcile', '--output', 'json')).stdout);
  expect(json).toMatchObject({
    driftCount: 1,
    byKind: { released: 1 },
    drifts: [{ kind: 'released', actor: 'person' }],
  });
  const tsv = (await cli('reconcile', '--output', 'tsv')).stdout.split('\n');
  expect(tsv[0]).toBe('Device\tDrift\tNow\tReason');
  expect(tsv[1].split('\t').slice(0, 3)).toEqual(['ws-hr-02.contoso.local', 'released', 'released']);
});
