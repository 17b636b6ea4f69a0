import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

/**
 * Runs infra/scripts/azd-postprovision.sh (azure.yaml's post-provision hook) against a stand-in `az` first on
 * PATH. It answers the reads the way a tenant would, holds the directory roles a test gives it
 * (FAKE_ROLES), fails the grant deployments in the order a test asks (FAKE_DEPLOYS: ok, replication,
 * denied), and records every call.
 */
const repoRoot = join(__dirname, '..', '..');
const script = join(repoRoot, 'infra', 'scripts', 'azd-postprovision.sh');
const PRINCIPAL = '11111111-2222-3333-4444-555555555555';
const APPLICATION_ADMINISTRATOR = '9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3';
const SECURITY_READER = '5d6b6bb7-de71-4623-b4af-96380a352509';

const fakeAz = `#!/usr/bin/env bash
echo "$*" >> "$AZ_LOG"
case "$*" in
  "resource list --resource-group rg-soc --resource-type Microsoft.Web/sites"*"azd-service-name"*"environment=='soc'"*) echo func-mdeiso-soc-x ;;
  "functionapp identity show --resource-group rg-soc --name func-mdeiso-soc-x"*) echo "${PRINCIPAL}" ;;
  "resource list --resource-group rg-soc --resource-type Microsoft.Storage/storageAccounts"*"environment=='soc'"*)
    echo /subscriptions/s/resourceGroups/rg-soc/providers/Microsoft.Storage/storageAccounts/stmdeisosocx ;;
  "role assignment list --scope /subscriptions/s/resourceGroups/rg-soc/providers/Microsoft.Storage/storageAccounts/stmdeisosocx --query [?principalId=='${PRINCIPAL}' && ends_with(roleDefinitionId, 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b')].createdOn"*)
    case "$FAKE_ROLE_CREATED" in
      now) date -u +%Y-%m-%dT%H:%M:%S.000000+00:00 ;;
      none) ;;
      *) echo "$FAKE_ROLE_CREATED" ;;
    esac ;;
  "cloud show"*) echo "https://graph.microsoft.com/" ;;
  "rest --method get --url https://graph.microsoft.com/v1.0/me/transitiveMemberOf/microsoft.graph.directoryRole"*)
    for role in $FAKE_ROLES; do echo "$role"; done ;;
  "deployment group create"*)
    n=$(( $(grep -c '^deployment group create' "$AZ_LOG") ))
    outcome=$(echo "$FAKE_DEPLOYS" | cut -d, -f"$n")
    case "$outcome" in
      ok) ;;
      replication) echo "ERROR: BadRequest: Not a valid reference update." >&2; exit 1 ;;
      denied) echo "ERROR: Authorization_RequestDenied: Insufficient privileges." >&2; exit 1 ;;
      *) echo "unexpected deployment $n" >&2; exit 3 ;;
    esac ;;
  "resource list"*) ;;
  *) echo "unexpected az call: $*" >&2; exit 3 ;;
esac
`;

