/** Safety properties that must hold for any alert, machine and policy input. */

import fc from 'fast-check';
import { ALERT_SOURCES, type NormalizedAlert, SEVERITIES } from '../../shared/alerts/model';
import { breakerLimits } from '../../shared/dispatch/steps/blast-radius';
import type { Machine } from '../../shared/mde/types';
import { COMMENT_MAX_LENGTH, type RuleSpec } from '../../shared/policy/document';
import { createPolicy } from '../../shared/policy/engine';
import { loadPolicy } from '../../shared/policy/load';
import { validatePolicy } from '../../shared/policy/validate';
import { InMemoryStateStore } from '../../shared/state/memory';
import { admitIsolation } from '../support/breaker';
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

describe('safety properties under generated policies and sparse machine records', () => {
  const NOW = new Date('2026-11-29T00:00:00Z');
  const document = (mode: 'enforce' | 'dry-run', rules: RuleSpec[]) => ({
    version: 'prop-1',
    mode,
    protections: [
      { name: 'vip', tags: ['VIP'], action: 'selective' as const },
      { name: 'keep', tags: ['DoNotIsolate', 'Tier0*'] },
      { name: 'dcs', hostnames: ['dc[0-9]*', '*.dmz.corp'] },
      { name: 'tier0-groups', deviceGroups: ['Tier 0 (DCs)', 'Tier 0 (PKI)*'] },
    ],
    rules,
    blastRadius: { maxDevicesPerAlert: 100 },
  });
  const loaded = (mode: 'enforce' | 'dry-run', rules: RuleSpec[]) => {
    const result = validatePolicy(document(mode, rules));
    if (!result.valid) throw new Error(JSON.stringify(result.errors));
    return createPolicy(result.policy);
  };

  const RULE_POOL: RuleSpec[] = [
    {
      name: 'healthy-risky',
      healthStatuses: ['Active'],
      minRiskScore: 'Medium',
      action: 'isolate',
      isolationType: 'Selective',
    },
    { name: 'servers', osPlatforms: ['WindowsServer*', 'Linux'], action: 'escalate' },
    { name: 'ransomware', categories: ['Ransomware'], action: 'isolate' },
    { name: 'tagged-lab', tags: ['Lab*'], action: 'isolate' },
    { name: 'quiet', minSeverity: 'high', action: 'skip' },
    { name: 'by-name', hostnames: ['ws-*'], action: 'isolate', isolationType: 'Selective' },
    { name: 'everything', action: 'isolate' },
  ];
  const rules = fc
    .subarray(RULE_POOL.slice(0, -1), { minLength: 0 })
    .chain((picked) => fc.boolean().map((catchAll) => (catchAll ? [...picked, RULE_POOL[6]] : picked)));
  /** Mostly a value, sometimes null or missing, as MDE machine records are. */
  const maybe = <T>(arb: fc.Arbitrary<T>) =>
    fc.oneof({ arbitrary: arb, weight: 6 }, fc.constant(null), fc.constant(undefined));
  const sparseMachines = fc
    .record({
      osPlatform: maybe(
        fc.constantFrom('Windows11', 'Windows10', 'WindowsServer2019', 'Linux', 'macOS', 'Windows7', ''),
      ),
      computerDnsName: maybe(
        fc.constantFrom(
          'ws-01.corp',
          'DC01.corp.example',
          'dc7',
          'web.dmz.corp',
          'WEB.DMZ.CORP',
          'mydc01.corp',
          '.corp',
        ),
      ),
      machineTags: maybe(
        fc.subarray(['donotisolate', 'DONOTISOLATE ', 'tier0-apps', 'LabBox', 'VIP', 'Hyper-V']),
      ),
      rbacGroupName: maybe(fc.constantFrom('TIER 0 (DCS)', 'tier 0 (pki) EU', 'Tier 0 PKI', 'Workstations')),
      healthStatus: maybe(fc.constantFrom('Active', 'Inactive')),
      riskScore: maybe(fc.constantFrom('High', 'Low')),
      version: maybe(fc.constantFrom('1607', '22H2', 'garbage')),
      onboardingStatus: maybe(fc.constantFrom('Onboarded', 'CanBeOnboarded')),
      agentVersion: maybe(fc.constantFrom('101.98.84', '101.1.1')),
    })
    .map((fields) => ({ ...machineOf(), ...fields }) as Machine);
  const sparseAlerts = alerts.chain((alert) =>
    fc
      .record({
        fqdn: fc.option(fc.constantFrom('dc02.corp', 'ws-09.corp', 'x.dmz.corp'), { nil: undefined }),
      })
      .map(({ fqdn }) => ({ ...alert, devices: [fqdn ? { fqdn } : { hostname: 'device' }] })),
  );

  const tagsOf = (machine: Machine) => (machine.machineTags ?? []).map((t) => t.trim().toLowerCase());
  /** Written independently of the engine: what the escalating protections above cover (VIP comes first). */
  function isProtected(alert: NormalizedAlert, machine: Machine): boolean {
    const tags = tagsOf(machine);
    if (tags.includes('vip')) return false;
    if (tags.some((t) => t === 'donotisolate' || t.startsWith('tier0'))) return true;
    const names = [machine.computerDnsName, alert.devices[0].fqdn, alert.devices[0].hostname]
      .filter((n): n is string => !!n)
      .map((n) => n.toLowerCase());
    if (names.some((n) => /^dc[0-9]/.test(n) || n.endsWith('.dmz.corp'))) return true;
    const group = machine.rbacGroupName?.toLowerCase() ?? '';
    return group === 'tier 0 (dcs)' || group.startsWith('tier 0 (pki)');
  }

  it('never isolates a protected device or for a resolved alert, and never throws on null fields', () => {
    fc.assert(
      fc.property(rules, sparseAlerts, sparseMachines, (ruleList, alert, machine) => {
        const decision = loaded('enforce', ruleList).decideDevice(alert, alert.devices[0], machine);
        if (isProtected(alert, machine) || !alert.firing) expect(decision.action).not.toBe('isolate');
        if (!machine.osPlatform) expect(decision.action).not.toBe('isolate');
        if (decision.action === 'isolate' && tagsOf(machine).includes('vip'))
          expect(decision.isolationType).toBe('Selective');
      }),
      { numRuns: 500 },
    );
  });

  it('an open breaker turns every automatic isolation into escalate', async () => {
    await fc.assert(
      fc.asyncProperty(rules, sparseAlerts, sparseMachines, async (ruleList, alert, machine) => {
        const policy = loaded('enforce', ruleList);
        const store = new InMemoryStateStore({ clock: { now: () => NOW.getTime() } });
        const limits = breakerLimits(policy);
        await admitIsolation(store, limits, { manual: false });
        await store.breaker.trip('blast-radius breaker open: test');
        const breaker = await store.breaker.status(limits);
        const decision = policy.decideDevice(alert, alert.devices[0], machine, { now: NOW, breaker });
        if (alert.source !== 'manual') expect(decision.action).not.toBe('isolate');
        expect((await admitIsolation(store, limits, { manual: alert.source === 'manual' })).allowed).toBe(
          alert.source === 'manual',
        );
      }),
    );
  });

  it('dry-run decisions are never enforce, at either stage', () => {
    fc.assert(
      fc.property(rules, sparseAlerts, sparseMachines, (ruleList, alert, machine) => {
        const policy = loaded('dry-run', ruleList);
        const decisions = [
          ...policy.decideAlert(alert),
          policy.decideDevice(alert, alert.devices[0], machine),
        ];
        for (const decision of decisions) expect(decision.mode).toBe('dry-run');
      }),
    );
  });

  it('intake never drops a device the worker would isolate', () => {
    fc.assert(
      fc.property(rules, sparseAlerts, sparseMachines, (ruleList, alert, machine) => {
        const policy = loaded('enforce', ruleList);
        const [atIntake] = policy.decideAlert(alert);
        const inWorker = policy.decideDevice(alert, alert.devices[0], machine);
        if (inWorker.action === 'isolate') expect(atIntake.action).toBe('isolate');
        if (!atIntake.needsDeviceCheck && atIntake.action !== 'isolate')
          expect(inWorker.action).toBe(atIntake.action);
      }),
    );
  });
});
