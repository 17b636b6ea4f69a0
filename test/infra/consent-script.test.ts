import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { CLOUD_ENDPOINTS, MDE_CLOUDS } from '../../shared/mde/clouds';

/** scripts/tenant-consent-urls.sh: the admin consent URL per tenant of a tenant list. */
const script = join(__dirname, '..', '..', 'scripts', 'tenant-consent-urls.sh');
const APP = '6a1f0e2d-3c4b-4a59-8e7f-90a1b2c3d4e5';

function run(args: string[], tenants?: unknown) {
  const env = { ...process.env, MDE_TENANTS: tenants === undefined ? '' : JSON.stringify(tenants) };
  const result = spawnSync('bash', [script, ...args], { encoding: 'utf8', env });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('tenant-consent-urls.sh', () => {
  it("prints each tenant's admin consent URL at its own cloud's sign-in host, as clouds.ts names it", () => {
    const tenants = MDE_CLOUDS.map((cloud, i) => ({
      tenantId: `${i}0000000-0000-4000-8000-00000000000${i}`,
      displayName: `Customer ${cloud}`,
      cloud,
    }));
    const { status, stdout } = run([APP.toUpperCase()], tenants);
    expect(status).toBe(0);
    expect(stdout.trim().split('\n')).toEqual(
      tenants.map(
        (t) =>
          `${t.tenantId}\t${t.displayName}\t${CLOUD_ENDPOINTS[t.cloud].authorityHost}/${t.tenantId}/adminconsent?client_id=${APP}`,
      ),
    );
  });

  it('refuses what is not an app id, no list, and entries without a tenant id, with exit 2', () => {
    expect(run(['not-a-guid'], [])).toMatchObject({
      status: 2,
      stderr: expect.stringContaining('is not an application'),
    });
    expect(run([APP])).toMatchObject({ status: 2, stderr: expect.stringContaining('no tenant list') });
    const bad = run(
      [APP],
      [
        { tenantId: 'contoso', displayName: 'Contoso' },
        { tenantId: APP, displayName: 'Ok' },
      ],
    );
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('[0] needs a tenantId (GUID)');
    expect(bad.stdout).toContain(`${APP}\tOk\t`);
  });
});
