/**
 * `whatif --workspace`: a policy rehearsed on 10,000 recorded SecurityAlert rows served by a loopback
 * stand-in of the Logs query API, read by the real @azure/monitor-query-logs client with a token from
 * the real @azure/identity (the simulator's managed identity endpoint, as the app signs in on Azure).
 * The history (test/support/security-alert-history.ts) fixes what each policy must decide: every
 * tenth workstation high, the next three medium, the rest low; a storm of 200 high alerts on lab
 * machines 100 ms apart, halfway through.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DeviceDifference, Rehearsal } from '../../shared/dispatch/rehearsal';
import { startSimulator } from '../../simulator/index';
import { pointIdentityAt } from '../support/identity';
import { LOGS_AUDIENCE, type LogsQueryStandIn, startLogsQueryStandIn } from '../support/logs-query-stand-in';
import { loopbackKeyPair } from '../support/loopback-authority';
import {
  labName,
  type RecordedTable,
  recordedSecurityAlerts,
  severityOfWorkstation,
  WORKSTATIONS,
  workstationName,
} from '../support/security-alert-history';
import { trustLoopback } from '../support/trust-loopback';
import { cliIn } from './run-cli';

const WORKSPACE = '7c0e3f8a-52d1-4b9e-9a3c-1f2e3d4c5b6a';
const FORBIDDEN_WORKSPACE = '0d1e2f3a-4b5c-4d6e-8f70-8192a3b4c5d6';
const MIXED_WORKSPACE = '5e6f7a8b-9c0d-4e1f-8a2b-3c4d5e6f7a8b';
const CUT_WORKSPACE = '6f7a8b9c-0d1e-4f2a-8b3c-4d5e6f7a8b9c';
const DAY_MS = 86_400_000;

/** Three recorded rows: one as recorded, one whose severity is empty, one that names no device. */
function mixedTable(table: RecordedTable): RecordedTable {
  const column = (name: string) => table.columns.findIndex((c) => c.name === name);
  const [good, noSeverity, noDevice] = table.rows.slice(0, 3).map((row) => [...row]);
  noSeverity[column('AlertSeverity')] = '';
  noDevice[column('Entities')] = '[]';
  noDevice[column('CompromisedEntity')] = '';
  return { columns: table.columns, rows: [good, noSeverity, noDevice] };
}
const STORM = 200;
const fqdn = (host: string) => `${host}.corp.contoso.example`;

/** High isolates Full, medium goes to a person; at most 50 isolations an hour. */
const STRICT = {
  version: 'strict-1',
  mode: 'dry-run',
  blastRadius: { maxIsolations: 50, windowMinutes: 60 },
  rules: [
    { name: 'high-isolate', minSeverity: 'high', action: 'isolate', isolationType: 'Full' },
    { name: 'medium-escalate', minSeverity: 'medium', action: 'escalate' },
  ],
  defaultAction: 'skip',
};
/** Medium and high isolate Selective; at most 500 an hour. */
const BROAD = {
  version: 'broad-1',
  mode: 'enforce',
  blastRadius: { maxIsolations: 500, windowMinutes: 60 },
  rules: [{ name: 'broad-medium', minSeverity: 'medium', action: 'isolate', isolationType: 'Selective' }],
  defaultAction: 'skip',
};

let dir: string;
let standIn: LogsQueryStandIn;
let simulator: Awaited<ReturnType<typeof startSimulator>>;
let restoreIdentity: () => void;
let env: Record<string, string>;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'whatif-workspace-'));
  writeFileSync(join(dir, 'strict.json'), JSON.stringify(STRICT));
  writeFileSync(join(dir, 'broad.json'), JSON.stringify(BROAD));
  const history = recordedSecurityAlerts({
    end: Date.now(),
    spanMs: 29 * DAY_MS,
    normal: 10_000 - STORM,
    storm: STORM,
  });
  expect(history.table.rows).toHaveLength(10_000);
  standIn = await startLogsQueryStandIn({
    readable: {
      [WORKSPACE]: history.table,
      [MIXED_WORKSPACE]: mixedTable(history.table),
      [CUT_WORKSPACE]: mixedTable(history.table),
    },
    forbidden: [FORBIDDEN_WORKSPACE],
    cut: [CUT_WORKSPACE],
  });
  trustLoopback(loopbackKeyPair().cert);
  simulator = await startSimulator();
  restoreIdentity = pointIdentityAt(simulator);
  env = { LOGS_QUERY_URL: standIn.url };
});
afterAll(async () => {
  restoreIdentity();
  jest.restoreAllMocks();
  await standIn.close();
  await simulator.close();
  rmSync(dir, { recursive: true, force: true });
});
beforeEach(() => {
  standIn.queries.length = 0;
});

