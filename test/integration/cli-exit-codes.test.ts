/**
 * Exit codes of every verb and outcome (docs/guide/cli.md "Exit codes"), action ids printed as soon as posted,
 * the interrupt summary, and the mode's source on the first line, against the simulator.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RunningSimulator } from '../../simulator';
import { cliIn, interruptOncePosted } from '../cli/run-cli';
import { mdeAlert } from '../support/alert-payloads';
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
    lifecycle: { pendingMs: 30, inProgressMs: 30, offlineTimeoutMs: 60_000 },
  });
  dir = mkdtempSync(join(tmpdir(), 'mde-isolator-exit-'));
  writeFileSync(join(dir, 'policy.json'), JSON.stringify(TEST_POLICY));
  writeFileSync(
    join(dir, 'dry-policy.json'),
    JSON.stringify({ ...TEST_POLICY, mode: 'dry-run', version: 'integration-dry' }),
  );
  env = { ...sim.env(), ISOLATION_POLICY: join(dir, 'policy.json'), MDE_RATE_LIMITS: '50/500ms' };
  cli = cliIn(dir, env);
});
afterAll(() => sim.close());

const isolate = (host: string, ...flags: string[]) =>
  cli('isolate', '--host', host, '--comment', 'exit code test', ...FAST, ...flags);

describe('isolate', () => {
  it('exits 0 when the device ends isolated', async () => {
    expect((await isolate('web10')).code).toBe(0);
  });

  it('exits 1 when MDE reports the action failed', async () => {
    const run = await isolate('ws-fail-13');
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/failed/);
  });

  it('exits 2 on bad input, before any call', async () => {
    const before = sim.calls().length;
    expect((await cli('isolate', '--machine', 'web1', '--comment', 'x')).code).toBe(2);
    expect((await cli('isolate', '--host', 'web1', '--comment', 'x', '--enforce', '--dry-run')).code).toBe(2);
    expect((await cli('isolate', '--host', 'web1', '--comment', 'x', '--output', 'xml')).code).toBe(2);
    expect(sim.calls()).toHaveLength(before);
  });

  it('exits 3 when the device is not found, protected, or cannot be isolated', async () => {
    const missing = await isolate('no-such-host-42');
    expect(missing.code).toBe(3);
    expect(missing.stdout).toMatch(/escalated: /);
    const protectedDc = await isolate(`dc01.${DOMAIN}`, '--output', 'tsv');
    expect(protectedDc.code).toBe(3);
    // The outcome names the protection that stopped it, not a generic rule.
    expect(protectedDc.stdout).toMatch(/\tescalated: domain-controllers\t/);
    const windows7 = await isolate(`legacy-pos-03.${DOMAIN}`, '--output', 'tsv');
    expect(windows7.code).toBe(3);
    expect(windows7.stdout).toMatch(/\tskipped: platform\t/);
  });

  it('exits 4 when --wait ends first, and prints the action id at once and in --json', async () => {
    // Long enough for the POST on a loaded machine (a cold CLI posted after 0.37 s at a load of 10):
    // the device is offline, so the wait always runs out, after the POST.
    const run = await isolate(`laptop-offline-07.${DOMAIN}`, '--wait', '2', '--json');
    expect(run.code).toBe(4);
    const posted = sim.actions().filter((a) => a.computerDnsName === `laptop-offline-07.${DOMAIN}`);
    expect(posted).toHaveLength(1);
    const id = posted[0].id;
    expect(run.stderr).toMatch(new RegExp(`^posted Isolate action ${id} on laptop-offline-07`, 'm'));
    expect(run.stderr).toMatch(
      new RegExp(
        `still running after --wait 2 s: 1 request\\(s\\) not ended; 1 action\\(s\\)[^\\n]*\\n  Isolate ${id}`,
      ),
    );
    const json = JSON.parse(run.stdout);
    expect(json).toMatchObject({
      wait: 'timed-out',
      outcomes: [],
      actions: [{ actionId: id, how: 'posted' }],
    });
  });

  it('exits 0 on a dry run, posting nothing: the decision is in the output and the JSON', async () => {
    const before = sim.actions().length;
    const run = await isolate(`ws-hr-02.${DOMAIN}`, '--dry-run');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/\tdry-run\t/);
    const json = JSON.parse(
      (await isolate(`ws-hr-02.${DOMAIN}`, '--dry-run', '-q', 'outcomes.outcome')).stdout,
    );
    expect(json).toEqual({ outcomes: [{ outcome: 'dry-run' }] });
    expect(run.stderr.split('\n')[0]).toMatch(/^dry-run \(from --dry-run\); policy integration-1/);
    expect(sim.actions()).toHaveLength(before);
  });
});

describe('release', () => {
  it('exits 0 once released, and the progress and table use release wording', async () => {
    expect((await isolate('wks-lab')).code).toBe(0);
    const run = await cli('release', '--host', 'wks-lab', '--comment', 'clean', ...FAST);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/release \(manual\)/);
    expect(run.stderr).toMatch(/^posted Unisolate action /m);
  });

  it("exits 3 for an analyst's isolation, or one with nothing on record, unless --force with --reason", async () => {
    const analyst = { requestor: 'analyst@contoso.com', comment: 'analyst: contain' };
    const hr = sim.machines().find((m) => m.computerDnsName === `ws-hr-02.${DOMAIN}`)?.id as string;
    const theirs = sim.portalAction(hr, 'Isolate', analyst);
    const refused = await cli('release', '--machine', hr, '--comment', 'clean', ...FAST);
    expect(refused.code).toBe(3);
    expect(refused.stderr).toContain(
      `\nrelease: this app did not post the isolation in force: analyst@contoso.com (Portal) did (action ${theirs.id}); give --force with --reason to release it anyway\n`,
    );
    const old = sim.machines().find((m) => m.computerDnsName === `web1.${DOMAIN}`)?.id as string;
    // Isolated by other means: the platform lifts an isolation long before it leaves the lookback.
    sim.setMachine(old, { traits: { isolation: 'Full' } });
    const unknown = await cli('release', '--machine', old, '--comment', 'clean', ...FAST);
    expect(unknown.code).toBe(3);
    expect(unknown.stderr).toMatch(
      /^release: MDE lists no isolate or release of this device in the last 30 days/m,
    );
    expect(sim.actions().filter((a) => a.type === 'Unisolate' && [hr, old].includes(a.machineId))).toEqual(
      [],
    );

    expect((await cli('release', '--machine', hr, '--comment', 'clean', '--force', ...FAST)).code).toBe(2);
    const forced = await cli(
      'release',
      '--machine',
      old,
      '--comment',
      'clean',
      '--force',
      '--reason',
      'case closed by the SOC lead',
      ...FAST,
    );
    expect(forced.code).toBe(0);
    expect(
      sim.actions().find((a) => a.type === 'Unisolate' && a.machineId === old)?.requestorComment,
    ).toMatch(/clean \[release forced: case closed by the SOC lead\]/);
  });
});

describe('run', () => {
  it('exits 0 when every isolation the policy asked for ended, 3 when one was escalated', async () => {
    writeFileSync(join(dir, 'one.json'), JSON.stringify(mdeAlert({ dnsName: `web1.${DOMAIN}` })));
    expect((await cli('run', ...FAST, 'one.json')).code).toBe(0);
    writeFileSync(join(dir, 'dc.json'), JSON.stringify(mdeAlert({ dnsName: `dc01.${DOMAIN}` })));
    expect((await cli('run', ...FAST, 'dc.json')).code).toBe(3);
  });

  it('exits 0 on a dry run and 2 when a file cannot be read', async () => {
    writeFileSync(join(dir, 'hr.json'), JSON.stringify(mdeAlert({ dnsName: `ws-hr-02.${DOMAIN}` })));
    expect((await cli('run', '--dry-run', ...FAST, 'hr.json')).code).toBe(0);
    expect((await cli('run', ...FAST, 'hr.json', 'absent.json')).code).toBe(2);
  });
});

describe('status', () => {
  it('exits 0 for a succeeded action, 1 for a failed one, 2 for a bad or unknown id', async () => {
    const ok = sim.actions().find((a) => a.status === 'Succeeded');
    const failed = sim.actions().find((a) => a.status === 'Failed');
    expect((await cli('status', ok?.id as string)).code).toBe(0);
    expect((await cli('status', ok?.id as string, '--output', 'tsv')).stdout).toMatch(/^status\tSucceeded$/m);
    expect((await cli('status', failed?.id as string)).code).toBe(1);
    expect((await cli('status', 'not-a-guid')).code).toBe(2);
    expect((await cli('status', '00000000-0000-4000-8000-000000000000')).code).toBe(2);
  });
});

describe('lookup', () => {
  it('lists every record of a name with ids and last seen (0), and exits 3 for an unknown name', async () => {
    const run = await cli('lookup', 'kiosk-12', '--output', 'tsv');
    expect(run.code).toBe(0);
    const rows = run.stdout.trim().split('\n');
    expect(rows[0]).toBe('Machine id\tName\tLast seen\tHealth\tOS');
    expect(rows.slice(1).map((row) => row.split('\t')[1])).toEqual([
      `kiosk-12.${DOMAIN}`,
      `kiosk-12.${DOMAIN}`,
    ]);
    expect(rows[1].split('\t')[0]).toMatch(/^[0-9a-f]{40}$/);
    expect(run.stderr).toMatch(/2 records for kiosk-12; name the device by id: --machine ID/);
    expect((await cli('lookup', 'no-such-host-42')).code).toBe(3);
  });
});

describe('the mode and where it came from, before the first POST', () => {
  it('names the flag, the setting or the policy file', async () => {
    writeFileSync(join(dir, 'web.json'), JSON.stringify(mdeAlert({ dnsName: `web1.${DOMAIN}` })));
    const first = async (...argv: string[]) => (await cli(...argv)).stderr.split('\n')[0];
    expect(await first('run', '--dry-run', ...FAST, 'web.json')).toMatch(/^dry-run \(from --dry-run\)/);
    expect(await first('run', '--policy', 'dry-policy.json', ...FAST, 'web.json')).toMatch(
      /^dry-run \(from the policy\); policy integration-dry \(--policy dry-policy\.json\)/,
    );
    expect(await first('run', '--policy', 'dry-policy.json', '--enforce', ...FAST, 'web.json')).toMatch(
      /^ENFORCE \(from --enforce\)/,
    );
    const setting = cliIn(dir, { ...env, ISOLATION_MODE: 'dry-run' });
    expect((await setting('run', ...FAST, 'web.json')).stderr).toMatch(
      /^dry-run \(from ISOLATION_MODE=dry-run\)/,
    );
    // The first line also says the register and breaker are this process's own.
    expect(await first('run', '--dry-run', ...FAST, 'web.json')).toMatch(/local store: this process's own/);
  });

  it('asks before enforcing on a terminal unless --enforce or --yes, and posts nothing when declined', async () => {
    const questions: string[] = [];
    const declining = cliIn(dir, env, {
      confirm: async (question) => {
        questions.push(question);
        return false;
      },
    });
    writeFileSync(join(dir, 'fin.json'), JSON.stringify(mdeAlert({ dnsName: `ws-finance-01.${DOMAIN}` })));
    const before = sim.actions().length;
    const declined = await declining('run', ...FAST, 'fin.json');
    expect(declined.code).toBe(3);
    expect(declined.stderr).toMatch(/not confirmed; nothing posted/);
    expect(questions).toEqual([expect.stringMatching(/ENFORCE/)]);
    expect(sim.actions()).toHaveLength(before);
    expect((await declining('run', '--yes', ...FAST, 'fin.json')).code).toBe(0);
    expect(questions).toHaveLength(1);
    expect(sim.actions()).toHaveLength(before + 1);
  });
});

describe('an interrupt (Ctrl+C)', () => {
  it('stops waiting, prints the posted action and what is unfinished, and exits 130', async () => {
    const interrupted = cliIn(dir, env, interruptOncePosted());
    writeFileSync(join(dir, 'kiosk.json'), JSON.stringify(mdeAlert({ dnsName: `hv-host-01.${DOMAIN}` })));
    sim.setMachine(sim.machines().find((m) => m.computerDnsName === `hv-host-01.${DOMAIN}`)?.id as string, {
      traits: { offline: true },
    });
    const run = await interrupted('run', ...FAST, 'kiosk.json');
    expect(run.code).toBe(130);
    const posted = sim.actions().filter((a) => a.computerDnsName === `hv-host-01.${DOMAIN}`);
    expect(posted).toHaveLength(1);
    expect(run.stderr).toMatch(
      new RegExp(
        `interrupted: 1 request\\(s\\) not ended; 1 action\\(s\\) posted or followed and not ended in MDE\\n  Isolate ${posted[0].id}`,
      ),
    );
    expect(run.stdout).toMatch(/still running/);
  });
});
