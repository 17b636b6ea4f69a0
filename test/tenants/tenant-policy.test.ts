import { ConfigError, loadConfig } from '../../shared/config';
import { checkConfiguration } from '../../shared/configuration-check';
import { withinInvocation } from '../../shared/kernel/invocation-log';
import type { Machine } from '../../shared/mde/types';
import { loadPolicy } from '../../shared/policy/load';
import { MAX_TENANT_POLICY_CHARS, parseTenantList } from '../../shared/tenants/parse';
import { deploymentPolicy, policyForTenant } from '../../shared/tenants/policy';
import { tenantPolicyProblems } from '../../shared/tenants/policy-document';
import type { Tenant } from '../../shared/tenants/tenant';
import { machineOf } from '../policy/builders';
import { alertOf } from '../support/alerts';

const CONTOSO = '2f4a9c1e-7b3d-4e8a-9c21-5d6e7f8a9b0c';
const FABRIKAM = '8d1b6e3f-2a4c-4b5d-8e9f-0a1b2c3d4e5f';
const NOW = new Date('2026-12-07T12:00:00Z');

/** The settings of a deployment serving Contoso and Fabrikam, Fabrikam with `policy` as its override. */
function settingsWith(policy: unknown, extra: Record<string, string> = {}): Record<string, string> {
  return {
    MDE_TENANTS: JSON.stringify([
      { tenantId: CONTOSO, displayName: 'Contoso' },
      { tenantId: FABRIKAM, displayName: 'Fabrikam', policy },
    ]),
    MDE_TENANT_APP_CLIENT_ID: '6a1c9e2b-3d4f-4a5b-9c8d-7e6f5a4b3c2d',
    AZURE_CLIENT_ID: '0c0ffee0-1111-4222-8333-444444444444',
    ...extra,
  };
}

/** The deployment's policy (the shipped default) and each tenant's, loaded from the settings. */
function policiesOf(override: unknown, extra: Record<string, string> = {}) {
  const config = loadConfig(settingsWith(override, extra));
  const tenants = config.tenants as Tenant[];
  const deployment = deploymentPolicy(config);
  return {
    deployment: loadPolicy(config.policySource, config.modeOverride, config.manualMode),
    contoso: policyForTenant(deployment, tenants[0]),
    fabrikam: policyForTenant(deployment, tenants[1]),
  };
}

const decide = (policy: ReturnType<typeof loadPolicy>, machine: Machine, alert = alertOf()) =>
  policy.decideDevice(alert, alert.devices[0], machine, { now: NOW });