const pipe = () => cliIn(dir, env);
const rehearsalOf = (stdout: string) =>
  JSON.parse(stdout) as Rehearsal & { alerts: number; truncated: boolean };

describe('whatif --workspace over 10,000 recorded alerts', () => {
  it('decides every alert under the policy: isolations, escalations, the breaker and the quota', async () => {
    const { code, stdout, stderr } = await pipe()(
      'whatif',
      '--workspace',
      WORKSPACE,
      '--since',
      '30d',
      '--policy',
      'strict.json',
      '-o',
      'json',
    );
    expect({ code, stderr: stderr.split('\n')[0] }).toEqual({
      code: 0,
      stderr: expect.stringMatching(
        /^policy strict-1 \(--policy strict\.json\), dry-run; nothing is posted$/,
      ),
    });
    const result = rehearsalOf(stdout);
    expect(result).toMatchObject({ alerts: 10_000, truncated: false, policyVersion: 'strict-1' });
    const byAction = (action: string) => result.devices.filter((d) => d.action === action);
    const lab = result.devices.filter((d) => d.name.startsWith('lab-'));
    // Every workstation once, by its severity; the storm's lab machines up to the breaker, the rest to a person.
    expect(result.devices).toHaveLength(WORKSTATIONS + STORM);
    const isolatedLab = lab.filter((d) => d.action === 'isolate').length;
    expect(isolatedLab).toBeGreaterThanOrEqual(48);
    expect(isolatedLab).toBeLessThanOrEqual(50);
    expect(byAction('isolate')).toHaveLength(WORKSTATIONS / 10 + isolatedLab);
    expect(byAction('escalate')).toHaveLength((WORKSTATIONS * 3) / 10 + STORM - isolatedLab);
    expect(byAction('skip')).toHaveLength((WORKSTATIONS * 6) / 10);
    expect(result.devices.find((d) => d.name === fqdn(labName(STORM - 1)))).toMatchObject({
      action: 'escalate',
      rule: 'blast-radius',
      reason: expect.stringMatching(
        /: blast-radius breaker open: 50 isolations in the last 60 min \(limit 50\); rule high-isolate would isolate it, a person must decide/,
      ),
    });
    expect(result.breaker.openings).toBe(1);
    // At most 50 calls an hour fit 100 a minute: nothing waits for the quota.
    expect(result.quota).toMatchObject({ longestWaitMs: 0 });
    expect(result.quota.isolateCalls).toBeGreaterThanOrEqual(byAction('isolate').length);
    // One query, with the Logs API's token, over the 30 days asked.
    expect(standIn.queries).toHaveLength(1);
    const [query] = standIn.queries;
    expect(query).toMatchObject({ workspace: WORKSPACE, audience: LOGS_AUDIENCE });
    expect(query.query).toMatch(
      /^SecurityAlert\n\| summarize arg_min\(TimeGenerated, \*\) by SystemAlertId\n[\s\S]*\| take 100001\n/,
    );
    const [from, to] = query.timespan.split('/').map((t) => Date.parse(t));
    expect(to - from).toBe(30 * DAY_MS);
  });

  it('with --compare, names the devices two policies decide differently, as JSON', async () => {
    const { code, stdout } = await pipe()(
      'whatif',
      '--workspace',
      WORKSPACE,
      '--policy',
      'strict.json',
      '--compare',
      'broad.json',
      '--json',
    );
    expect(code).toBe(0);
    const result = JSON.parse(stdout) as {
      base: Rehearsal;
      other: Rehearsal;
      differences: DeviceDifference[];
    };
    expect(result.base.breaker.openings).toBe(1);
    expect(result.other.breaker.openings).toBe(0);
    // The storm's second hundred waits for the first to leave the minute: 10 s in, sent at 60 s.
    expect(result.other.quota.longestWaitMs).toBe(50_000);
    const byName = new Map(result.differences.map((d) => [d.name, d]));
    // Medium workstations (escalated, now isolated), high ones (Full, now Selective), the whole storm.
    expect(result.differences).toHaveLength((WORKSTATIONS * 3) / 10 + WORKSTATIONS / 10 + STORM);
    expect(byName.get(fqdn(labName(STORM - 1)))).toMatchObject({
      base: { action: 'escalate', rule: 'blast-radius' },
      other: { action: 'isolate', isolationType: 'Selective', rule: 'broad-medium' },
    });
    expect(byName.get(fqdn(workstationName(1)))).toMatchObject({
      base: { action: 'escalate', rule: 'medium-escalate' },
      other: { action: 'isolate', isolationType: 'Selective' },
    });
    expect(byName.get(fqdn(workstationName(0)))).toMatchObject({
      base: { action: 'isolate', isolationType: 'Full' },
      other: { action: 'isolate', isolationType: 'Selective' },
    });
    expect(severityOfWorkstation(4)).toBe('Low');
    expect(byName.has(fqdn(workstationName(4)))).toBe(false);
    // Both policies rehearse the one history read.
    expect(standIn.queries).toHaveLength(1);
  });

  it('with --compare on a pipe, prints one TSV line per device, the summary on stderr', async () => {
    const { code, stdout, stderr } = await pipe()(
      'whatif',
      '--workspace',
      WORKSPACE,
      '--policy',
      'strict.json',
      '--compare',
      'broad.json',
    );
    expect(code).toBe(0);
    const [head, ...lines] = stdout.trimEnd().split('\n');
    expect(head).toBe('Device\tstrict-1\tbroad-1');
    expect(lines).toHaveLength(1_000);
    expect(lines).toContain(
      `${fqdn(labName(STORM - 1))}\tescalate, blast-radius\tisolate (Selective), broad-medium`,
    );
    expect(stderr).toMatch(/^strict-1: breaker: opened 1 time, first /m);
    expect(stderr).toMatch(/^1000 of 2200 devices decided differently$/m);
  });

  it('fits a table in 80 columns at a terminal', async () => {
    // The oldest 600 alerts keep the table short to draw; the summary lines are the longest.
    const { code, stdout } = await cliIn(dir, env, { terminal: 80 })(
      'whatif',
      '--workspace',
      WORKSPACE,
      '--policy',
      'strict.json',
      '--compare',
      'broad.json',
      '--max-alerts',
      '600',
    );
    expect(code).toBe(0);
    expect(stdout).toMatch(/^600 alerts from workspace /m);
    // The 600 oldest name 600 workstations once each: those not low differ, unless already resolved.
    const differing = [...Array(600).keys()].filter(
      (j) => severityOfWorkstation(j) !== 'Low' && j % 97 !== 0,
    );
    expect(stdout).toMatch(new RegExp(`^${differing.length} of 600 devices decided differently$`, 'm'));
    expect(stdout).toMatch(/│ ws-0001\.corp\.\S* +│ escalate,/);
    for (const line of stdout.trimEnd().split('\n')) expect(line.length).toBeLessThanOrEqual(80);
  });

  it('says when the history holds more alerts than --max-alerts, and rehearses the oldest', async () => {
    const { code, stdout, stderr } = await pipe()(
      'whatif',
      '--workspace',
      WORKSPACE,
      '--policy',
      'strict.json',
      '--max-alerts',
      '500',
      '-o',
      'json',
    );
    expect(code).toBe(0);
    expect(rehearsalOf(stdout)).toMatchObject({ alerts: 500, truncated: true });
    expect(stderr).toMatch(
      /^whatif: more than 500 alerts since \S+; the newest were left out: narrow --since or raise --max-alerts \(at most 500000\)$/m,
    );
  });
});

