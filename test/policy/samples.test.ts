/**
 * What the shipped default policy decides for the team samples (01–12), at intake and, for devices
 * that need it, in the worker with a plausible machine record.
 */
import { isParsed, parseAlertPayload } from '../../shared/alerts/parse';
import { loadPolicy } from '../../shared/policy/load';
import { fixture } from '../fixtures';
import { machineOf } from './builders';

const policy = loadPolicy({ kind: 'default' }, null);

function intake(file: string) {
  const [outcome] = parseAlertPayload(fixture(file));
  if (!isParsed(outcome)) throw new Error(`${file} did not parse: ${outcome.problem.message}`);
  return { alert: outcome.alert, decisions: policy.decideAlert(outcome.alert) };
}

describe('default policy over the samples', () => {
  it.each([
    ['01-sentinel-incident-xdr-single-host.json', 'escalate', 'high-severity-review', false],
    ['03-sentinel-incident-hostname-only-low.json', 'skip', 'default', false],
    ['05-sentinel-alert-trigger-entities-array.json', 'skip', 'default', false],
    ['07-azmon-logalert-v2-fired-dimensions.json', 'escalate', 'high-severity-review', false],
    ['10-mde-api-alert-medium.json', 'skip', 'default', false],
    ['11-graph-alert-v2-device-evidence.json', 'isolate', 'ransomware-workstations', true],
  ])('%s → %s (%s) at intake', (file, action, rule, needsDeviceCheck) => {
    const { decisions } = intake(file);
    expect(decisions).toHaveLength(1);
    expect(decisions[0]).toMatchObject({ action, rule, needsDeviceCheck, mode: 'dry-run' });
  });

  it('12 (no device) gives no decision', () => {
    expect(intake('12-graph-alert-v2-no-device-evidence.json').decisions).toEqual([]);
  });

  it.each([
    ['Windows11', [], 'isolate', 'ransomware-workstations'],
    ['WindowsServer2022', [], 'escalate', 'servers-escalate'],
    ['Windows11', ['DomainController'], 'escalate', 'domain-controllers'],
    ['Windows7', [], 'escalate', 'high-severity-review'],
  ])('11 on a %s machine tagged %o → %s (%s) in the worker', (osPlatform, machineTags, action, rule) => {
    const { alert } = intake('11-graph-alert-v2-device-evidence.json');
    const machine = machineOf({ id: alert.devices[0].mdeDeviceId, osPlatform, machineTags });
    expect(policy.decideDevice(alert, alert.devices[0], machine)).toMatchObject({
      action,
      rule,
      mode: 'dry-run',
    });
  });
});
