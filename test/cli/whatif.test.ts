import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NormalizedAlert } from '../../shared/alerts/model';
import type { Decision } from '../../shared/policy/types';
import { FIXTURES_DIR, fixturePath } from '../fixtures';
import { cliIn } from './run-cli';

// A person at a 100-column terminal: tables, not TSV.
const cli = cliIn(FIXTURES_DIR, {}, { terminal: 100 });

async function whatifJson(...files: string[]) {
  const result = await cli('whatif', '--json', ...files);
  // Only the line naming the policy evaluated; stdout is the JSON alone.
  expect(result.stderr).toMatch(/^policy \S+ \([^)]+\), (ENFORCE|dry-run); nothing is posted\n$/);
  expect(result.code).toBe(0);
  return JSON.parse(result.stdout) as Array<NormalizedAlert & { decisions: Decision[] }>;
}

/** What test/fixtures/EXPECTED.md (a copy of the team's samples/EXPECTED.md) says for each sample. */
const EXPECTED: Array<[string, Record<string, unknown>, Array<Record<string, unknown>>]> = [
  [
    '01-sentinel-incident-xdr-single-host.json',
    {
      source: 'sentinel-incident',
      alertId: 'b8833ef0-e7fc-4866-832c-15a71722ba00',
      incidentId: '5ea509e5-5baf-4583-b891-85e08961ce29',
      incidentArmId: expect.stringMatching(/\/Incidents\/5ea509e5-5baf-4583-b891-85e08961ce29$/),
      providerIncidentId: '18207',
      relatedAlertIds: ['da4e8360d5-908e-4e3d-bb9a-71a42f9e3911_1'],
      severity: 'high',
      firing: true,
    },
    [
      {
        mdeDeviceId: '716240a6127a2375ac877a23ed488ec786b9e4a4',
        fqdn: 'fin-ws-0142.ad.northwind.example',
        hostname: 'fin-ws-0142',
      },
    ],
  ],
  [
    '03-sentinel-incident-hostname-only-low.json',
    {
      source: 'sentinel-incident',
      alertId: 'e3b5a1f3-0003-4f00-9a00-5e2c8b3f6a03',
      incidentId: '32600b84-094b-4799-aa12-e7da8c8198fe',
      severity: 'low',
      firing: true,
    },
    [{ hostname: 'kiosk-lobby-07' }],
  ],
  [
    '05-sentinel-alert-trigger-entities-array.json',
    {
      source: 'sentinel-alert',
      alertId: '0198cfe1-6043-457f-9651-d5ea99ef170e',
      relatedAlertIds: ['da5cfda723-a215-460a-a044-9ba4c67ac7f4_1'],
      incidentId: null,
      severity: 'medium',
      firing: true,
    },
    [
      {
        mdeDeviceId: '0a28179d066c63a45b98d678638e0b258f6b38f2',
        fqdn: 'eng-ws-0311.ad.northwind.example',
        hostname: 'eng-ws-0311',
        aadDeviceId: 'b1d0602d-f3b2-44ec-bf08-b3e4071aa8a4',
        ipAddresses: ['10.20.8.31'],
      },
    ],
  ],
  [
    '07-azmon-logalert-v2-fired-dimensions.json',
    {
      source: 'azure-monitor',
      alertId:
        '/subscriptions/1e866126-531b-4d38-a7ec-07e451767fcf/providers/Microsoft.AlertsManagement/alerts/700fcc28-59a1-40e2-91b2-ac3a85e90c15',
      relatedAlertIds: ['da2a7f3c91-0d4e-4b8a-b6c2-9e1f5a3d7c40_1'],
      incidentId: null,
      severity: 'high',
      firing: true,
    },
    [{ mdeDeviceId: '757ea4ad42a092e12f041c3e4850f3868359e84b', fqdn: 'ops-ws-0199.ad.northwind.example' }],
  ],
  [
    '10-mde-api-alert-medium.json',
    {
      source: 'mde-alert',
      alertId: 'da638856212847710932_-1173482659',
      incidentId: '18344',
      severity: 'medium',
      firing: true,
    },
    [{ mdeDeviceId: '1e995fdbdad4249f97839a34f4276ef2b47ce37e', fqdn: 'dev-ws-0458.ad.northwind.example' }],
  ],
  [
    '11-graph-alert-v2-device-evidence.json',
    {
      source: 'graph-alert',
      alertId: 'da98ef15b6-f373-4725-a128-324c645dd198_1',
      incidentId: '18377',
      severity: 'high',
      firing: true,
    },
    [
      {
        mdeDeviceId: '41d31f1735beb60b6bf9b591ce42c615d3a2c9a5',
        fqdn: 'acct-lt-0093.ad.northwind.example',
        aadDeviceId: 'cc1c5283-81f3-4078-b976-5e80dd3b9f6d',
        ipAddresses: ['10.20.9.44', 'fe80::1c2b:3dff:fe4a:5b6c'],
      },
    ],
  ],
  [
    '12-graph-alert-v2-no-device-evidence.json',
    {
      source: 'graph-alert',
      alertId: 'fa3e9c1d70-5b2a-4f86-9d14-c7a0e2b58f31',
      incidentId: '18402',
      severity: 'medium',
      firing: true,
    },
    [],
  ],
];