describe('whatif --workspace on rows it cannot use', () => {
  it('names each row no parser reads and counts alerts that name no device, rehearsing the rest', async () => {
    const { code, stdout, stderr } = await pipe()(
      'whatif',
      '--workspace',
      MIXED_WORKSPACE,
      '--policy',
      'strict.json',
      '-o',
      'json',
    );
    expect(code).toBe(0);
    expect(rehearsalOf(stdout)).toMatchObject({ alerts: 2, alertsWithoutDevice: 1, unreadableRows: 1 });
    expect(stderr).toMatch(/^whatif: row 2: \$ is a JSON object of no known alert shape\. .*$/m);
    expect(stderr).toMatch(/^devices: \d+ isolated, \d+ escalated, \d+ skipped; 1 alert named no device$/m);
  });
});

describe('whatif --workspace on an answer the API cut', () => {
  it('rehearses the rows it got and says the answer was cut', async () => {
    const { code, stdout, stderr } = await pipe()('whatif', '--workspace', CUT_WORKSPACE, '-o', 'json');
    expect(code).toBe(0);
    expect(rehearsalOf(stdout)).toMatchObject({ alerts: 2 });
    expect(stderr).toMatch(
      /^whatif: the Logs query API answered part of the query \(PartialError: Query result set has exceeded the internal data size limit 67108864 bytes \(E_QUERY_RESULT_SET_TOO_LARGE\)\.\); narrow --since or lower --max-alerts$/m,
    );
  });
});

