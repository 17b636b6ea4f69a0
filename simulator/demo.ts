/**
 * `npm run demo`: the product end to end on this machine, no Azure account needed. It starts the MDE
 * API simulator (with its managed identity endpoint, so the real @azure/identity code signs in), points
 * the app at it through the same settings a deployment uses, and runs a small alert storm through
 * `mde-isolator run` twice: first as shipped (the default policy is a dry run), then with
 * ISOLATION_MODE=enforce, so isolations really happen and are followed to their end. The team's sample
 * alerts (copies in test/fixtures) go through the same runs; their devices are added to the simulated
 * tenant so the decisions rest on real machine records. State (the isolation register, the breaker,
 * the ledgers) lives in Azurite, started here in memory as the Table Storage a deployment uses; the
 * demo ends by printing the register.
 */
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EXIT } from '../cli/context';
import { runCli } from '../cli/main';
import { errorStack } from '../shared/kernel/errors';
import { fixturePath } from '../test/fixtures';
import { startAzurite } from './azurite';
import { type RunningSimulator, startSimulator } from './index';

const DOMAIN = 'contoso.local';
/** Simulator actions take about a second; dispatch delays shrink by the same idea. */
const LIFECYCLE = { pendingMs: 400, inProgressMs: 600 };
const TIME_SCALE = '0.01';

let sequence = 0;

/** A Defender for Endpoint API alert (/api/alerts shape). */
function mdeAlert(
  title: string,
  severity: string,
  device: { id?: string; dnsName?: string },
  techniques: string[],
) {
  sequence += 1;
  return {
    id: `da63870${String(sequence).padStart(6, '0')}_-1`,
    incidentId: 4800 + sequence,
    severity,
    status: 'New',
    category: 'Ransomware',
    title,
    detectionSource: 'WindowsDefenderAtp',
    alertCreationTime: new Date().toISOString(),
    machineId: device.id ?? null,
    computerDnsName: device.dnsName ?? null,
    mitreTechniques: techniques,
    evidence: [],
  };
}

function demoAlerts(sim: RunningSimulator): Record<string, unknown> {
  const id = (name: string) => sim.machines().find((m) => m.computerDnsName === `${name}.${DOMAIN}`)?.id;
  const ransomware = (name: string, byId: boolean) =>
    mdeAlert(
      'Ransomware behavior detected in the file system',
      'High',
      byId ? { id: id(name), dnsName: `${name}.${DOMAIN}` } : { dnsName: `${name}.${DOMAIN}` },
      ['T1486'],
    );
  return {
    // One device named by five alerts, by id and by name: one isolation.
    'storm-finance.json': [1, 2, 3, 4, 5].map((i) => ransomware('ws-finance-01', i % 2 === 1)),
    'workstation-hr.json': ransomware('ws-hr-02', false),
    'domain-controller.json': ransomware('dc01', true),
    'web-server.json': ransomware('web1', true),
    'kiosk-two-records.json': ransomware('kiosk-12', false),
    'low-severity.json': mdeAlert(
      'Suspicious PowerShell command line',
      'Low',
      { id: id('mac-design-01') },
      [],
    ),
    'manual-request.json': {
      hostname: 'mac-design-01',
      comment: 'IR-1042: contain while the laptop is imaged',
      isolationType: 'Selective',
      requestedBy: 'analyst@contoso.com',
    },
  };
}

/** The team samples (copies in test/fixtures) and the devices they name. */
const TEAM_SAMPLES = [
  '01-sentinel-incident-xdr-single-host.json',
  '03-sentinel-incident-hostname-only-low.json',
  '05-sentinel-alert-trigger-entities-array.json',
  '07-azmon-logalert-v2-fired-dimensions.json',
  '10-mde-api-alert-medium.json',
  '11-graph-alert-v2-device-evidence.json',
  '12-graph-alert-v2-no-device-evidence.json',
];
const SAMPLE_DEVICES: Array<{ id: string; dnsName: string; aadDeviceId?: string; tags?: string[] }> = [
  { id: '716240a6127a2375ac877a23ed488ec786b9e4a4', dnsName: 'fin-ws-0142.ad.northwind.example' },
  { id: '9c1e07d5b2a34f6e8d0a1b2c3d4e5f60718293a4', dnsName: 'kiosk-lobby-07.ad.northwind.example' },
  {
    id: '0a28179d066c63a45b98d678638e0b258f6b38f2',
    dnsName: 'eng-ws-0311.ad.northwind.example',
    aadDeviceId: 'b1d0602d-f3b2-44ec-bf08-b3e4071aa8a4',
  },
  { id: '757ea4ad42a092e12f041c3e4850f3868359e84b', dnsName: 'ops-ws-0199.ad.northwind.example' },
  { id: '1e995fdbdad4249f97839a34f4276ef2b47ce37e', dnsName: 'dev-ws-0458.ad.northwind.example' },
  {
    id: '41d31f1735beb60b6bf9b591ce42c615d3a2c9a5',
    dnsName: 'acct-lt-0093.ad.northwind.example',
    aadDeviceId: 'cc1c5283-81f3-4078-b976-5e80dd3b9f6d',
    tags: ['VIP'],
  },
];

