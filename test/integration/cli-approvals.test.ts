/**
 * `approvals list|approve|deny` on the store another process (the deployed app, here a harness runtime)
 * holds its approvals in: a real Azurite, the simulator over loopback. An approval the CLI completes is
 * decided again and posted by the CLI's own inline worker, as `isolate` posts.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStateStore, readStateStorage } from '../../shared/state/settings';
import { type RunningAzurite, startAzurite } from '../../simulator/azurite';
import { cliIn } from '../cli/run-cli';
import { mdeAlert } from '../support/alert-payloads';
import { type Harness, postsOn, startHarness, TEST_POLICY, until } from './harness';

const POLICY = {
  ...TEST_POLICY,
  protections: [
    ...TEST_POLICY.protections,
    { name: 'hyper-v-hosts', tags: ['HyperVHost'], approval: { expiresAfter: '1h', onExpiry: 'drop' } },
  ],
  rules: [
    {
      name: 'ransomware-needs-approval',
      minSeverity: 'high',
      action: 'isolate',
      approval: { expiresAfter: '30m', onExpiry: 'drop' },
    },
  ],
};

let azurite: RunningAzurite;
let h: Harness;
let cli: ReturnType<typeof cliIn>;

beforeAll(async () => {
  azurite = await startAzurite();
  const settings = { AzureWebJobsStorage: azurite.connectionString };
  const store = openStateStore(readStateStorage(settings), { getToken: async () => null });
  h = await startHarness({ policy: POLICY, store });
  cli = cliIn(mkdtempSync(join(tmpdir(), 'mde-isolator-approvals-')), {
    ...h.sim.env(),
    ...settings,
    ISOLATION_POLICY: JSON.stringify(POLICY),
    USER: 'jo',
  });
}, 60_000);
afterAll(async () => {
  await h?.close();
  await azurite?.stop();
});

/** An alert the deployed app holds for approval: answers the approval id and the machine. */
async function held(name: string): Promise<{ approvalId: string; machineId: string }> {
  const machineId = h.machineId(name);
  const intake = await h.submit(mdeAlert({ machineId }));
  const [accepted] = intake.alerts;
  if (accepted?.status !== 'accepted') throw new Error('alert refused');
  const requestId = accepted.requests[0]?.requestId as string;
  await until(() => h.outcomes.some((o) => o.requestId === requestId), 'the hold');
  return { approvalId: h.outcomes.find((o) => o.requestId === requestId)?.approvalId as string, machineId };
}

it('lists the pending approval, approves it with a reason, and the isolation is posted', async () => {
  const { approvalId, machineId } = await held('ws-hr-02.contoso.local');
  const listed = await cli('approvals', 'list', '--state', 'pending');
  expect(listed.code).toBe(0);
  expect(listed.stdout.split('\n')).toContainEqual(
    expect.stringContaining(`${approvalId}\tws-hr-02.contoso.local\tpending`),
  );

  const approved = await cli(
    'approvals',
    'approve',
    approvalId,
    '--reason',
    'IR-1042: confirmed',
    '--time-scale',
    '0.001',
  );
  expect([approved.code, approved.stderr]).toEqual([0, expect.any(String)]);
  expect(postsOn(h, machineId, 'isolate')).toHaveLength(1);
  expect(await h.runtime.store.approvals.get(approvalId)).toMatchObject({
    state: 'approved',
    votes: [{ by: 'jo', reason: 'IR-1042: confirmed' }],
  });

  const again = await cli('approvals', 'deny', approvalId, '--reason', 'too late');
  expect(again.code).toBe(3);
  expect(again.stderr).toContain(`approvals deny: approval ${approvalId} is already approved`);
}, 60_000);

// The CLI's inline queue holds the approval's deadline message, so the verb waits out --wait (a known
// limit: docs/guide/cli.md "Approvals"); the outcome is there long before.
it('isolate of a device a protection holds for approval exits 3: a person must approve it first', async () => {
  const machineId = h.machineId('hv-host-01.contoso.local');
  const { code, stdout } = await cli(
    'isolate',
    '--machine',
    machineId,
    '--comment',
    'IR-7: lateral movement',
    '--time-scale',
    '0.001',
    '--wait',
    '20',
    '-o',
    'json',
  );
  expect(code).toBe(3);
  expect(JSON.parse(stdout).outcomes).toEqual([
    expect.objectContaining({
      outcome: 'awaiting-approval',
      rule: 'hyper-v-hosts',
      approvalId: expect.any(String),
    }),
  ]);
  expect(postsOn(h, machineId, 'isolate')).toEqual([]);
}, 60_000);

it('refuses an approve without a reason, naming the flag', async () => {
  const { code, stderr } = await cli('approvals', 'approve', '5c3a4c1e-0000-4000-8000-000000000000');
  expect(code).toBe(2);
  expect(stderr).toBe('approvals approve: --reason is required; it is recorded with your name\n');
});
