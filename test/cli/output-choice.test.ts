/**
 * How any verb using cli/output.ts prints (issue 26, item 3): `-o` for `--output`, TSV without
 * borders on a pipe and a table on a terminal, `-q` keeping only the named JSON fields (dotted paths
 * through arrays), and a bad field list refused before any work.
 */
import { FIXTURES_DIR } from '../fixtures';
import { cliIn } from './run-cli';

const FILE = '10-mde-api-alert-medium.json';

it('prints TSV on a pipe and a table on a terminal; -o chooses either way', async () => {
  const piped = await cliIn(FIXTURES_DIR, {})('whatif', FILE);
  expect(piped.stdout.split('\n')[0]).toBe('File\tAlert\tDevice\tDecision\tReason');
  expect(piped.stdout).not.toMatch(/[│┌└]/);
  const table = await cliIn(FIXTURES_DIR, {}, { terminal: 80 })('whatif', FILE);
  expect(table.stdout).toMatch(/^┌/m);
  expect((await cliIn(FIXTURES_DIR, {})('whatif', '-o', 'table', FILE)).stdout).toMatch(/^┌/m);
  expect((await cliIn(FIXTURES_DIR, {}, { terminal: 80 })('whatif', '-o', 'tsv', FILE)).stdout).toBe(
    piped.stdout,
  );
});

it('-q keeps only the named fields, through arrays, and says which asked-for field is not there', async () => {
  const cli = cliIn(FIXTURES_DIR, {});
  const full = JSON.parse((await cli('whatif', '-o', 'json', FILE)).stdout);
  const picked = await cli('whatif', '-q', 'alertId,decisions.rule,decisions.device.mdeDeviceId', FILE);
  expect(picked.code).toBe(0);
  expect(JSON.parse(picked.stdout)).toEqual([
    {
      alertId: full[0].alertId,
      decisions: full[0].decisions.map((d: { rule: string; device: { mdeDeviceId?: string } }) => ({
        rule: d.rule,
        device: d.device.mdeDeviceId === undefined ? {} : { mdeDeviceId: d.device.mdeDeviceId },
      })),
    },
  ]);
  const unknown = await cli('whatif', '-q', 'alertId,nosuch', FILE);
  expect(unknown.code).toBe(0);
  expect(unknown.stderr).toMatch(/^--query: no field nosuch here; fields: .*\balertId\b/m);
  expect(JSON.parse(unknown.stdout)).toEqual([{ alertId: full[0].alertId }]);
});

it('refuses a field list that is not one (exit 2), before reading anything', async () => {
  const run = await cliIn(FIXTURES_DIR, {})('whatif', '-q', 'decisions[0].rule', FILE);
  expect(run.code).toBe(2);
  expect(run.stderr).toMatch(/"decisions\[0\]\.rule" is not a field name or dotted path/);
  expect(run.stdout).toBe('');
});

it.each([
  'whatif',
  'run',
  'isolate',
  'release',
  'status',
  'lookup',
  'cancel',
  'replay',
  'isolations',
  'breaker',
  'doctor',
])('%s --help shows examples and the exit codes (0)', async (verb) => {
  const run = await cliIn(FIXTURES_DIR, {})(verb, '--help');
  expect(run.code).toBe(0);
  expect(run.stdout).toMatch(new RegExp(`\\nExamples:\\n {2}\\$ mde-isolator ${verb}\\b`));
  expect(run.stdout).toMatch(/\nExit codes:\n {2}0 {4}done: .*dry run\n/);
  expect(run.stdout).toMatch(/^ {2}4 {4}still running in MDE when --wait ended/m);
});
