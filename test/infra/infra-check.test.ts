import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Runs scripts/infra-check.sh (`npm run infra:check`) against a stand-in Bicep CLI that records its calls
 * and prints the diagnostics a test asks for, in the real CLI's format. CI runs the same script with the
 * real CLI (.ci/run), where its self-check shows the compiler refusing a broken file; here the plumbing is
 * checked: which files are compiled, what fails, what the allow-list lets through, and that a compiler
 * that catches nothing fails the self-check.
 */
const repoRoot = join(__dirname, '..', '..');
const script = join(repoRoot, 'scripts', 'infra-check.sh');

// FAKE_DIAGNOSTICS: lines "<file suffix>|<Error or Warning>|<code>|<message>" printed when that file is
// compiled. Self-check files get an error or warning unless FAKE_BLIND is set. Like the real CLI, a command
// takes a --pattern relative to its working directory and prints each diagnostic with the file's full path.
// The log gets one "start ..." line per CLI start and one "<command> <file>" line per file it took.
const fakeBicep = `#!/usr/bin/env bash
[[ $1 == --version ]] && { echo 'Bicep CLI version 0.0.0-fake'; exit 0; }
shopt -s globstar nullglob
command=$1 pattern=$3 outdir=\${5:-}
echo "start $command --pattern $pattern cwd=$PWD outdir=$outdir" >> "$BICEP_LOG"
status=0
for file in $pattern; do
  echo "$command $file" >> "$BICEP_LOG"
  while IFS='|' read -r suffix level code message; do
    [[ -n $suffix && $file == *"$suffix" ]] && echo "$PWD/$file(3,5) : $level $code: $message"
  done <<< "\${FAKE_DIAGNOSTICS:-}"
  if [[ -z \${FAKE_BLIND:-} ]]; then
    [[ $file == *self-check-error.bicep ]] && { echo "$PWD/$file(2,9) : Error BCP036: fake type error"; status=1; }
    [[ $file == *self-check-warning.bicep && $command == build ]] && echo "$PWD/$file(1,7) : Warning no-unused-params: fake"
  fi
done
exit $status
`;

const bash = execFileSync('bash', ['-c', 'command -v bash'], { encoding: 'utf8' }).trim();

function check(env: Record<string, string>, onlyTools?: string[]) {
  const dir = mkdtempSync(join(tmpdir(), 'fake-bicep-'));
  try {
    // Either the system's tools, or a PATH holding only the named ones (so no bicep or az can be found).
    let path = '/usr/bin:/bin';
    if (onlyTools) {
      path = join(dir, 'only');
      mkdirSync(path);
      for (const tool of onlyTools)
        symlinkSync(
          execFileSync(bash, ['-c', `command -v ${tool}`], { encoding: 'utf8' }).trim(),
          join(path, tool),
        );
    }
    const bicep = join(dir, 'bicep');
    writeFileSync(bicep, fakeBicep);
    chmodSync(bicep, 0o755);
    const log = join(dir, 'calls.log');
    writeFileSync(log, '');
    const result = spawnSync(bash, [script], {
      encoding: 'utf8',
      env: { PATH: path, HOME: dir, BICEP_BIN: bicep, BICEP_LOG: log, ...env },
    });
    const calls = readFileSync(log, 'utf8').trim().split('\n').filter(Boolean);
    return { status: result.status, stdout: result.stdout, stderr: result.stderr, calls };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('infra:check', () => {
  it('builds every Bicep file but permissions.bicep, builds the parameter file, outside the repo', () => {
    const { status, stdout, calls } = check({});
    expect(status).toBe(0);
    expect(stdout).toContain('infra:check passed');
    expect(calls).toEqual(
      expect.arrayContaining([
        'build main.bicep',
        'build modules/functionapp.bicep',
        'build modules/sentinel-playbook.bicep',
        'build-params main.bicepparam',
      ]),
    );
    expect(calls.filter((c) => c.includes('permissions.bicep'))).toEqual([]);
    for (const start of calls.filter((c) => c.startsWith('start ')))
      for (const path of start.match(/(?<=(cwd|outdir)=)\S+/g) ?? [])
        expect(path.startsWith(repoRoot)).toBe(false);
  });

  it('starts the CLI once per command for all files: two for infra/, one per self-check tree', () => {
    const { calls } = check({});
    const starts = calls.filter((c) => c.startsWith('start ')).map((c) => c.split(' cwd=')[0]);
    expect(starts.sort()).toEqual(
      [
        'start build --pattern **/*.bicep',
        'start build --pattern **/*.bicep',
        'start build --pattern **/*.bicep',
        'start build-params --pattern **/*.bicepparam',
      ].sort(),
    );
  });

  it('fails on an error, and on a warning that is not allowed', () => {
    const error = check({ FAKE_DIAGNOSTICS: 'modules/storage.bicep|Error|BCP035|missing property' });
    expect(error.status).toBe(1);
    expect(error.stdout).toContain('modules/storage.bicep(3,5) : Error BCP035: missing property');
    expect(error.stderr).toContain('infra:check FAILED');
    const warning = check({ FAKE_DIAGNOSTICS: 'modules/roles.bicep|Warning|BCP318|may be null' });
    expect(warning.status).toBe(1);
    expect(warning.stdout).toContain('modules/roles.bicep(3,5) : Warning BCP318: may be null');
  });

  it('lets through only the allowed warning, in its file and with its text', () => {
    const allowed = 'The property "location" does not exist in the resource';
    const ok = check({ FAKE_DIAGNOSTICS: `modules/functionapp.bicep|Warning|BCP187|${allowed}` });
    expect(ok.status).toBe(0);
    expect(ok.stdout).toContain(`allowed: modules/functionapp.bicep(3,5) : Warning BCP187: ${allowed}`);
    const otherProperty = check({
      FAKE_DIAGNOSTICS: 'modules/functionapp.bicep|Warning|BCP187|The property "ftpsState" does not exist',
    });
    expect(otherProperty.status).toBe(1);
    const otherFile = check({ FAKE_DIAGNOSTICS: `modules/storage.bicep|Warning|BCP187|${allowed}` });
    expect(otherFile.status).toBe(1);
  });

  it('fails its self-check when the compiler does not refuse a broken file', () => {
    const { status, stderr } = check({ FAKE_BLIND: '1' });
    expect(status).toBe(1);
    expect(stderr).toContain('self-check FAILED: a file with a deliberate error passed');
  });

  it('says how to get a Bicep CLI when none is installed', () => {
    const { status, stderr } = check({ BICEP_BIN: '' }, ['dirname', 'cat']);
    expect(status).toBe(1);
    expect(stderr).toContain('az bicep install');
    expect(stderr).toContain('scripts/install-bicep.sh');
  });
});
