import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Runs infra/scripts/grant-mde-permissions.sh against a stand-in `az` first on PATH. The stand-in answers
 * the Graph reads the way a tenant would (it does not evaluate JMESPath: it answers each query it knows
 * and fails on anything else) and records every call, so the test sees what the script would change.
 */
const script = join(__dirname, '..', '..', 'infra', 'scripts', 'grant-mde-permissions.sh');
const PRINCIPAL = '11111111-2222-3333-4444-555555555555';
const DEFENDER_SP = 'aaaaaaaa-0000-0000-0000-000000000001';
const ISOLATE_ROLE = '7e4ea9d5-0000-0000-0000-00000000000a';
const READ_ROLE = 'ea8291d3-0000-0000-0000-00000000000b';

const fakeAz = (alreadyGranted: string[]) => `#!/usr/bin/env bash
echo "$*" >> "$AZ_LOG"
args="$*"
case "$args" in
  "cloud show"*) echo "https://graph.microsoft.com/" ;;
  "functionapp identity show"*) echo "${PRINCIPAL}" ;;
  *"servicePrincipals(appId='fc780465-2017-40d4-a0c5-307022471b92')"*) echo "${DEFENDER_SP}" ;;
  *"servicePrincipals/${DEFENDER_SP} "*"value=='Machine.Isolate'"*"'Application'"*) echo "${ISOLATE_ROLE}" ;;
  *"servicePrincipals/${DEFENDER_SP} "*"value=='Machine.Read.All'"*"'Application'"*) echo "${READ_ROLE}" ;;
  *"--method get"*"/appRoleAssignments"*)
    for granted in ${alreadyGranted.join(' ')}; do
      if [[ "$args" == *"appRoleId=='$granted' && resourceId=='${DEFENDER_SP}'"* ]]; then echo 1; exit 0; fi
    done
    echo 0 ;;
  *"--method post"*"/servicePrincipals/${PRINCIPAL}/appRoleAssignments"*) ;;
  *) echo "unexpected az call: $args" >&2; exit 3 ;;
esac
`;

function run(args: string[], alreadyGranted: string[] = []) {
  const dir = mkdtempSync(join(tmpdir(), 'fake-az-'));
  try {
    writeFileSync(join(dir, 'az'), fakeAz(alreadyGranted));
    chmodSync(join(dir, 'az'), 0o755);
    const log = join(dir, 'calls.log');
    writeFileSync(log, '');
    const result = spawnSync('bash', [script, ...args], {
      encoding: 'utf8',
      env: { ...process.env, PATH: `${dir}:${process.env.PATH}`, AZ_LOG: log },
    });
    const calls = readFileSync(log, 'utf8').trim().split('\n').filter(Boolean);
    return { status: result.status, stdout: result.stdout, stderr: result.stderr, calls };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const posts = (calls: string[]) => calls.filter((c) => c.includes('--method post'));

describe('grant-mde-permissions.sh', () => {
  it('grants both roles, looked up by value, to the given principal', () => {
    const { status, stdout, stderr, calls } = run([PRINCIPAL]);
    expect(stderr).toBe('');
    expect(status).toBe(0);
    expect(stdout).toContain('Machine.Isolate: granted');
    expect(stdout).toContain('Machine.Read.All: granted');
    const bodies = posts(calls).map((c) =>
      JSON.parse(c.slice(c.indexOf('--body ') + 7, c.indexOf(' --output'))),
    );
    expect(bodies).toEqual([
      { principalId: PRINCIPAL, resourceId: DEFENDER_SP, appRoleId: ISOLATE_ROLE },
      { principalId: PRINCIPAL, resourceId: DEFENDER_SP, appRoleId: READ_ROLE },
    ]);
  });

  it('keeps an existing grant and adds only the missing one', () => {
    const { status, stdout, calls } = run([PRINCIPAL], [ISOLATE_ROLE]);
    expect(status).toBe(0);
    expect(stdout).toContain('Machine.Isolate: already granted');
    expect(posts(calls)).toEqual([expect.stringContaining(READ_ROLE)]);
  });

  it('reads the principal from the function app identity', () => {
    const { status, calls } = run(['--resource-group', 'rg-soc', '--name', 'func-x']);
    expect(status).toBe(0);
    expect(calls[0]).toContain('functionapp identity show --resource-group rg-soc --name func-x');
    expect(posts(calls)).toHaveLength(2);
  });

  it('refuses a value that is not a principal id, before calling Azure', () => {
    const { status, stderr, calls } = run(['func-x']);
    expect(status).toBe(2);
    expect(stderr).toContain("'func-x' is not a principal (object) id");
    expect(calls).toEqual([]);
  });

  it('prints usage without arguments', () => {
    const { status, stderr, calls } = run([]);
    expect(status).toBe(2);
    expect(stderr).toContain('usage: grant-mde-permissions.sh <principal-object-id>');
    expect(calls).toEqual([]);
  });
});
