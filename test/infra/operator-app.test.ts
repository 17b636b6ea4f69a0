import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

/**
 * Runs infra/scripts/create-operator-app.sh (the app registration for Entra sign-in) against a stand-in `az`
 * that records every call and keeps the app roles it was given, so a test can read what was asked of Entra.
 */
const script = join(__dirname, '..', '..', 'infra', 'scripts', 'create-operator-app.sh');
const APP_ID = '0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d';

const fakeAz = `#!/usr/bin/env bash
echo "$*" >> "$AZ_LOG"
case "$*" in
  "ad app list --display-name mde-isolator-operators"*) if [[ -n $FAKE_EXISTING ]]; then echo "${APP_ID}"; fi ;;
  "ad app show --id ${APP_ID} --query length(appRoles[?value=='Isolation.Operator'])"*) echo "$FAKE_EXISTING_ROLES" ;;
  "ad app show --id ${APP_ID} --query length(appRoles[?value=='Isolation.Approver'])"*) echo "$FAKE_EXISTING_APPROVER" ;;
  "ad app create --display-name mde-isolator-operators --app-roles @"*)
    cp "$(echo "$*" | sed -E 's/.*--app-roles @([^ ]+).*/\\1/')" "$ROLES_SEEN"; echo "${APP_ID}" ;;
  "cloud show"*) echo "https://graph.microsoft.com/" ;;
  "ad sp show"*) exit 3 ;;
  "ad app update"* | "rest --method patch"* | "ad sp create"* | "ad sp update"*) ;;
  *) echo "unexpected az call: $*" >&2; exit 3 ;;
esac
`;

function create(env: Record<string, string> = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'fake-az-'));
  try {
    writeFileSync(join(dir, 'az'), fakeAz);
    chmodSync(join(dir, 'az'), 0o755);
    writeFileSync(join(dir, 'calls.log'), '');
    const result = spawnSync('bash', [script], {
      encoding: 'utf8',
      env: {
        PATH: `${dir}:${dirname(process.execPath)}:/usr/bin:/bin`,
        AZ_LOG: join(dir, 'calls.log'),
        ROLES_SEEN: join(dir, 'roles.json'),
        FAKE_EXISTING: '',
        FAKE_EXISTING_ROLES: '1',
        FAKE_EXISTING_APPROVER: '1',
        ...env,
      },
    });
    const calls = readFileSync(join(dir, 'calls.log'), 'utf8').trim().split('\n').filter(Boolean);
    let roles: unknown = null;
    try {
      roles = JSON.parse(readFileSync(join(dir, 'roles.json'), 'utf8'));
    } catch {
      roles = null;
    }
    return { ...result, calls, roles };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const V2_TOKENS = `rest --method patch --url https://graph.microsoft.com/v1.0/applications(appId='${APP_ID}') --headers Content-Type=application/json --body {"api":{"requestedAccessTokenVersion":2}} --output none`;

describe('infra/scripts/create-operator-app.sh', () => {
  it('creates the registration with the operator and approver roles, its URI, v2 tokens and assignment required', () => {
    const { status, stdout, stderr, calls, roles } = create();
    expect(stderr).toBe(`created app registration mde-isolator-operators (${APP_ID})\n`);
    expect(status).toBe(0);
    expect(stdout.trim()).toBe(APP_ID);
    expect(roles).toEqual([
      expect.objectContaining({
        allowedMemberTypes: ['User', 'Application'],
        value: 'Isolation.Operator',
        isEnabled: true,
        id: expect.stringMatching(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/),
      }),
      // People only: an approval is a person's judgement.
      expect.objectContaining({ allowedMemberTypes: ['User'], value: 'Isolation.Approver', isEnabled: true }),
    ]);
    expect(calls).toEqual(
      expect.arrayContaining([
        `ad app update --id ${APP_ID} --identifier-uris api://${APP_ID}`,
        // Easy Auth validates the v2.0 issuer (infra/modules/entra-auth.bicep): v1 tokens would be refused.
        V2_TOKENS,
        `ad sp create --id ${APP_ID} --output none`,
        `ad sp update --id ${APP_ID} --set appRoleAssignmentRequired=true`,
      ]),
    );
  });

  it('completes an existing registration of that name instead of creating a second one', () => {
    const { status, calls } = create({ FAKE_EXISTING: 'yes' });
    expect(status).toBe(0);
    expect(calls.filter((c) => c.startsWith('ad app create'))).toEqual([]);
    expect(calls).toContain(V2_TOKENS);
  });

  it('names the approver role an existing registration lacks, and completes it', () => {
    const { status, stderr } = create({ FAKE_EXISTING: 'yes', FAKE_EXISTING_APPROVER: '0' });
    expect(status).toBe(0);
    expect(stderr).toContain('has no Isolation.Approver app role: add it for approvals');
  });

  it('stops on an existing registration without the operator role', () => {
    const { status, stderr, calls } = create({ FAKE_EXISTING: 'yes', FAKE_EXISTING_ROLES: '0' });
    expect(status).toBe(1);
    expect(stderr).toContain('exists without the Isolation.Operator app role');
    expect(calls.filter((c) => c.startsWith('rest'))).toEqual([]);
  });
});
