import type { NormalizedAlert } from '../../shared/alerts/model';
import type { Machine } from '../../shared/mde/types';
import type { RuleSpec } from '../../shared/policy/document';
import { alertOf } from '../support/alerts';
import { decideOn, machineOf, policyOf } from './builders';

type Case = [
  string,
  Omit<RuleSpec, 'name' | 'action'>,
  { alert?: Partial<NormalizedAlert>; machine?: Partial<Machine> },
  boolean,
];

// Each condition alone on a rule: does the rule decide, or does the default action?
const CASES: Case[] = [
  ['minSeverity equal', { minSeverity: 'high' }, { alert: { severity: 'high' } }, true],
  ['minSeverity above', { minSeverity: 'medium' }, { alert: { severity: 'high' } }, true],
  ['minSeverity below', { minSeverity: 'high' }, { alert: { severity: 'medium' } }, false],
  ['sources listed', { sources: ['graph-alert', 'mde-alert'] }, { alert: { source: 'mde-alert' } }, true],
  ['sources not listed', { sources: ['azure-monitor'] }, { alert: { source: 'mde-alert' } }, false],
  [
    'category, other spelling',
    { categories: ['credential access'] },
    { alert: { categories: ['CredentialAccess'] } },
    true,
  ],
  [
    'category, one of several',
    { categories: ['Ransomware'] },
    { alert: { categories: ['Execution', 'ransomware'] } },
    true,
  ],
  ['category absent', { categories: ['Ransomware'] }, { alert: { categories: ['InitialAccess'] } }, false],
  ['category, alert has none', { categories: ['Ransomware'] }, { alert: { categories: [] } }, false],
  ['technique exact', { mitreTechniques: ['T1486'] }, { alert: { mitreTechniques: ['T1486'] } }, true],
  [
    'technique covers sub-technique',
    { mitreTechniques: ['t1486'] },
    { alert: { mitreTechniques: ['T1486.001'] } },
    true,
  ],
  [
    'sub-technique does not cover parent',
    { mitreTechniques: ['T1003.001'] },
    { alert: { mitreTechniques: ['T1003'] } },
    false,
  ],
  [
    'technique is not a number prefix',
    { mitreTechniques: ['T1486'] },
    { alert: { mitreTechniques: ['T14860'] } },
    false,
  ],
  [
    'title glob',
    { title: '*ransom*' },
    { alert: { title: 'Possible RANSOMWARE activity / encryption' } },
    true,
  ],
  [
    'title glob is anchored',
    { title: 'ransom*' },
    { alert: { title: 'Possible ransomware activity' } },
    false,
  ],
  ['firing', { firing: true }, { alert: { firing: true } }, true],
  ['tag glob', { tags: ['fin-*'] }, { machine: { machineTags: ['VIP', 'FIN-Laptops'] } }, true],
  ['tag absent', { tags: ['fin-*'] }, { machine: { machineTags: ['VIP'] } }, false],
  ['device group', { deviceGroups: ['workstations'] }, { machine: { rbacGroupName: 'Workstations' } }, true],
  ['device group none', { deviceGroups: ['Workstations'] }, { machine: { rbacGroupName: null } }, false],
  ['os platform glob', { osPlatforms: ['Windows1*'] }, { machine: { osPlatform: 'Windows10' } }, true],
  ['os platform other', { osPlatforms: ['Windows1*'] }, { machine: { osPlatform: 'macOS' } }, false],
  ['health status', { healthStatuses: ['Active'] }, { machine: { healthStatus: 'Active' } }, true],
  ['health status other', { healthStatuses: ['Active'] }, { machine: { healthStatus: 'Inactive' } }, false],
  [
    'hostname glob on short name',
    { hostnames: ['acct-lt-*'] },
    { machine: { computerDnsName: 'ACCT-LT-0093.ad.example' } },
    true,
  ],
  ['hostname glob on FQDN', { hostnames: ['*.ad.northwind.example'] }, {}, true],
  [
    'hostname exact: web1 is not web10',
    { hostnames: ['web1'] },
    { machine: { computerDnsName: 'web10.corp' } },
    false,
  ],
  [
    'hostname glob is anchored: dc* is not mydc01',
    { hostnames: ['dc*'] },
    { machine: { computerDnsName: 'mydc01.corp' } },
    false,
  ],
  [
    'FQDN glob needs the whole suffix',
    { hostnames: ['*.lab.corp'] },
    { machine: { computerDnsName: 'ws1.lab.corp.evil.example' } },
    false,
  ],
  [
    'FQDN glob does not match a bare name',
    { hostnames: ['*.lab.corp'] },
    { machine: { computerDnsName: 'ws1' } },
    false,
  ],
  [
    'FQDN glob, any case',
    { hostnames: ['*.lab.corp'] },
    { machine: { computerDnsName: 'WS1.Lab.Corp' } },
    true,
  ],
  ['no name at all', { hostnames: ['*'] }, { machine: { computerDnsName: null } }, false],
  ['tag, any case', { tags: ['DoNotIsolate'] }, { machine: { machineTags: ['DONOTISOLATE'] } }, true],
  [
    'tag with parentheses, any case',
    { tags: ['Owner (SOC)'] },
    { machine: { machineTags: ['owner (soc)'] } },
    true,
  ],
  ['tags missing from the record', { tags: ['*'] }, { machine: { machineTags: undefined } }, false],
  [
    'device group with parentheses and a glob',
    { deviceGroups: ['Servers (Prod*)'] },
    { machine: { rbacGroupName: 'SERVERS (PRODUCTION)' } },
    true,
  ],
  ['os platform unknown', { osPlatforms: ['*'] }, { machine: { osPlatform: null } }, false],
  ['health status missing', { healthStatuses: ['Active'] }, { machine: { healthStatus: undefined } }, false],
  ['device id, any case', { deviceIds: ['41D31F1735BEB60B6BF9B591CE42C615D3A2C9A5'] }, {}, true],
  ['device id other', { deviceIds: ['0a28179d066c63a45b98d678638e0b258f6b38f2'] }, {}, false],
  ['risk score at least', { minRiskScore: 'Medium' }, { machine: { riskScore: 'High' } }, true],
  ['risk score below', { minRiskScore: 'High' }, { machine: { riskScore: 'Medium' } }, false],
  ['risk score unknown', { minRiskScore: 'None' }, { machine: { riskScore: null } }, false],
  ['exposure at least', { minExposureLevel: 'Medium' }, { machine: { exposureLevel: 'Medium' } }, true],
  ['exposure below', { minExposureLevel: 'High' }, { machine: { exposureLevel: 'Low' } }, false],
  [
    'all conditions must hold',
    { minSeverity: 'high', osPlatforms: ['macOS'] },
    { alert: { severity: 'high' } },
    false,
  ],
];

describe('rule conditions', () => {
  it.each(CASES)('%s', (_name, conditions, { alert, machine }, matches) => {
    const policy = policyOf({ rules: [{ name: 'under-test', action: 'escalate', ...conditions }] });
    const decision = decideOn(policy, alertOf(alert), machineOf(machine));
    expect(decision.rule).toBe(matches ? 'under-test' : 'default');
    expect(decision.action).toBe(matches ? 'escalate' : 'skip');
    expect(decision.trace?.find((t) => t.rule === 'under-test')).toMatchObject({ matched: matches });
  });
});
