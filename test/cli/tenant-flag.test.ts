/**
 * `--tenant ID|NAME` (cli/tenant-flag.ts): with a tenant list, the verbs about one tenant's devices
 * need it and resolve it by id or exact name; without a list it is refused, never ignored. Every
 * refusal is one line with the fix, exit 2, before anything is opened or asked of MDE.
 */
import { tmpdir } from 'node:os';
import { cliIn } from './run-cli';

const CONTOSO = '2f4a9c1e-7b3d-4e8a-9c21-5d6e7f8a9b0c';
const FABRIKAM = '8d1b6e3f-2a4c-4b5d-8e9f-0a1b2c3d4e5f';
const ACTION = '6f1c2b3a-4d5e-4f60-8a7b-9c0d1e2f3a4b';
const MACHINE = 'a'.repeat(40);

/** The simulator on a port nothing listens on: a refused verb must end before it asks anything. */
const NOWHERE = 'http://127.0.0.1:9';

const multiTenant = {
  MDE_API_URL: NOWHERE,
  AZURE_CLIENT_ID: '0c0ffee0-1111-4222-8333-444444444444',
  MDE_TENANT_APP_CLIENT_ID: '6a1f0e2d-3c4b-4a59-8e7f-90a1b2c3d4e5',
  MDE_TENANTS: JSON.stringify([
    { tenantId: CONTOSO, displayName: 'Contoso' },
    { tenantId: FABRIKAM, displayName: 'Fabrikam Ltd' },
  ]),
};

/** Every verb that takes --tenant, as run without one. */
const TENANT_VERBS: [string, string[]][] = [
  ['isolate', ['isolate', '--host', 'ws-01', '--comment', 'IR-1', '--enforce']],
  ['release', ['release', '--host', 'ws-01', '--comment', 'IR-1', '--enforce']],
  ['cancel', ['cancel', ACTION, '--reason', 'wrong device']],
  ['extend', ['extend', MACHINE, '--for', '4h', '--reason', 'imaging']],
  ['status', ['status', ACTION]],
  ['lookup', ['lookup', 'ws-01']],
  ['isolations', ['isolations']],
  ['audit', ['audit']],
  ['breaker status', ['breaker', 'status']],
  ['breaker reset', ['breaker', 'reset', '--reason', 'false positive']],
];

describe('--tenant with a tenant list', () => {
  const cli = cliIn(tmpdir(), multiTenant);

  it.each(TENANT_VERBS)('%s without it ends with one line naming the fix, exit 2', async (verb, argv) => {
    const run = await cli(...argv);
    expect(run.code).toBe(2);
    expect(run.stderr).toBe(
      `${verb}: this deployment serves 2 tenants (MDE_TENANTS): give --tenant ID|NAME (a tenant id or a listed displayName) to say which one\n`,
    );
    expect(run.stdout).toBe('');
  });

  it.each([
    ['an unlisted id', '11111111-2222-4333-8444-555555555555', /is neither the id nor the exact displayName/],
    ['a name in another case', 'fabrikam ltd', /is neither the id nor the exact displayName/],
  ])('refuses %s, and says so in JSON under -o json', async (_case, tenant, message) => {
    const run = await cli('status', ACTION, '--tenant', tenant, '-o', 'json');
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(new RegExp(`^status: tenant "${tenant}" ${message.source}.*\\n$`));
    expect(JSON.parse(run.stdout)).toEqual({
      error: { stage: 'start', kind: 'bad-input', message: expect.stringMatching(message) },
    });
  });

  it('takes a listed tenant by id in any case or by its exact name; isolations then shows its column', async () => {
    for (const tenant of [CONTOSO.toUpperCase(), 'Fabrikam Ltd']) {
      const run = await cli('isolations', '--tenant', tenant, '-o', 'tsv');
      expect(run.code).toBe(0);
      expect(run.stdout).toBe('Tenant\tDevice\tState\tSince\tRequested by\tAction\tReason\n');
    }
  });

  it("reads and resets a listed tenant's own breaker", async () => {
    const status = await cli('breaker', 'status', '--tenant', 'Contoso', '-o', 'json');
    expect(status.code).toBe(0);
    expect(JSON.parse(status.stdout)).toMatchObject({ open: false, count: 0 });
    const reset = await cli('breaker', 'reset', '--tenant', FABRIKAM, '--reason', 'rule fixed', '-o', 'json');
    expect(reset.code).toBe(0);
    expect(JSON.parse(reset.stdout).resets).toEqual([expect.objectContaining({ reason: 'rule fixed' })]);
  });
});

describe('breaker without --tenant, with a tenant list and a deployment-wide cap', () => {
  const cli = cliIn(tmpdir(), { ...multiTenant, MDE_DEPLOYMENT_MAX_ISOLATIONS: '50/1h' });

  it('reads and resets the cap across the tenants, and no tenant breaker', async () => {
    const status = await cli('breaker', 'status', '-o', 'json');
    expect(status.code).toBe(0);
    expect(JSON.parse(status.stdout)).toEqual({
      deploymentCap: expect.objectContaining({ open: false, count: 0, limit: 50, windowMs: 3_600_000 }),
    });
    const reset = await cli('breaker', 'reset', '--reason', 'storm understood', '--by', 'soc-lead');
    expect(reset.code).toBe(0);
    expect(reset.stdout).toMatch(
      /^deployment-wide cap closed: 0 isolation\(s\) in the last 60 min \(limit 50\), 0 being posted\n {2}reset \S+ by soc-lead: storm understood\n$/,
    );
  });
});

describe('--tenant without a tenant list', () => {
  const cli = cliIn(tmpdir(), { MDE_API_URL: NOWHERE });

  it('is refused rather than ignored: the verb would act in the identity’s own tenant', async () => {
    const run = await cli('isolate', '--host', 'ws-01', '--comment', 'IR-2', '--tenant', CONTOSO);
    expect(run.code).toBe(2);
    expect(run.stderr).toBe(
      "isolate: this deployment serves one tenant, its identity's (MDE_TENANTS is not set): leave --tenant ID|NAME out\n",
    );
  });

  it('leaves the single-tenant isolations as it was: no tenant column', async () => {
    const run = await cli('isolations', '-o', 'tsv');
    expect(run.code).toBe(0);
    expect(run.stdout).toBe('Device\tState\tSince\tRequested by\tAction\tReason\n');
  });
});
