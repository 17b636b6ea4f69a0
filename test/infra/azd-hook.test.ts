import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

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
  "resource list --resource-group rg-soc --resource-type Microsoft.Web/sites"*"azd-service-name"*) echo func-mdeiso-soc-x ;;
  "functionapp identity show --resource-group rg-soc --name func-mdeiso-soc-x"*) echo "${PRINCIPAL}" ;;
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
