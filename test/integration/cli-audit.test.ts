/**
 * `mde-isolator audit` reads the store the app writes: with AzureWebJobsStorage (a real Azurite) the
 * CLI sees the history another process wrote, in every format (CSV too), within 80 columns, and refuses a bad
 * flag in one line with exit 2.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStateStore, readStateStorage } from '../../shared/state/settings';
import type { RunningSimulator } from '../../simulator';
import { type RunningAzurite, startAzurite } from '../../simulator/azurite';
import { cliIn } from '../cli/run-cli';
import { dayOfHistory } from '../support/day-of-history';
import { startSimulatorWithIdentity } from '../support/simulator';
import { TEST_POLICY } from './harness';

let azurite: RunningAzurite;
let sim: RunningSimulator;
let cli: ReturnType<typeof cliIn>;

beforeAll(async () => {
  azurite = await startAzurite();
  sim = await startSimulatorWithIdentity();
  const env = {
    ...sim.env(),
    ISOLATION_POLICY: JSON.stringify(TEST_POLICY),
    AzureWebJobsStorage: azurite.connectionString,
    COLUMNS: '80',
  };
  // The deployed app's side, on its own clock: the day ends two hours before the CLI reads it.
  await dayOfHistory(Date.now() - 26 * 3_600_000, (clock) =>
    openStateStore(readStateStorage(env), { getToken: async () => null }, { clock }),
  );
  cli = cliIn(mkdtempSync(join(tmpdir(), 'mde-isolator-audit-')), env, { terminal: 80 });
}, 30_000);
afterAll(async () => {
  await sim.close();
  await azurite?.stop();
});

describe('audit', () => {
  it('prints who isolated and released which device, within 80 columns', async () => {
    const { code, stdout } = await cli('audit', '--since', '2d');
    expect(code).toBe(0);
    // Cells wrap within the table: each fact is looked for in its row's first line.
    expect(stdout).toMatch(/│ ws-finance-01… │ released +│ jo@contoso\.com /);
    expect(stdout).toMatch(/│ web1\.contoso\.… +│ isolating +│ isolate-high /);
    for (const line of stdout.split('\n')) expect(line.length).toBeLessThanOrEqual(80);
  });

  it('answers JSON and TSV for scripts, filtered by device', async () => {
    const json = await cli('audit', '--since', '2d', '--device', 'web1.contoso.local', '--json');
    expect(JSON.parse(json.stdout)).toMatchObject({
      count: 2,
      events: [{ state: 'isolated' }, { state: 'isolating' }],
    });
    const tsv = await cli('audit', '--since', '2d', '--limit', '1', '--output', 'tsv');
    expect(tsv.stdout.trim().split('\n')).toHaveLength(2);
    expect(tsv.stderr).toMatch(/more happened than shown/);
  });

  it('answers RFC 4180 CSV, a header line and one record per event, each ended by CRLF', async () => {
    const json = JSON.parse((await cli('audit', '--since', '2d', '--json')).stdout) as { count: number };
    const { code, stdout } = await cli('audit', '--since', '2d', '-o', 'csv');
    expect(code).toBe(0);
    expect(stdout.endsWith('\r\n')).toBe(true);
    const records = stdout.slice(0, -2).split('\r\n');
    expect(records[0]).toBe('When,Device,State,By,Reason');
    expect(records).toHaveLength(json.count + 1);
    expect(records).toContainEqual(
      expect.stringMatching(/^[^,]+,ws-finance-01[^,]*,released,jo@contoso\.com \(caller\),/),
    );
  });

  it('refuses a window longer than the register keeps, in one line, exit 2', async () => {
    const { code, stderr } = await cli('audit', '--since', '400d');
    expect(code).toBe(2);
    expect(stderr.trim().split('\n').at(-1)).toMatch(/^audit: --since: .*at most 90d/);
  });
});