describe("a tenant's policy: the deployment's with the tenant's override", () => {
  it('without an override is the deployment policy: the same decisions and the same version', () => {
    const { deployment, contoso } = policiesOf({ mode: 'dry-run' });
    const cases: [Machine, ReturnType<typeof alertOf>][] = [
      [machineOf(), alertOf()],
      [machineOf({ osPlatform: 'WindowsServer2022' }), alertOf()],
      [machineOf({ computerDnsName: 'dc01.corp.example' }), alertOf()],
      [machineOf(), alertOf({ categories: ['Exfiltration'], mitreTechniques: [] })],
      [machineOf(), alertOf({ severity: 'low' })],
    ];
    for (const [machine, alert] of cases)
      expect(decide(contoso, machine, alert)).toEqual(decide(deployment, machine, alert));
    expect(contoso.version).toBe('default-2026.11');
    expect(contoso.blastRadius).toEqual(deployment.blastRadius);
  });

  it('an override that changes nothing keeps the version; one that changes anything has its own', () => {
    const versionOf = (override: unknown) => policiesOf(override).fabrikam.version;
    expect(versionOf({})).toBe('default-2026.11');
    expect(versionOf({ defaultAction: 'skip' })).toBe('default-2026.11');
    const escalating = versionOf({ defaultAction: 'escalate' });
    expect(escalating).toMatch(/^default-2026\.11\+[0-9a-f]{8}$/);
    expect(versionOf({ defaultAction: 'escalate', description: 'Fabrikam' })).not.toBe(escalating);
    // The same override written in another key order is the same policy.
    const rule = { name: 'kiosks', tags: ['Kiosk'], action: 'skip' };
    const reordered = { action: 'skip', tags: ['Kiosk'], name: 'kiosks' };
    expect(versionOf({ rules: [rule] })).toBe(versionOf({ rules: [reordered] }));
  });

  it("a rule replaced by name decides where the deployment's did, raised from escalate to isolate", () => {
    const exfiltration = alertOf({ categories: ['Exfiltration'], mitreTechniques: [] });
    const { deployment, fabrikam } = policiesOf(
      {
        rules: [
          {
            name: 'high-severity-review',
            minSeverity: 'high',
            osPlatforms: ['Windows1*'],
            action: 'isolate',
            isolateFor: '8h',
          },
        ],
      },
      { ISOLATION_MODE: 'enforce' },
    );
    expect(decide(deployment, machineOf(), exfiltration)).toMatchObject({
      action: 'escalate',
      rule: 'high-severity-review',
      policyVersion: 'default-2026.11',
    });
    expect(decide(fabrikam, machineOf(), exfiltration)).toMatchObject({
      action: 'isolate',
      rule: 'high-severity-review',
      mode: 'enforce',
      policyVersion: fabrikam.version,
    });
    expect(fabrikam.version).toMatch(/^default-2026\.11\+[0-9a-f]{8}$/);
    expect(fabrikam.lifetimeOf('high-severity-review').isolateForMs).toBe(8 * 3_600_000);
    // The rules it did not name are the deployment's, where they were.
    expect(decide(fabrikam, machineOf(), alertOf())).toMatchObject({
      action: 'isolate',
      rule: 'ransomware-workstations',
    });
    expect(decide(fabrikam, machineOf({ osPlatform: 'WindowsServer2022' }), exfiltration)).toMatchObject({
      action: 'escalate',
      rule: 'servers-escalate',
    });
  });

  it('a protection it adds keeps a device the deployment would isolate from automation', () => {
    const kiosk = machineOf({ machineTags: ['Kiosk'] });
    const { deployment, fabrikam } = policiesOf({ protections: [{ name: 'kiosks', tags: ['Kiosk'] }] });
    expect(decide(deployment, kiosk)).toMatchObject({ action: 'isolate', rule: 'ransomware-workstations' });
    expect(decide(fabrikam, kiosk)).toMatchObject({ action: 'escalate', rule: 'kiosks' });
    // The deployment's protections still come first.
    expect(
      decide(fabrikam, machineOf({ computerDnsName: 'dc01.corp.example', machineTags: ['Kiosk'] })),
    ).toMatchObject({ action: 'escalate', rule: 'domain-controllers' });
  });

  it("a rule it adds is tried before the deployment's, and one it removes is gone", () => {
    const finance = machineOf({ rbacGroupName: 'Finance Workstations' });
    const { deployment, fabrikam } = policiesOf({
      rules: [
        { name: 'ransomware-techniques-workstations', remove: true },
        { name: 'finance-escalate', deviceGroups: ['Finance*'], action: 'escalate' },
        { name: 'ransomware-workstations', remove: true },
      ],
    });
    expect(decide(deployment, finance)).toMatchObject({ action: 'isolate', rule: 'ransomware-workstations' });
    expect(decide(fabrikam, finance)).toMatchObject({ action: 'escalate', rule: 'finance-escalate' });
    // Without the two ransomware rules the next one down decides.
    expect(decide(fabrikam, machineOf())).toMatchObject({ action: 'escalate', rule: 'high-severity-review' });
  });

  it("a named section replaces the deployment's, and null removes an optional one", () => {
    const low = alertOf({ severity: 'low' });
    const { deployment, fabrikam } = policiesOf({
      defaultAction: 'escalate',
      blastRadius: { maxIsolations: 2 },
      comment: null,
    });
    expect(decide(deployment, machineOf(), low)).toMatchObject({ action: 'skip', rule: 'default' });
    expect(decide(fabrikam, machineOf(), low)).toMatchObject({ action: 'escalate', rule: 'default' });
    // Replaced whole: the fields it leaves out take their defaults, as in a policy file.
    expect(fabrikam.blastRadius).toEqual({ maxDevicesPerAlert: 3, maxIsolations: 2, windowMs: 3_600_000 });
  });

  it('holds a tenant in dry run where the deployment enforces; never enforces past the deployment', () => {
    const { deployment, contoso, fabrikam } = policiesOf({ mode: 'dry-run' }, { ISOLATION_MODE: 'enforce' });
    expect(decide(deployment, machineOf())).toMatchObject({ action: 'isolate', mode: 'enforce' });
    expect(decide(contoso, machineOf())).toMatchObject({ action: 'isolate', mode: 'enforce' });
    expect(decide(fabrikam, machineOf())).toMatchObject({ action: 'isolate', mode: 'dry-run' });
    // The document is the deployment's, the decisions are not: the version says so.
    expect(fabrikam.version).not.toBe(deployment.version);
    const config = loadConfig(settingsWith({ mode: 'enforce' }));
    expect(() => policyForTenant(deploymentPolicy(config), (config.tenants as Tenant[])[1])).toThrow(
      ConfigError,
    );
  });
});