describe('whatif', () => {
  it.each(EXPECTED)('--json on %s gives what EXPECTED.md says', async (file, fields, devices) => {
    const [alert, ...rest] = await whatifJson(file);
    expect(rest).toEqual([]);
    expect(alert).toMatchObject(fields);
    expect(alert.devices).toEqual(devices);
    // One decision per device, under the shipped default policy (dry run).
    expect(alert.decisions).toHaveLength(devices.length);
    for (const decision of alert.decisions)
      expect(decision).toMatchObject({ mode: 'dry-run', policyVersion: 'default-2026.11' });
  });

  it('decides the samples as the default policy intends: low severity is not isolated, ransomware is', async () => {
    const [kiosk, ransomware] = await whatifJson(
      '03-sentinel-incident-hostname-only-low.json',
      '11-graph-alert-v2-device-evidence.json',
    );
    expect(kiosk.decisions[0]).toMatchObject({ action: 'skip' });
    expect(ransomware.decisions[0]).toMatchObject({
      action: 'isolate',
      isolationType: 'Full',
      rule: 'ransomware-workstations',
    });
  });

  it('prints a table of source, severity, firing, devices and decisions', async () => {
    const { code, stdout } = await cli(
      'whatif',
      '--wide',
      '04-sentinel-incident-closed.json',
      fixturePath('12-graph-alert-v2-no-device-evidence.json'),
    );
    expect(code).toBe(0);
    expect(stdout.split('\n')[0]).toMatch(/^policy \S+ \(the shipped default policy\)/);
    expect(stdout).toMatch(
      /sentinel-incident, high, not firing.*716240a6127a2375ac877a23ed488ec786b9e4a4.*skip/,
    );
    expect(stdout).toContain('rule: not-firing');
    expect(stdout).toMatch(/graph-alert, medium, firing.*\(no device\).*nothing to isolate/);
  });

  it('exits 2 with one message per unreadable or unrecognized file, still reporting the good ones', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'whatif-'));
    try {
      writeFileSync(join(dir, 'broken.json'), '{"id":');
      writeFileSync(join(dir, 'other.json'), '{"hello": "world"}');
      const { code, stdout, stderr } = await cli(
        'whatif',
        '--json',
        join(dir, 'missing.json'),
        join(dir, 'broken.json'),
        join(dir, 'other.json'),
        '10-mde-api-alert-medium.json',
      );
      expect(code).toBe(2);
      const lines = stderr.trim().split('\n').slice(1);
      expect(lines).toHaveLength(3);
      expect(lines[0]).toMatch(/missing\.json: cannot read \(ENOENT\)/);
      expect(lines[1]).toMatch(/broken\.json: not JSON: \S/);
      expect(lines[2]).toMatch(/other\.json: \$ is a JSON object of no known alert shape/);
      expect(JSON.parse(stdout).map((a: { source: string }) => a.source)).toEqual(['mde-alert']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reports each item of a batch file, with exit 2 for the bad one', async () => {
    const { code, stdout, stderr } = await cli('whatif', '--json', '17-batch-mixed-with-bad-item.json');
    expect(code).toBe(2);
    expect(stderr).toContain('17-batch-mixed-with-bad-item.json: $[1] is a JSON object');
    expect(JSON.parse(stdout).map((a: { source: string }) => a.source)).toEqual([
      'relay-manual',
      'graph-alert',
    ]);
  });

  it('evaluates the policy given with --policy', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'whatif-'));
    try {
      const policy = {
        version: 'test-medium-1',
        mode: 'enforce',
        rules: [
          { name: 'medium-selective', minSeverity: 'medium', action: 'isolate', isolationType: 'Selective' },
        ],
        defaultAction: 'skip',
      };
      writeFileSync(join(dir, 'policy.json'), JSON.stringify(policy));
      const [alert] = await whatifJson('--policy', join(dir, 'policy.json'), '10-mde-api-alert-medium.json');
      expect(alert.decisions[0]).toMatchObject({
        action: 'isolate',
        isolationType: 'Selective',
        rule: 'medium-selective',
        mode: 'enforce',
        policyVersion: 'test-medium-1',
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reports a payload whose JSON error quotes several lines on one stderr line', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'whatif-'));
    try {
      writeFileSync(join(dir, 'notes.txt'), 'hello\nworld\n');
      const { code, stderr } = await cli('whatif', join(dir, 'notes.txt'));
      expect(code).toBe(2);
      expect(stderr.trim().split('\n')).toEqual([
        expect.stringMatching(/notes\.txt: not JSON: .*hello world/),
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('names a --policy file that cannot be read, not a bare Node error', async () => {
    const { code, stderr } = await cli(
      'whatif',
      '--policy',
      'no-such-policy.json',
      '10-mde-api-alert-medium.json',
    );
    expect(code).toBe(2);
    expect(stderr).toBe('whatif: cannot read policy file no-such-policy.json (ENOENT)\n');
  });

  it('exits 2 naming the problem of a bad policy file', async () => {
    const { code, stderr } = await cli('whatif', '--policy', 'EXPECTED.md', '10-mde-api-alert-medium.json');
    expect(code).toBe(2);
    expect(stderr).toMatch(/^whatif: Invalid isolation policy .*EXPECTED\.md/);
  });
});

describe('mde-isolator command line', () => {
  it('prints help with exit 0, and exits 2 on a usage mistake', async () => {
    const help = await cli('--help');
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('whatif');
    const unknown = await cli('whatif');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toBe(
      'whatif: give alert payload files, or --workspace ID to rehearse its alert history\n',
    );
  });
});
