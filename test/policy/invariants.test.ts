/** Safety properties that must hold for any alert, machine and policy input. */
import fc from 'fast-check';
import { ALERT_SOURCES, type NormalizedAlert, SEVERITIES } from '../../shared/alerts/model';
import { COMMENT_MAX_LENGTH } from '../../shared/policy/document';
import { loadPolicy } from '../../shared/policy/load';
import { validatePolicy } from '../../shared/policy/validate';
import { machineOf } from './builders';

const policy = loadPolicy({ kind: 'default' }, 'enforce');

const alerts = fc.record<NormalizedAlert>({
  source: fc.constantFrom(...ALERT_SOURCES),
  alertId: fc.string({ minLength: 1 }),
  incidentId: fc.option(fc.string()),
  incidentArmId: fc.constant(null),
  title: fc.string({ unit: 'binary' }),
  severity: fc.constantFrom(...SEVERITIES),
  firing: fc.boolean(),
  categories: fc.array(fc.constantFrom('Ransomware', 'CredentialAccess', 'Execution', 'Malware')),
  mitreTechniques: fc.array(fc.constantFrom('T1486', 'T1486.001', 'T1490', 'T1059')),
  devices: fc.constant([{ hostname: 'device' }]),
});
const machines = fc
  .record({
    osPlatform: fc.constantFrom('Windows10', 'Windows11', 'WindowsServer2022', 'Linux', 'macOS', 'Windows7'),
    computerDnsName: fc.constantFrom('fin-ws-01.corp', 'dc01.corp', 'vpn-gw.corp', 'web10.corp'),
    machineTags: fc.subarray(['VIP', 'DomainController', 'Hyper-V Host', 'DoNotIsolate']),
  })
  .map((fields) => machineOf(fields));

describe('policy invariants', () => {
  it('never isolates a device that a protection covers, nor anything for a resolved alert', () => {
    fc.assert(
      fc.property(alerts, machines, (alert, machine) => {
        const decision = policy.decideDevice(alert, alert.devices[0], machine);
        const protectedDevice =
          /^(dc|vpn)/.test(machine.computerDnsName ?? '') || machine.machineTags.some((tag) => tag !== 'VIP');
        if (protectedDevice || !alert.firing) expect(decision.action).not.toBe('isolate');
      }),
    );
  });

  it('renders a comment within the length cap, on one line, for any alert text', () => {
    fc.assert(
      fc.property(alerts, machines, (alert, machine) => {
        const decision = policy.decideDevice(alert, alert.devices[0], machine);
        const comment = policy.comment(alert, decision, 'someone');
        expect(comment.length).toBeLessThanOrEqual(COMMENT_MAX_LENGTH);
        expect(comment).not.toMatch(/[\p{Cc}\p{Cf}]/u);
      }),
    );
  });

  it('validates any JSON value without throwing', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const result = validatePolicy(value);
        expect(result.valid || result.errors.length > 0).toBe(true);
      }),
    );
  });
});