describe('whatif --workspace refused', () => {
  it('names a workspace id that is no GUID, with where to find it, before asking anything', async () => {
    const { code, stdout, stderr } = await pipe()('whatif', '--workspace', 'law-sentinel-weu');
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toMatch(
      /^whatif: --workspace "law-sentinel-weu" is not a Log Analytics workspace id \(a GUID\): copy the Workspace ID from the workspace's Overview page, or run `az monitor log-analytics workspace show .* --query customerId -o tsv`\n$/,
    );
    expect(standIn.queries).toEqual([]);
  });

  it('names the missing role when the workspace answers 403', async () => {
    const { code, stderr } = await pipe()('whatif', '--workspace', FORBIDDEN_WORKSPACE);
    expect(code).toBe(1);
    // One line, before any output: nothing was rehearsed.
    expect(stderr).toMatch(
      new RegExp(
        `^whatif: workspace ${FORBIDDEN_WORKSPACE} refused the query \\(403 InsufficientAccessError: [^\\n]*\\): the signed-in identity needs the Log Analytics Reader role \\(or Microsoft Sentinel Reader\\) on the workspace\n$`,
      ),
    );
  });

  it('writes the refusal as JSON under -o json, for a script', async () => {
    const { code, stdout } = await pipe()('whatif', '--workspace', FORBIDDEN_WORKSPACE, '-o', 'json');
    expect(code).toBe(1);
    expect(JSON.parse(stdout)).toEqual({
      error: { stage: 'run', kind: 'forbidden', message: expect.stringContaining('Log Analytics Reader') },
    });
  });

  it('says an unknown workspace is not found', async () => {
    const { code, stderr } = await pipe()('whatif', '--workspace', '11111111-2222-4333-8444-555555555555');
    expect(code).toBe(1);
    expect(stderr).toMatch(
      /^whatif: no workspace 11111111-2222-4333-8444-555555555555 answered \(404 WorkspaceNotFoundError: /m,
    );
  });

  it('sends the token to no stand-in off loopback or over http', async () => {
    for (const url of ['https://logs.example.net', standIn.url.replace('https:', 'http:')]) {
      const { code, stderr } = await cliIn(dir, { LOGS_QUERY_URL: url })('whatif', '--workspace', WORKSPACE);
      expect(code).toBe(2);
      expect(stderr).toMatch(
        /^whatif: LOGS_QUERY_URL takes a stand-in on loopback over https .*: leave it empty to query https:\/\/api\.loganalytics\.io \(MDE_CLOUD=commercial\)\n$/,
      );
    }
    expect(standIn.queries).toEqual([]);
  });

  it('refuses the workspace flags with files, and files with --workspace', async () => {
    const compareAlone = await pipe()('whatif', '--compare', 'broad.json', 'alert.json');
    expect(compareAlone).toMatchObject({
      code: 2,
      stderr: 'whatif: --compare works with --workspace: the history it rehearses\n',
    });
    const both = await pipe()('whatif', '--workspace', WORKSPACE, 'alert.json');
    expect(both).toMatchObject({ code: 2, stderr: 'whatif: give alert files or --workspace, not both\n' });
  });
});
