import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { ALL_TENANTS_ROLE, OPERATOR_ROLE, tenantRole } from '../../shared/manual/caller';

/**
 * scripts/tenant-roles.sh against a stand-in `az` that holds the registration's app roles in a file:
 * what the script reads is what the last update wrote, so a second run sees the first one's roles.
 */
const script = join(__dirname, '..', '..', 'scripts', 'tenant-roles.sh');
const APP = '0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d';
const CONTOSO = '2F4A9C1E-7B3D-4E8A-9C21-5D6E7F8A9B0C';
const FABRIKAM = '8d1b6e3f-2a4c-4b5d-8e9f-0a1b2c3d4e5f';

const fakeAz = `#!/usr/bin/env bash
echo "$*" >> "$AZ_LOG"
case "$*" in
  "ad app show --id ${APP} --query appRoles --output json") cat "$ROLES" ;;
  "ad app update --id ${APP} --app-roles @"*) cp "$(echo "$*" | sed -E 's/.*--app-roles @([^ ]+).*/\\1/')" "$ROLES" ;;
  *) echo "unexpected az call: $*" >&2; exit 3 ;;
esac
`;

interface AppRole {
  value: string;
  id: string;
  displayName: string;
  allowedMemberTypes: string[];
  isEnabled: boolean;
}

const OPERATOR: AppRole = {
  value: OPERATOR_ROLE,
  id: '11111111-1111-4111-8111-111111111111',
  displayName: 'Isolation operator',
  allowedMemberTypes: ['User', 'Application'],
  isEnabled: true,
};

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'fake-az-'));
  writeFileSync(join(dir, 'az'), fakeAz);
  chmodSync(join(dir, 'az'), 0o755);
  writeFileSync(join(dir, 'roles.json'), JSON.stringify([OPERATOR]));
  writeFileSync(join(dir, 'calls.log'), '');
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function run(args: string[], tenants: unknown) {
  const result = spawnSync('bash', [script, ...args], {
    encoding: 'utf8',
    env: {
      PATH: `${dir}:${dirname(process.execPath)}:/usr/bin:/bin`,
      AZ_LOG: join(dir, 'calls.log'),
      ROLES: join(dir, 'roles.json'),
      MDE_TENANTS: tenants === undefined ? '' : JSON.stringify(tenants),
    },
  });
  const roles: AppRole[] = JSON.parse(readFileSync(join(dir, 'roles.json'), 'utf8'));
  const calls = readFileSync(join(dir, 'calls.log'), 'utf8').trim().split('\n').filter(Boolean);
  return { status: result.status, stdout: result.stdout, stderr: result.stderr, roles, calls };
}

const tenants = [
  { tenantId: CONTOSO, displayName: 'Contoso' },
  { tenantId: FABRIKAM, displayName: 'Fabrikam\tLtd' },
];

describe('tenant-roles.sh', () => {
  it('adds a role per tenant, as caller.ts reads them, and every tenant’s, keeping the roles there', () => {
    const first = run([APP], tenants);
    expect(first.status).toBe(0);
    const added = [ALL_TENANTS_ROLE, tenantRole(CONTOSO.toLowerCase()), tenantRole(FABRIKAM)];
    expect(first.stdout.trim().split('\n')).toEqual(added);
    expect(first.roles[0]).toEqual(OPERATOR);
    expect(first.roles.slice(1)).toEqual(
      added.map((value) =>
        expect.objectContaining({ value, isEnabled: true, allowedMemberTypes: ['User', 'Application'] }),
      ),
    );
    expect(first.roles.find((r) => r.value === tenantRole(FABRIKAM))?.displayName).toBe(
      'Isolate in Fabrikam Ltd',
    );
    expect(new Set(first.roles.map((r) => r.id)).size).toBe(first.roles.length);
  });

  it('adds only what a tenant new to the list lacks; with nothing to add, changes nothing', () => {
    run([APP], tenants.slice(0, 1));
    const before = run([APP], tenants.slice(0, 1));
    expect(before).toMatchObject({
      status: 0,
      stdout: '',
      stderr: expect.stringContaining('nothing changed'),
    });
    expect(before.calls.filter((call) => call.startsWith('ad app update'))).toHaveLength(1);
    const grown = run([APP], tenants);
    expect(grown.stdout).toBe(`${tenantRole(FABRIKAM)}\n`);
    expect(grown.roles.map((r) => r.value)).toEqual([
      OPERATOR_ROLE,
      ALL_TENANTS_ROLE,
      tenantRole(CONTOSO.toLowerCase()),
      tenantRole(FABRIKAM),
    ]);
  });

  it('refuses what is not an app id, no list and a tenant without an id with exit 2, changing nothing', () => {
    expect(run(['not-a-guid'], tenants)).toMatchObject({ status: 2, calls: [] });
    expect(run([APP], undefined)).toMatchObject({
      status: 2,
      stderr: expect.stringContaining('no tenant list'),
    });
    const bad = run([APP], [{ tenantId: 'contoso' }, ...tenants]);
    expect(bad).toMatchObject({ status: 2, stderr: expect.stringContaining('[0] needs a tenantId') });
    expect(bad.roles).toEqual([OPERATOR]);
  });
});
