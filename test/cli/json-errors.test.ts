/**
 * With `--json`, a verb that ends on bad input before its work says so on stdout too, as one JSON
 * error object (docs/guide/cli.md "Pre-flight"): a script reading stdout gets JSON whatever happened.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cliIn } from './run-cli';

const dir = mkdtempSync(join(tmpdir(), 'mde-isolator-json-errors-'));
writeFileSync(join(dir, 'empty.json'), '[]');
// No settings at all: each of these must end before any is read.
const cli = cliIn(dir, {});

const badInput = (message: RegExp) => ({
  error: { stage: 'start', kind: 'bad-input', message: expect.stringMatching(message) },
});

it.each([
  [['isolate', '--machine', 'web1', '--comment', 'x'], /--machine "web1" is not an MDE device id/],
  [['release', '--host', 'web1', '--comment', ' '], /--comment is required/],
  [['release', '--host', 'web1', '--comment', 'x', '--force'], /--force needs --reason/],
  [['release', '--host', 'web1', '--comment', 'x', '--reason', 'y'], /--reason goes with --force/],
  [['isolate', '--host', 'web1', '--comment', 'x', '--override'], /--override needs --reason/],
  [['isolate', '--host', 'web1', '--comment', 'x', '--reason', 'y'], /--reason goes with --override/],
  [['isolate', '--host', 'web1', '--comment', 'x', '--contain', '--selective'], /at most one of --selective/],
  [['replay', 'empty.json'], /no dead-letter record to replay/],
])('%j --json: exit 2, the reason on stderr and as a JSON error on stdout', async (argv, message) => {
  const { code, stdout, stderr } = await cli(...argv, '--json');
  expect(code).toBe(2);
  expect(stderr).toMatch(message);
  expect(JSON.parse(stdout)).toEqual(badInput(message));
});
