/**
 * `mde-isolator approvals list` lists every tenant's held isolations from the deployment's store (a real
 * Azurite): with a tenant list each row says its tenant, in the table and in JSON; without a list the
 * columns are as they were.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStateStore, readStateStorage } from '../../shared/state/settings';
import { type RunningAzurite, startAzurite } from '../../simulator/azurite';
import { cliIn } from '../cli/run-cli';
import { pendingApproval } from '../support/approvals';

const CONTOSO = '2f4a9c1e-7b3d-4e8a-9c21-5d6e7f8a9b0c';
const FABRIKAM = '8d1b6e3f-2a4c-4b5d-8e9f-0a1b2c3d4e5f';
const HELD_IN_CONTOSO = '0d0d0d0d-0000-4000-8000-0000000000c1';
const HELD_IN_FABRIKAM = '0d0d0d0d-0000-4000-8000-0000000000c2';

let azurite: RunningAzurite;
let dir: string;
let storage: Record<string, string>;

beforeAll(async () => {
  azurite = await startAzurite();
  storage = { MDE_API_URL: 'http://127.0.0.1:9', AzureWebJobsStorage: azurite.connectionString };
  const store = openStateStore(readStateStorage(storage), { getToken: async () => null });
  const createdAt = Date.now();
  for (const held of [
    pendingApproval(HELD_IN_CONTOSO, createdAt, 'drop', CONTOSO),
    pendingApproval(HELD_IN_FABRIKAM, createdAt + 1_000, 'drop', FABRIKAM),
  ])
    await store.approvals.update(held.id, () => ({ next: held, result: undefined }));
  dir = mkdtempSync(join(tmpdir(), 'mde-isolator-approvals-'));
}, 30_000);
afterAll(async () => {
  await azurite?.stop();
});

const TENANT_LIST = {
  AZURE_CLIENT_ID: '0c0ffee0-1111-4222-8333-444444444444',
  MDE_TENANT_APP_CLIENT_ID: '6a1f0e2d-3c4b-4a59-8e7f-90a1b2c3d4e5',
  MDE_TENANTS: JSON.stringify([
    { tenantId: CONTOSO, displayName: 'Contoso' },
    { tenantId: FABRIKAM, displayName: 'Fabrikam Ltd' },
  ]),
};

describe('approvals with a tenant list', () => {
  it("names each held isolation's tenant in a column", async () => {
    const run = await cliIn(dir, { ...storage, ...TENANT_LIST })('approvals', 'list', '-o', 'tsv');
    expect(run.code).toBe(0);
    const rows = run.stdout
      .trim()
      .split('\n')
      .map((line) => line.split('\t'));
    expect(rows[0]).toEqual(['Approval', 'Tenant', 'Device', 'State', 'Deadline', 'Held by', 'Reason']);
    expect(rows.slice(1).map((row) => [row[0], row[1]])).toEqual([
      [HELD_IN_FABRIKAM, 'Fabrikam Ltd'],
      [HELD_IN_CONTOSO, 'Contoso'],
    ]);
  });

  it('gives the tenant, name and id, in JSON', async () => {
    const run = await cliIn(dir, { ...storage, ...TENANT_LIST })('approvals', 'list', '-o', 'json');
    expect(run.code).toBe(0);
    const tenants = (JSON.parse(run.stdout) as { id: string; tenant?: unknown }[]).map((a) => [
      a.id,
      a.tenant,
    ]);
    expect(tenants).toEqual([
      [HELD_IN_FABRIKAM, { tenantId: FABRIKAM, displayName: 'Fabrikam Ltd' }],
      [HELD_IN_CONTOSO, { tenantId: CONTOSO, displayName: 'Contoso' }],
    ]);
  });
});

describe('approvals without a tenant list', () => {
  it('shows the columns it always showed', async () => {
    const run = await cliIn(dir, storage)('approvals', 'list', '-o', 'tsv');
    expect(run.code).toBe(0);
    expect(run.stdout.split('\n')[0]).toBe('Approval\tDevice\tState\tDeadline\tHeld by\tReason');
  });
});
