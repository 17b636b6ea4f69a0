/**
 * Every verb's output fits the terminal (issue 26, item 3): at 80 and 120 columns no stdout line is
 * wider, tables drop or shorten columns rather than overflow, and no cell is broken inside a word.
 * The register is a real Azurite store, so `isolations` lists what the dispatching verbs wrote.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type RunningAzurite, startAzurite } from '../../simulator/azurite';
import { cliIn, interruptOncePosted } from '../cli/run-cli';
import { FIXTURES_DIR } from '../fixtures';
import { mdeAlert } from '../support/alert-payloads';
import { endHeldActions, type Harness, HELD_ACTIONS, startHarness, TEST_POLICY } from './harness';

const DOMAIN = 'contoso.local';
const FAST = ['--time-scale', '0.001'];

let azurite: RunningAzurite;
let h: Harness;
let dir: string;
let env: Record<string, string>;
/** An isolation of web1 this app posted (held Pending by the simulator until endHeldActions). */
let postedId: string;

const widest = (text: string) => Math.max(0, ...text.split('\n').map((line) => [...line].length));

/** The id of the action the CLI posted for `host`, stopping its wait once posted. */
async function postedFor(host: string): Promise<string> {
  const run = await cliIn(dir, env, interruptOncePosted())(
    'isolate',
    '--host',
    host,
    '--comment',
    'IR-4711: beaconing to a known C2 domain, seen by three sensors',
  );
  expect(run.code).toBe(130);
  return (/^posted Isolate action (\S+) /m.exec(run.stderr) as RegExpExecArray)[1];
}

beforeAll(async () => {
  azurite = await startAzurite();
  h = await startHarness({ simulator: HELD_ACTIONS, env: { AzureWebJobsStorage: azurite.connectionString } });
  dir = mkdtempSync(join(tmpdir(), 'mde-isolator-widths-'));
  env = {
    ...h.sim.env(),
    ISOLATION_POLICY: JSON.stringify(TEST_POLICY),
    MDE_RATE_LIMITS: '50/500ms',
    AzureWebJobsStorage: azurite.connectionString,
    USER: 'jo',
  };
  writeFileSync(
    join(dir, 'alerts.json'),
    JSON.stringify([`web1.${DOMAIN}`, `dc01.${DOMAIN}`].map((dnsName) => mdeAlert({ dnsName }))),
  );
  postedId = await postedFor(`web1.${DOMAIN}`);
  // Ended: a CLI on this store resumes following what the ledger holds open, and must not wait on it.
  endHeldActions(h);
  // A dead-letter record to replay: every POST of this isolation failed.
  h.sim.setFaults({ serverErrorRate: 1, apis: ['isolate'] });
  await h.submit(mdeAlert({ machineId: h.machineId(`ws-finance-01.${DOMAIN}`) }));
  await h.settle();
  h.sim.setFaults({});
  const records = h.runtime.inline?.deadLetters ?? [];
  expect(records).toHaveLength(1);
  writeFileSync(join(dir, 'dead.jsonl'), `${JSON.stringify(records[0])}\n`);
}, 60_000);
afterAll(async () => {
  await h.close();
  await azurite?.stop();
});

/** An analyst's action, Pending, for `cancel --force` to cancel. */
function analystAction(): string {
  return h.sim.portalAction(h.machineId(`mac-design-01.${DOMAIN}`), 'Isolate', {
    requestor: 'analyst@contoso.com',
    comment: 'analyst: contain',
  }).id;
}

/** Each verb with arguments that give it something to print. */
const VERBS: [string, () => string[]][] = [
  [
    'whatif',
    () => [
      'whatif',
      join(FIXTURES_DIR, '01-sentinel-incident-xdr-single-host.json'),
      join(FIXTURES_DIR, '11-graph-alert-v2-device-evidence.json'),
    ],
  ],
  ['run', () => ['run', '--dry-run', ...FAST, 'alerts.json']],
  [
    'isolate',
    () => [
      'isolate',
      '--host',
      `dc01.${DOMAIN}`,
      '--comment',
      'IR-4711: lateral movement from the finance subnet',
      ...FAST,
    ],
  ],
  [
    'release',
    () => [
      'release',
      '--host',
      `web1.${DOMAIN}`,
      '--comment',
      'IR-4711: reimaged and cleared',
      '--dry-run',
      ...FAST,
    ],
  ],
  ['status', () => ['status', postedId.slice(0, 8)]],
  ['lookup', () => ['lookup', 'kiosk-12']],
  ['cancel', () => ['cancel', analystAction(), '--reason', 'wrong device', '--force', '--output', 'table']],
  ['replay', () => ['replay', '--dry-run', ...FAST, 'dead.jsonl']],
  ['isolations', () => ['isolations']],
  ['breaker status', () => ['breaker', 'status']],
  ['doctor', () => ['doctor']],
];

describe.each([80, 120])('at %i columns', (columns) => {
  it.each(VERBS)('%s fits, and so does its --help', async (verb, argv) => {
    const cli = cliIn(dir, env, { terminal: columns });
    const run = await cli(...argv());
    expect(run.code).toBeLessThan(5);
    expect(run.stdout).not.toBe('');
    expect(widest(run.stdout)).toBeLessThanOrEqual(columns);
    const help = await cli(...verb.split(' '), '--help');
    expect(widest(help.stdout)).toBeLessThanOrEqual(Math.max(80, columns));
  });
});

it('a table at 80 columns drops optional columns, shortens ids and shows local times; a pipe gets TSV', async () => {
  const table = await cliIn(dir, env, { terminal: 80 })('isolations');
  const head = table.stdout.split('\n')[1];
  expect(head).toMatch(/Device.*State.*Since.*Requested by.*Action/);
  expect(head).not.toMatch(/Reason/);
  expect(table.stdout).toContain(`${postedId.slice(0, 8)}…`);
  expect(table.stdout).not.toContain(postedId);
  expect(table.stdout).toMatch(/\b\d{4}-\d\d-\d\d \d\d:\d\d\b/);
  const wide = await cliIn(dir, env, { terminal: 120 })('isolations');
  expect(wide.stdout.split('\n')[1]).toMatch(/Reason/);
  const piped = await cliIn(dir, env)('isolations');
  expect(piped.stdout.split('\n')[0]).toBe('Device\tState\tSince\tRequested by\tAction\tReason');
  expect(piped.stdout).toContain(`\t${postedId}\t`);
  expect(piped.stdout).not.toMatch(/[│┌└]/);
});

it('doctor -o json: one object per check, with its result and what it found', async () => {
  const run = await cliIn(dir, env)('doctor', '-o', 'json');
  expect(run.code).toBe(0);
  const checks = JSON.parse(run.stdout);
  expect(checks.map((c: { check: string; result: string }) => [c.check, c.result])).toEqual([
    ['settings', 'pass'],
    ['store', 'pass'],
    ['token', 'pass'],
    ['MDE API', 'pass'],
    ['queue', 'skip'],
    ['deployed app', 'skip'],
  ]);
  expect(checks[2].detail).toMatch(/application permissions Machine\.Isolate/);
  const picked = await cliIn(dir, env)('doctor', '-q', 'check');
  expect(JSON.parse(picked.stdout)[0]).toEqual({ check: 'settings' });
});
