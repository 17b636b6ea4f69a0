import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RunningSimulator } from '../../simulator';
import { cliIn } from '../cli/run-cli';
import { mdeAlert } from '../support/alert-payloads';
import { startSimulatorWithIdentity } from '../support/simulator';
import { TEST_POLICY } from './harness';

const DOMAIN = 'contoso.local';

describe('mde-isolator run, isolate, release, status against the simulator', () => {
  let sim: RunningSimulator;
  let dir: string;
  let cli: ReturnType<typeof cliIn>;

  beforeAll(async () => {
    sim = await startSimulatorWithIdentity({
      lifecycle: { pendingMs: 30, inProgressMs: 30, offlineTimeoutMs: 1_000 },
    });
    dir = mkdtempSync(join(tmpdir(), 'mde-isolator-cli-'));
    writeFileSync(join(dir, 'policy.json'), JSON.stringify(TEST_POLICY));
    // A person at a 100-column terminal: tables, not TSV.
    cli = cliIn(
      dir,
      { ...sim.env(), ISOLATION_POLICY: join(dir, 'policy.json'), MDE_RATE_LIMITS: '50/500ms' },
      { terminal: 100 },
    );
  });
  afterAll(() => sim.close());

  const machine = (name: string) => sim.machines().find((m) => m.computerDnsName === name)?.id as string;

  it('runs alert files through the whole pipeline and prints one row per device', async () => {
    const finance = machine(`ws-finance-01.${DOMAIN}`);
    writeFileSync(
      join(dir, 'storm.json'),
      JSON.stringify([
        mdeAlert({ machineId: finance }),
        mdeAlert({ machineId: finance }),
        mdeAlert({ dnsName: `dc01.${DOMAIN}` }),
        mdeAlert({ dnsName: `ws-hr-02.${DOMAIN}` }, { severity: 'Low' }),
      ]),
    );
    const { code, stdout } = await cli('run', '--wide', '--time-scale', '0.001', 'storm.json');
    // dc01 is escalated to a person: not carried out.
    expect(code).toBe(3);
    const row = (device: string) => stdout.split('\n').find((line) => line.includes(device)) ?? '';
    expect(row('ws-finance-01.contoso.local')).toMatch(
      /│ isolate Full \(\S+\)\s+│ succeeded\s+│ [0-9a-f-]{36} │/,
    );
    expect(row('dc01.contoso.local')).toMatch(/escalated: /);
    expect(stdout).toMatch(/skip \(default\)/);
    expect(stdout).toMatch(/4 alert\(s\), 2 isolation request\(s\), 1 duplicate\(s\) collapsed/);
    expect(sim.actions().filter((a) => a.machineId === finance)).toHaveLength(1);
  });

  it('prints outcome records with --json and exits 1 when MDE reports the action failed', async () => {
    writeFileSync(join(dir, 'fail.json'), JSON.stringify(mdeAlert({ dnsName: `ws-fail-13.${DOMAIN}` })));
    const { code, stdout } = await cli('run', '--json', '--time-scale', '0.001', 'fail.json');
    expect(code).toBe(1);
    expect(JSON.parse(stdout).outcomes).toEqual([
      expect.objectContaining({
        outcome: 'failed',
        actionStatus: 'Failed',
        computerDnsName: `ws-fail-13.${DOMAIN}`,
      }),
    ]);
  });

  it('posts nothing with --dry-run', async () => {
    const before = sim.actions().length;
    const { code, stdout } = await cli('run', '--dry-run', '--time-scale', '0.001', 'storm.json');
    // The escalation of dc01 outranks the dry run.
    expect(code).toBe(3);
    expect(stdout).toMatch(/dry-run/);
    expect(sim.actions()).toHaveLength(before);
  });

  it('isolates and releases one device by host name, and shows the action', async () => {
    const isolated = await cli(
      'isolate',
      '--host',
      'mac-design-01',
      '--comment',
      'IR-7',
      '--by',
      'jo@contoso.com',
      '--json',
      '--time-scale',
      '0.001',
    );
    expect(isolated.code).toBe(0);
    const [record] = JSON.parse(isolated.stdout).outcomes;
    expect(record).toMatchObject({
      action: 'isolate',
      outcome: 'succeeded',
      requestedBy: { kind: 'caller', name: 'jo@contoso.com' },
    });
    const status = await cli('status', record.actionId);
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(/status\s+Succeeded/);
    // A long value wraps under itself, between words.
    expect(status.stdout).toMatch(/requestorComment {7}mde-isolator .*\n( {23}\S.*\n)* {23}\S.*IR-7/);
    const released = await cli(
      'release',
      '--host',
      'mac-design-01',
      '--comment',
      'IR-7 clean',
      // The isolating run's store ended with it: this run cannot tell the isolation is this app's.
      '--force',
      '--reason',
      'isolated by the run before',
      '--wide',
      '--time-scale',
      '0.001',
    );
    expect(released.code).toBe(0);
    expect(released.stdout).toMatch(/release \(manual\).*succeeded/);
    expect(sim.machineState(record.machineId)?.isolated).toBe(false);
  });

  it('refuses bad input with exit code 2 and a clear message', async () => {
    expect(await cli('isolate', '--machine', 'web1', '--comment', 'x')).toMatchObject({
      code: 2,
      stderr: expect.stringMatching(/not an MDE device id/),
    });
    // 32 hex is not a machine id: refused before any call, never "MDE rejected the request".
    expect(await cli('isolate', '--machine', 'ab'.repeat(16), '--comment', 'x')).toMatchObject({
      code: 2,
      stderr: expect.stringMatching(/not an MDE device id \(40 hex characters\)/),
    });
    expect(await cli('isolate', '--host', 'a', '--machine', 'ab'.repeat(20), '--comment', 'x')).toMatchObject(
      { code: 2, stderr: expect.stringMatching(/exactly one/) },
    );
    expect(await cli('run', '--policy', 'missing.json', 'storm.json')).toMatchObject({
      code: 2,
      stderr: expect.stringMatching(/cannot read policy file/),
    });
    writeFileSync(join(dir, 'notes.txt'), 'not\njson');
    const unreadable = await cli('run', 'notes.txt', 'absent.json');
    expect(unreadable.code).toBe(2);
    expect(unreadable.stderr.split('\n')).toEqual([
      expect.stringMatching(/^ENFORCE \(from the policy\)/),
      expect.stringMatching(/^notes\.txt: not JSON: .*"not json"/),
      'absent.json: cannot read (ENOENT)',
      '',
    ]);
    const callsBefore = sim.calls().length;
    expect(await cli('status', 'not-a-guid')).toMatchObject({
      code: 2,
      stderr:
        'status: "not-a-guid" is not an MDE action id: give the GUID or at least its first 4 characters\n',
    });
    expect(sim.calls()).toHaveLength(callsBefore);
    expect(await cli('isolate', '--host', 'wks-lab', '--comment', 'x', '--wait', 'soon')).toMatchObject({
      code: 2,
      stderr: expect.stringMatching(/--wait must be a positive number/),
    });
  });
});
