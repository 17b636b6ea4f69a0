/**
 * The CLI does what the manual API does (issue 26, item 2): `isolate --override --reason` waives a
 * protection, `--contain` contains a device MDE lists as not onboarded, an escalation names the flag
 * that acts on it, and an action already under way is reported as followed the moment it is adopted.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RunningSimulator } from '../../simulator';
import { cliIn } from '../cli/run-cli';
import { startSimulatorWithIdentity } from '../support/simulator';
import { TEST_POLICY } from './harness';

const DOMAIN = 'contoso.local';
const FAST = ['--time-scale', '0.001'];

let sim: RunningSimulator;
let dir: string;
let env: Record<string, string>;
let cli: ReturnType<typeof cliIn>;

beforeAll(async () => {
  sim = await startSimulatorWithIdentity({
    lifecycle: { pendingMs: 30, inProgressMs: 30, offlineTimeoutMs: 600_000 },
  });
  dir = mkdtempSync(join(tmpdir(), 'mde-isolator-parity-'));
  writeFileSync(join(dir, 'policy.json'), JSON.stringify(TEST_POLICY));
  env = { ...sim.env(), ISOLATION_POLICY: join(dir, 'policy.json'), MDE_RATE_LIMITS: '50/500ms' };
  cli = cliIn(dir, env);
});
afterAll(() => sim.close());

const machineOf = (name: string) => sim.machines().find((m) => m.computerDnsName === name)?.id as string;
const actionsOn = (name: string) => sim.actions().filter((a) => a.machineId === machineOf(name));

describe('isolate --override --reason', () => {
  it('names the flag when a protection escalates, and isolates once a person overrides it with a reason', async () => {
    const host = `dc01.${DOMAIN}`;
    const escalated = await cli('isolate', '--host', host, '--comment', 'IR-7', ...FAST);
    expect(escalated.code).toBe(3);
    // A dry run meets the same protection: it exits 3 too, where a dry run that would post exits 0.
    expect((await cli('isolate', '--host', host, '--comment', 'IR-7', '--dry-run', ...FAST)).code).toBe(3);
    expect(escalated.stderr).toContain(
      `\nisolate: ${host}: give --override with --reason to isolate it anyway\n`,
    );
    expect(actionsOn(host)).toEqual([]);

    expect((await cli('isolate', '--host', host, '--comment', 'IR-7', '--override', ...FAST)).code).toBe(2);
    expect(
      (
        await cli(
          'isolate',
          '--host',
          host,
          '--comment',
          'IR-7',
          '--reason',
          'DC is the patient zero',
          ...FAST,
        )
      ).code,
    ).toBe(2);
    expect(actionsOn(host)).toEqual([]);

    const overridden = await cli(
      'isolate',
      '--host',
      host,
      '--comment',
      'IR-7',
      '--override',
      '--reason',
      'DC is the patient zero',
      '--output',
      'tsv',
      ...FAST,
    );
    expect(overridden.code).toBe(0);
    expect(overridden.stdout).toMatch(/\tsucceeded\t/);
    const [action] = actionsOn(host);
    expect(action).toMatchObject({ type: 'Isolate', status: 'Succeeded' });
    // The MDE comment carries the waiver and its reason for the audit trail.
    expect(action.requestorComment).toMatch(
      /rule manual-override, .*\(protections overridden: DC is the patient zero\): IR-7/,
    );
  });
});

describe('isolate --contain', () => {
  it('contains a device MDE lists as not onboarded, and refuses an onboarded one or --selective with it', async () => {
    const nas = `nas-01.${DOMAIN}`;
    const contained = await cli('isolate', '--host', nas, '--comment', 'IR-8', '--contain', ...FAST);
    expect(contained.code).toBe(0);
    expect(actionsOn(nas)).toEqual([
      expect.objectContaining({ type: 'Isolate', scope: 'UnManagedDevice', status: 'Succeeded' }),
    ]);

    const web = `web1.${DOMAIN}`;
    const onboarded = await cli(
      'isolate',
      '--host',
      web,
      '--comment',
      'IR-8',
      '--contain',
      '--output',
      'tsv',
      ...FAST,
    );
    expect(onboarded.code).toBe(3);
    expect(onboarded.stdout).toMatch(/\tskipped: platform\t/);
    expect((await cli('isolate', '--host', web, '--comment', 'x', '--contain', '--selective')).code).toBe(2);
    expect(actionsOn(web)).toEqual([]);
  });
});

describe('an isolation already under way', () => {
  it("is reported as followed when adopted (this app's own, from an earlier run), with who posted it and since when", async () => {
    const host = `laptop-offline-07.${DOMAIN}`;
    // An earlier run posted the isolation of an offline device: Pending until the device reports.
    const earlier = await cli('isolate', '--host', host, '--comment', 'IR-8', '--wait', '1');
    expect(earlier.code).toBe(4);
    const [posted] = actionsOn(host);
    const interrupt = new AbortController();
    const following = cliIn(dir, env, {
      interrupt: interrupt.signal,
      onStderr: (stderr) => {
        if (/^following /m.test(stderr)) interrupt.abort();
      },
    });
    // The wait is long: without the adoption being reported, it ends (exit 4) with no action listed.
    const run = await following('isolate', '--host', host, '--comment', 'IR-9', '--wait', '60');
    expect(run.code).toBe(130);
    expect(run.stderr).toMatch(
      new RegExp(
        `^following Isolate action ${posted.id} on ${host} by ${posted.requestor}, Pending since \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d$`,
        'm',
      ),
    );
    expect(run.stderr).toContain(
      `\n  Isolate ${posted.id} on ${host}, followed (by ${posted.requestor}): mde-isolator status ${posted.id}\n`,
    );
    // Nothing posted again: the earlier action is the one followed.
    expect(actionsOn(host)).toEqual([expect.objectContaining({ id: posted.id })]);
  });

  it("is not followed when someone else posted it: an analyst's isolation is theirs, skipped with their name", async () => {
    const host = `ws-hr-02.${DOMAIN}`;
    const theirs = sim.portalAction(machineOf(host), 'Isolate', {
      requestor: 'analyst@contoso.com',
      comment: 'analyst: contain',
    });
    const run = await cli('isolate', '--host', host, '--comment', 'IR-10', '--output', 'tsv', ...FAST);
    expect(run.code).toBe(0);
    // Pending or already done, as the loaded machine lets the simulator's action run: theirs either way.
    expect(run.stdout).toMatch(
      new RegExp(
        `already isolated by analyst@contoso\\.com \\(action ${theirs.id}, (Pending|InProgress|Succeeded)\\)`,
      ),
    );
    expect(actionsOn(host)).toEqual([expect.objectContaining({ id: theirs.id })]);
  });
});

describe('the progress bar', () => {
  it('leaves the terminal wrapping lines, so a line printed above it is never cut at the edge', async () => {
    const host = `ws-finance-01.${DOMAIN}`;
    const onTerminal = cliIn(dir, env, { terminal: 80, stderrTerminal: 80 });
    const run = await onTerminal('isolate', '--host', host, '--comment', 'IR-11', ...FAST);
    expect(run.code).toBe(0);
    expect(run.stderr).toMatch(/requests ended/);
    // cli-progress turns wrapping off (ESC [?7l) unless told otherwise: the line was cut at column 80.
    expect(run.stderr).not.toContain('\x1b[?7l');
    const [action] = actionsOn(host);
    expect(run.stderr).toContain(`posted Isolate action ${action.id} on ${host} (Pending)\n`);
    // The bar's own line fits the terminal.
    const ESCAPE = String.fromCharCode(27);
    const barLines = run.stderr
      .split(new RegExp(`[\\r\\n]|${ESCAPE}\\[[0-9;?]*[A-Za-z]`))
      .filter((l) => l.includes('requests ended'));
    expect(Math.max(...barLines.map((l) => l.length))).toBeLessThanOrEqual(80);
  });
});

describe('errors', () => {
  it('name the MDE API and the value, never the program’s own functions', async () => {
    const refused = await cli('lookup', 'two words');
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/^lookup: \S+ "two words" is not .*; nothing was sent to MDE$/m);
    const unknown = await cli('status', '00000000-0000-4000-8000-000000000000');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/^status: MDE \(machineactions API\) failed with 404/m);
    expect(`${refused.stderr}${unknown.stderr}`).not.toMatch(/findMachines|getMachineAction/);
  });
});
