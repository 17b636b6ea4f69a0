/** The guide's worked policy examples (docs/guide/policy.md) do what the guide says they do. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { NormalizedAlert } from '../../shared/alerts/model';
import type { Machine } from '../../shared/mde/types';
import { loadPolicy } from '../../shared/policy/load';
import type { Decision } from '../../shared/policy/types';
import { alertOf } from '../support/alerts';
import { decideOn, machineOf } from './builders';

function example(name: string) {
  const path = join(__dirname, '../../shared/policy/examples', name);
  return loadPolicy({ kind: 'file', path, text: readFileSync(path, 'utf8') }, null);
}

type Expected = [Decision['action'], Decision['isolationType'], string];

describe('example: ransomware auto-isolation', () => {
  const policy = example('ransomware-auto-isolation.json');

  it.each<[string, Partial<NormalizedAlert>, Partial<Machine>, ...Expected]>([
    [
      'a workstation, medium ransomware',
      { severity: 'medium' },
      {},
      'isolate',
      'Full',
      'ransomware-workstations',
    ],
    ['a VIP laptop', {}, { machineTags: ['VIP'] }, 'isolate', 'Selective', 'ransomware-workstations'],
    [
      'a domain controller',
      {},
      { computerDnsName: 'dc01.corp.example' },
      'escalate',
      'Full',
      'domain-controllers',
    ],
    [
      'encryption by title',
      { categories: [], title: 'Ransom note dropped' },
      {},
      'isolate',
      'Full',
      'encryption-technique-workstations',
    ],
    [
      'other high alert',
      { categories: ['Execution'], title: 'Suspicious PowerShell', mitreTechniques: ['T1059'] },
      {},
      'escalate',
      'Full',
      'high-severity-review',
    ],
  ])('%s', (_name, alert, machine, action, isolationType, rule) => {
    expect(decideOn(policy, alertOf(alert), machineOf(machine))).toMatchObject({
      action,
      isolationType,
      rule,
      mode: 'enforce',
    });
  });

  it('stops automation for an alert naming three workstations', () => {
    const devices = ['a', 'b', 'c'].map((hostname) => ({ hostname }));
    expect(policy.decideAlert(alertOf({ devices })).map((d) => d.action)).toEqual([
      'escalate',
      'escalate',
      'escalate',
    ]);
  });
});

describe('example: servers escalate', () => {
  const policy = example('servers-escalate.json');
  const credentialTheft = alertOf({ severity: 'medium', categories: ['CredentialAccess'] });

  it.each<[string, Partial<Machine>, ...Expected]>([
    ['a Linux server', { osPlatform: 'Linux' }, 'escalate', 'Full', 'servers-escalate'],
    [
      'a workstation in a production group',
      { rbacGroupName: 'Production EU' },
      'escalate',
      'Selective',
      'server-group',
    ],
    ['a risky, exposed workstation', {}, 'isolate', 'Selective', 'risky-workstations'],
    [
      'the same on Windows 10 1703',
      { osPlatform: 'Windows10', version: '1703' },
      'isolate',
      'Full',
      'risky-workstations',
    ],
    ['a low-risk workstation', { riskScore: 'Low' }, 'skip', 'Full', 'default'],
    ['an inactive workstation', { healthStatus: 'Inactive' }, 'skip', 'Full', 'default'],
  ])('%s', (_name, machine, action, isolationType, rule) => {
    expect(decideOn(policy, credentialTheft, machineOf(machine))).toMatchObject({
      action,
      isolationType,
      rule,
    });
  });
});