function addSampleDevices(sim: RunningSimulator): void {
  for (const device of SAMPLE_DEVICES) {
    sim.addMachine(
      { name: device.dnsName, osPlatform: 'Windows11', version: '23H2', tags: device.tags },
      { id: device.id, ...(device.aadDeviceId ? { aadDeviceId: device.aadDeviceId } : {}) },
    );
  }
}

function heading(text: string): void {
  process.stdout.write(`\n=== ${text} ===\n\n`);
}

async function run(files: string[], dir: string, env: Record<string, string | undefined>): Promise<number> {
  return runCli(['run', '--time-scale', TIME_SCALE, '--wait', '60', ...files], {
    stdout: process.stdout,
    stderr: process.stderr,
    cwd: dir,
    env,
  });
}

async function main(): Promise<number> {
  const sim = await startSimulator({ lifecycle: LIFECYCLE });
  const azurite = await startAzurite();
  const dir = mkdtempSync(join(tmpdir(), 'mde-isolator-demo-'));
  try {
    // The credential reads the managed identity endpoint from the process environment, as in Azure.
    Object.assign(process.env, sim.env());
    addSampleDevices(sim);
    const samples = TEAM_SAMPLES.map((name) => {
      copyFileSync(fixturePath(name), join(dir, name));
      return name;
    });
    const files = Object.entries(demoAlerts(sim)).map(([name, body]) => {
      writeFileSync(join(dir, name), JSON.stringify(body, null, 2));
      return name;
    });
    files.unshift(...samples);
    process.stdout.write(
      `MDE API simulator on ${sim.baseUrl} with ${sim.machines().length} devices; alert files in ${dir}\n` +
        `Settings: ${Object.entries(sim.env())
          .map(([k, v]) => `${k}=${k === 'IDENTITY_HEADER' ? '<secret>' : v}`)
          .join(' ')}\n`,
    );

    const isolatedBefore = new Set(
      sim
        .machines()
        .filter((m) => sim.machineState(m.id)?.isolated)
        .map((m) => m.id),
    );
    heading('1. As shipped: the default policy is a dry run (nothing is posted)');
    const env = {
      ...process.env,
      ...sim.env(),
      AzureWebJobsStorage: azurite.connectionString,
      ISOLATION_POLICY: '',
      ISOLATION_MODE: '',
    };
    const dryRunCode = await run(files, dir, env);
    const postsAfterDryRun = sim.calls().filter((c) => c.method === 'POST').length;

    heading('2. ISOLATION_MODE=enforce: the same alerts, isolations posted and followed to their end');
    const enforceCode = await run(files, dir, { ...env, ISOLATION_MODE: 'enforce' });

    heading('What the simulated tenant saw');
    const isolated = sim
      .machines()
      .filter((m) => sim.machineState(m.id)?.isolated && !isolatedBefore.has(m.id))
      .map((m) => `${m.computerDnsName} (${sim.machineState(m.id)?.isolationType})`);
    const enforcePosts = sim.calls().filter((c) => c.method === 'POST').length - postsAfterDryRun;
    process.stdout.write(
      `exit codes: dry run ${dryRunCode}, enforce ${enforceCode}\n` +
        `devices isolated by this demo: ${isolated.join(', ') || 'none'}\n` +
        `POSTs during the dry run: ${postsAfterDryRun}; POSTs in enforce mode: ${enforcePosts}; ` +
        `429 answers: ${sim.calls().filter((c) => c.status === 429).length}\n`,
    );
    heading('The isolation register (Table Storage in Azurite): mde-isolator isolations');
    const registerCode = await runCli(['isolations'], {
      stdout: process.stdout,
      stderr: process.stderr,
      cwd: dir,
      env,
    });
    // The alerts include a protected domain controller and a name with two records: escalated to a
    // person, so both runs end "not carried out" (exit code 3, docs/guide/cli.md "Exit codes"), which outranks
    // the dry run's 0.
    const ok =
      dryRunCode === EXIT.notCarriedOut &&
      enforceCode === EXIT.notCarriedOut &&
      postsAfterDryRun === 0 &&
      isolated.length > 0 &&
      registerCode === EXIT.ok;
    process.stdout.write(
      ok ? '\nDemo finished: everything ended as expected.\n' : '\nDemo finished with unexpected results.\n',
    );
    return ok ? 0 : 1;
  } finally {
    await sim.close();
    await azurite.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`demo failed: ${errorStack(error)}\n`);
    process.exitCode = 1;
  },
);