describe('a bad override is refused at start, each problem naming where', () => {
  const problemsOf = (override: unknown) => {
    const config = loadConfig(settingsWith(override));
    return tenantPolicyProblems(deploymentPolicy(config).document, config.tenants as Tenant[]).map(
      (p) => `${p.setting}: ${p.message}`,
    );
  };

  it.each([
    [
      'a rule with an unknown action',
      { rules: [{ name: 'ransomware-workstations', categories: ['Ransomware'], action: 'quarantine' }] },
      [
        'MDE_TENANTS: [1].policy.rules[0].action: must be one of isolate, escalate, skip (got string "quarantine")',
      ],
    ],
    [
      'a misspelt section',
      { rulez: [] },
      ["MDE_TENANTS: [1].policy: unknown field 'rulez' (did you mean 'rules'?)"],
    ],
    [
      'a field only an isolating rule may have',
      { rules: [{ name: 'new-one', title: '*coin*', action: 'escalate', isolateFor: '8h' }] },
      ['MDE_TENANTS: [1].policy.rules[0].isolateFor: only applies to action isolate'],
    ],
    [
      "a rule named as the deployment's protection",
      { rules: [{ name: 'Domain-Controllers', title: '*dc*', action: 'skip' }] },
      [
        "MDE_TENANTS: [1].policy.rules[0].name: 'Domain-Controllers' is already used by the deployment's protection 'domain-controllers'",
      ],
    ],
    [
      'a removal of a rule the deployment does not have',
      { rules: [{ name: 'nope', remove: true }] },
      ["MDE_TENANTS: [1].policy.rules[0]: removes rule 'nope', which the deployment's policy does not have"],
    ],
    [
      'a removal with more than a name',
      { protections: [{ name: 'proxies', remove: true, tags: ['x'] }] },
      [
        'MDE_TENANTS: [1].policy.protections[0]: a removal is { "name": "…", "remove": true } and nothing else',
      ],
    ],
    [
      'a name given twice',
      {
        rules: [
          { name: 'kiosks', tags: ['Kiosk'], action: 'skip' },
          { name: 'KIOSKS', tags: ['Kiosk'], action: 'escalate' },
        ],
      },
      ['MDE_TENANTS: [1].policy.rules[1].name: names the rule rules[0] names; give each once'],
    ],
    [
      'rules that are no list',
      { rules: { name: 'x' } },
      ['MDE_TENANTS: [1].policy.rules: must be a list (got an object)'],
    ],
    [
      'a version of its own',
      { version: 'fabrikam-1' },
      [
        expect.stringMatching(
          /^MDE_TENANTS: \[1\]\.policy\.version: is the deployment's version and a digest/,
        ),
      ],
    ],
    [
      'enforce',
      { mode: 'enforce' },
      [expect.stringMatching(/^MDE_TENANTS: \[1\]\.policy\.mode: only "dry-run"/)],
    ],
  ])('%s', (_what, override, expected) => {
    expect(problemsOf(override)).toEqual(expected);
  });

  it("names the deployment's rules a tenant's catch-all leaves unreachable", () => {
    const problems = problemsOf({ rules: [{ name: 'everything', action: 'escalate' }] });
    expect(problems).toContain(
      "MDE_TENANTS: [1].policy: the deployment's rule 'servers-escalate': is never reached: policy.rules[0] ('everything') has no conditions and matches every alert",
    );
    expect(problems).toHaveLength(5);
  });

  it('makes the settings unusable: health and the triggers see MDE_TENANTS invalid, the log says where', async () => {
    const lines: string[] = [];
    const writer = { log: () => {}, warn: () => {}, error: (line: string) => void lines.push(line) };
    const check = await withinInvocation({ writer }, async () =>
      checkConfiguration(
        settingsWith({
          rules: [{ name: 'ransomware-workstations', categories: ['Ransomware'], action: 'quarantine' }],
        }),
      ),
    );
    expect(check).toEqual({ valid: false, component: 'settings', invalidSettings: ['MDE_TENANTS'] });
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('"event":"configuration-invalid"');
    expect(lines[0]).toContain(
      'MDE_TENANTS: [1].policy.rules[0].action: must be one of isolate, escalate, skip',
    );
    expect(
      checkConfiguration(settingsWith({ rules: [{ name: 'kiosks', tags: ['Kiosk'], action: 'skip' }] })),
    ).toMatchObject({ valid: true });
  });

  it("bounds an override's size in the tenant list", () => {
    const description = 'x'.repeat(MAX_TENANT_POLICY_CHARS);
    const { problems } = parseTenantList(
      JSON.stringify([{ tenantId: CONTOSO, displayName: 'Contoso', policy: { description } }]),
    );
    expect(problems).toEqual([
      `[0].policy: is longer than ${MAX_TENANT_POLICY_CHARS} characters as JSON: write only what differs from the deployment's policy`,
    ]);
  });
});