function hook(roles: string[], deploys: string[] = []) {
  const dir = mkdtempSync(join(tmpdir(), 'fake-az-'));
  try {
    writeFileSync(join(dir, 'az'), fakeAz);
    chmodSync(join(dir, 'az'), 0o755);
    const log = join(dir, 'calls.log');
    writeFileSync(log, '');
    const result = spawnSync('bash', [script], {
      encoding: 'utf8',
      env: {
        PATH: `${dir}:/usr/bin:/bin`,
        AZ_LOG: log,
        AZURE_RESOURCE_GROUP: 'rg-soc',
        FAKE_ROLES: roles.join(' '),
        FAKE_DEPLOYS: deploys.join(','),
        MDE_GRANT_RETRY_SECONDS: '0',
      },
    });
    const calls = readFileSync(log, 'utf8').trim().split('\n').filter(Boolean);
    return { ...result, deployments: calls.filter((c) => c.startsWith('deployment group create')) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const grantDeployment = `deployment group create --resource-group rg-soc --name mde-permissions --template-file ${repoRoot}/infra/permissions.bicep --parameters principalId=${PRINCIPAL} --output none`;

describe('azd post-provision hook (MDE permission grant)', () => {
  it('deploys infra/permissions.bicep for the app identity when the user holds a granting role', () => {
    const { status, stdout, deployments } = hook([SECURITY_READER, APPLICATION_ADMINISTRATOR], ['ok']);
    expect(status).toBe(0);
    expect(deployments).toEqual([grantDeployment]);
    expect(stdout).toContain(`Machine.Isolate and Machine.Read.All granted to ${PRINCIPAL}`);
  });

  it('retries while the new identity has not replicated, then grants', () => {
    const { status, stdout, deployments } = hook(
      [APPLICATION_ADMINISTRATOR],
      ['replication', 'replication', 'ok'],
    );
    expect(status).toBe(0);
    expect(deployments).toHaveLength(3);
    expect(stdout).toContain('has not replicated in Entra ID yet');
  });

  it('stops retrying after five replication failures, and tells what to run', () => {
    const { status, stderr, deployments } = hook([APPLICATION_ADMINISTRATOR], Array(6).fill('replication'));
    expect(status).toBe(1);
    expect(deployments).toHaveLength(5);
    expect(stderr).toContain('Not a valid reference update');
    expect(stderr).toContain(`--parameters principalId=${PRINCIPAL}`);
  });

  it('does not retry another failure', () => {
    const { status, stderr, deployments } = hook([APPLICATION_ADMINISTRATOR], ['denied', 'ok']);
    expect(status).toBe(1);
    expect(deployments).toHaveLength(1);
    expect(stderr).toContain('Authorization_RequestDenied');
  });

  it('without a granting role, deploys nothing and prints the command an administrator runs', () => {
    const { status, stdout, deployments } = hook([SECURITY_READER]);
    expect(status).toBe(0);
    expect(deployments).toEqual([]);
    expect(stdout).toContain('holds no active Entra role that may assign app roles');
    expect(stdout).toContain(
      `az deployment group create --resource-group rg-soc --template-file infra/permissions.bicep --parameters principalId=${PRINCIPAL}`,
    );
  });
});

const predeployScript = join(repoRoot, 'infra', 'scripts', 'azd-predeploy.sh');
const fakeSleep = `#!/usr/bin/env bash
echo "$1" >> "$PAUSES"
`;

/** Runs the pre-deploy hook with the app identity's storage role created at FAKE_ROLE_CREATED. */
function predeploy(roleCreated: string, env: Record<string, string> = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'fake-az-'));
  try {
    writeFileSync(join(dir, 'az'), fakeAz);
    writeFileSync(join(dir, 'sleep'), fakeSleep);
    chmodSync(join(dir, 'az'), 0o755);
    chmodSync(join(dir, 'sleep'), 0o755);
    for (const file of ['calls.log', 'pauses']) writeFileSync(join(dir, file), '');
    const started = Date.now();
    const result = spawnSync('bash', [predeployScript], {
      encoding: 'utf8',
      env: {
        PATH: `${dir}:${dirname(process.execPath)}:/usr/bin:/bin`,
        AZ_LOG: join(dir, 'calls.log'),
        PAUSES: join(dir, 'pauses'),
        AZURE_RESOURCE_GROUP: 'rg-soc',
        FAKE_ROLE_CREATED: roleCreated,
        ...env,
      },
    });
    const pauses = readFileSync(join(dir, 'pauses'), 'utf8').split('\n').filter(Boolean).map(Number);
    return { ...result, pauses, elapsedSeconds: Math.ceil((Date.now() - started) / 1000) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('azd pre-deploy hook (the storage role the package upload needs)', () => {
  it('waits out the 10 minutes a storage role created just now can take to apply', () => {
    const { status, stdout, pauses, elapsedSeconds } = predeploy('now');
    expect(status).toBe(0);
    expect(pauses).toHaveLength(1);
    // The role was created during the run: the wait is 600 s less the seconds the run took.
    expect(pauses[0]).toBeLessThanOrEqual(600);
    expect(pauses[0]).toBeGreaterThanOrEqual(600 - elapsedSeconds);
    expect(stdout).toContain('can take up to 10 minutes to apply');
  });

  it('goes straight on when the role is older than 10 minutes', () => {
    const { status, stdout, pauses } = predeploy('2026-01-01T00:00:00.000000+00:00');
    expect(status).toBe(0);
    expect(pauses).toEqual([]);
    expect(stdout).toBe('');
  });

  it('finds the app and the storage account of its own azd environment, not another in the group', () => {
    const { status, stderr } = predeploy('2026-01-01T00:00:00.000000+00:00', { AZURE_ENV_NAME: 'soc-test' });
    expect(status).not.toBe(0);
    expect(stderr).toContain("no function app of azd environment 'soc-test' in rg-soc");
  });

  it('follows MDE_ISOLATOR_ENVIRONMENT_NAME over the azd name, as infra/main.bicepparam does', () => {
    const { status, stderr } = predeploy('2026-01-01T00:00:00.000000+00:00', {
      AZURE_ENV_NAME: 'dev',
      MDE_ISOLATOR_ENVIRONMENT_NAME: 'soc',
    });
    expect(stderr).toBe('');
    expect(status).toBe(0);
  });

  it('refuses an environment name that cannot be a resource name, before asking Azure', () => {
    const { status, stderr } = predeploy('now', { AZURE_ENV_NAME: "x'] | [0]" });
    expect(status).not.toBe(0);
    expect(stderr).toContain('is not 2 to 12 letters, digits and hyphens');
  });

  it('warns, and lets azd go on, when the creation time cannot be read', () => {
    const { status, stderr, pauses } = predeploy('yesterday');
    expect(status).toBe(0);
    expect(pauses).toEqual([]);
    expect(stderr).toContain("cannot read the storage role's creation time 'yesterday'");
  });

  it('warns, and lets azd go on, when the app identity has no storage role there', () => {
    const { status, stderr, pauses } = predeploy('none');
    expect(status).toBe(0);
    expect(pauses).toEqual([]);
    expect(stderr).toContain('no Storage Blob Data Owner role');
  });
});
