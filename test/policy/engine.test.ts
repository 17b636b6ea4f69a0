import { MAX_DEVICES_PER_ALERT } from '../../shared/alerts/model';
import { breakerLimits } from '../../shared/dispatch/steps/blast-radius';
import type { ProtectionSpec, RuleSpec } from '../../shared/policy/document';
import { createPolicy } from '../../shared/policy/engine';
import { InMemoryStateStore } from '../../shared/state/memory';
import { alertOf, DEVICE_ID } from '../support/alerts';
import { admitIsolation } from '../support/breaker';
import { decideOn, machineOf, policyOf } from './builders';

const NOW = new Date('2026-11-29T00:00:00Z');
const ransomware: RuleSpec = { name: 'ransomware', categories: ['Ransomware'], action: 'isolate' };
const workstations: RuleSpec = {
  name: 'ransomware-workstations',
  description: 'workstation',
  categories: ['Ransomware'],
  osPlatforms: ['Windows1*'],
  action: 'isolate',
};
const servers: RuleSpec = { name: 'servers', osPlatforms: ['WindowsServer*'], action: 'escalate' };
const dcs: ProtectionSpec = {
  name: 'domain-controllers',
  tags: ['DomainController'],
  hostnames: ['dc[0-9]*'],
};

describe('actions', () => {
  it.each([
    [{ action: 'isolate' }, 'isolate', 'Full'],
    [{ action: 'isolate', isolationType: 'Selective' }, 'isolate', 'Selective'],
    [{ action: 'escalate' }, 'escalate', 'Full'],
    [{ action: 'skip' }, 'skip', 'Full'],
  ] as const)('%o decides %s %s', (spec, action, isolationType) => {
    const decision = decideOn(policyOf({ rules: [{ name: 'r', ...spec }] }), alertOf(), machineOf());
    expect(decision).toMatchObject({
      action,
      isolationType,
      rule: 'r',
      policyVersion: 'test-1',
      needsDeviceCheck: false,
    });
  });

  it.each(['skip', 'escalate'] as const)('no rule matching gives the default action %s', (defaultAction) => {
    const policy = policyOf({ rules: [{ ...ransomware, minSeverity: 'high' }], defaultAction });
    const decision = decideOn(policy, alertOf({ severity: 'low' }), machineOf());
    expect(decision).toMatchObject({ action: defaultAction, rule: 'default' });
    expect(decision.reason).toContain('no rule matched');
  });

  it('explains in one sentence: alert, device, why, rule', () => {
    const decision = decideOn(policyOf({ rules: [workstations] }), alertOf(), machineOf());
    expect(decision.reason).toBe(
      'high-severity Ransomware alert da6388562128… on acct-lt-0093 (Windows11): workstation; rule ransomware-workstations: isolate (Full).',
    );
  });
});

describe('rule order', () => {
  it('the first matching rule wins', () => {
    const rules: RuleSpec[] = [
      { name: 'low-first', minSeverity: 'low', action: 'escalate' },
      { name: 'ransomware', categories: ['Ransomware'], action: 'isolate' },
    ];
    expect(decideOn(policyOf({ rules }), alertOf(), machineOf()).rule).toBe('low-first');
    expect(decideOn(policyOf({ rules: [...rules].reverse() }), alertOf(), machineOf()).rule).toBe(
      'ransomware',
    );
  });

  it('traces every rule tried and why it did not match', () => {
    const policy = policyOf({ protections: [dcs], rules: [servers, workstations] });
    const trace = decideOn(policy, alertOf(), machineOf())?.trace;
    expect(trace).toEqual([
      { rule: 'domain-controllers', matched: false, why: 'no listed id, name, tag or group' },
      { rule: 'servers', matched: false, why: 'platform Windows11 vs WindowsServer*' },
      {
        rule: 'ransomware-workstations',
        matched: true,
        why: 'category Ransomware; platform Windows11 vs Windows1*',
      },
    ]);
  });

  it('leaves the trace out unless asked', () => {
    const policy = policyOf({ rules: [ransomware] });
    expect(policy.decideDevice(alertOf(), alertOf().devices[0], machineOf()).trace).toBeUndefined();
    expect(policy.decideAlert(alertOf())[0].trace).toBeUndefined();
  });
});

describe('protections come before rules', () => {
  it('a protected device is escalated, not isolated', () => {
    const policy = policyOf({ protections: [dcs], rules: [ransomware] });
    const decision = decideOn(policy, alertOf(), machineOf({ machineTags: ['DomainController'] }));
    expect(decision).toMatchObject({ action: 'escalate', rule: 'domain-controllers' });
    expect(decision.reason).toContain(
      'protected by domain-controllers (tag DomainController); rule ransomware would isolate it',
    );
  });

  it.each([
    ['device id', { deviceIds: [DEVICE_ID.toUpperCase()] }, {}],
    ['device group', { deviceGroups: ['tier 0*'] }, { rbacGroupName: 'Tier 0 servers' }],
    ['hostname', { hostnames: ['acct-lt-*'] }, {}],
  ])('protects by %s', (_what, selector, machine) => {
    const policy = policyOf({ protections: [{ name: 'p', ...selector }], rules: [ransomware] });
    expect(decideOn(policy, alertOf(), machineOf(machine))).toMatchObject({ action: 'escalate', rule: 'p' });
  });

  it('a selective protection turns a Full isolation into Selective', () => {
    const policy = policyOf({
      protections: [{ name: 'vip', tags: ['VIP'], action: 'selective' }],
      rules: [ransomware],
    });
    const decision = decideOn(policy, alertOf(), machineOf({ machineTags: ['VIP'] }));
    expect(decision).toMatchObject({ action: 'isolate', isolationType: 'Selective', rule: 'ransomware' });
  });

  it('a selective protection escalates where Selective is impossible instead of isolating Full', () => {
    const policy = policyOf({
      protections: [{ name: 'vip', tags: ['VIP'], action: 'selective' }],
      rules: [ransomware],
    });
    const decision = decideOn(policy, alertOf(), machineOf({ machineTags: ['VIP'], osPlatform: 'Linux' }));
    expect(decision).toMatchObject({ action: 'escalate', isolationType: 'Selective', rule: 'vip' });
    expect(decision.reason).toContain('Selective isolation is not supported on Linux');
  });

  it('does not turn a skip into work for a person', () => {
    const policy = policyOf({ protections: [dcs], rules: [ransomware] });
    const decision = decideOn(
      policy,
      alertOf({ categories: ['Execution'] }),
      machineOf({ machineTags: ['DomainController'] }),
    );
    expect(decision).toMatchObject({ action: 'skip', rule: 'default' });
  });
});

describe('two-stage evaluation', () => {
  it('decides a resolved alert at intake and in the worker', () => {
    const policy = policyOf({ rules: [ransomware] });
    const alert = alertOf({ firing: false });
    for (const decision of [policy.decideAlert(alert)[0], decideOn(policy, alert, machineOf())])
      expect(decision).toMatchObject({ action: 'skip', rule: 'not-firing', needsDeviceCheck: false });
    expect(policy.decideAlert(alert)[0].reason).toContain('alert is resolved/closed');
  });

  it('gives no decision for an alert without devices', () => {
    expect(policyOf({ rules: [ransomware] }).decideAlert(alertOf({ devices: [] }))).toEqual([]);
  });

  it('gives one decision per device', () => {
    const devices = [{ mdeDeviceId: DEVICE_ID }, { hostname: 'kiosk-lobby-07' }];
    const decisions = policyOf({ rules: [ransomware] }).decideAlert(alertOf({ devices }));
    expect(decisions.map((d) => d.device)).toEqual(devices);
  });

  it('an isolation always waits for the machine record', () => {
    const decision = policyOf({ rules: [ransomware] }).decideAlert(alertOf())[0];
    expect(decision).toMatchObject({ action: 'isolate', rule: 'ransomware', needsDeviceCheck: true });
  });

  it('a skip or escalate that needs no device condition is final at intake', () => {
    const policy = policyOf({
      rules: [
        { ...ransomware, minSeverity: 'high' },
        { name: 'rest', action: 'escalate' },
      ],
    });
    expect(policy.decideAlert(alertOf({ severity: 'low' }))[0]).toMatchObject({
      action: 'escalate',
      rule: 'rest',
      needsDeviceCheck: false,
    });
  });

  it('a rule with device conditions leaves the outcome open, tentatively isolating', () => {
    const policy = policyOf({ rules: [servers, workstations, { name: 'rest', action: 'escalate' }] });
    const decision = policy.decideAlert(alertOf(), { trace: true })[0];
    expect(decision).toMatchObject({
      action: 'isolate',
      rule: 'ransomware-workstations',
      needsDeviceCheck: true,
    });
    expect(decision.reason).toContain(
      'depends on the machine record (servers → escalate, ransomware-workstations → isolate (Full), rest → escalate)',
    );
    expect(decision.trace?.map((t) => [t.rule, t.matched])).toEqual([
      ['servers', false],
      ['ransomware-workstations', false],
      ['rest', true],
    ]);
    expect(decideOn(policy, alertOf(), machineOf({ osPlatform: 'WindowsServer2022' }))).toMatchObject({
      action: 'escalate',
      rule: 'servers',
    });
  });

  it('does not spend a machine lookup when every possible outcome is the same escalate', () => {
    const policy = policyOf({ rules: [servers, { name: 'rest', action: 'escalate' }] });
    const decision = policy.decideAlert(alertOf())[0];
    expect(decision).toMatchObject({ action: 'escalate', rule: 'rest', needsDeviceCheck: false });
    expect(decision.reason).toContain('servers would also escalate');
  });

  it('leaves a name match to the worker when an earlier selective protection may still apply', () => {
    const vip: ProtectionSpec = { name: 'vip', tags: ['VIP'], action: 'selective' };
    const policy = policyOf({ protections: [vip, dcs], rules: [ransomware] });
    const alert = alertOf({ devices: [{ fqdn: 'dc01.corp.example' }] });
    expect(policy.decideAlert(alert)[0]).toMatchObject({ action: 'isolate', needsDeviceCheck: true });
    const tagged = machineOf({ computerDnsName: 'dc01.corp.example', machineTags: ['VIP'] });
    expect(decideOn(policy, alert, tagged)).toMatchObject({
      action: 'isolate',
      isolationType: 'Selective',
      rule: 'ransomware',
    });
    const untagged = machineOf({ computerDnsName: 'dc01.corp.example' });
    expect(decideOn(policy, alert, untagged)).toMatchObject({
      action: 'escalate',
      rule: 'domain-controllers',
    });
  });

  it('decides at intake a device protected by a name from the alert', () => {
    const policy = policyOf({ protections: [dcs], rules: [ransomware] });
    const decision = policy.decideAlert(alertOf({ devices: [{ fqdn: 'DC01.corp.example' }] }))[0];
    expect(decision).toMatchObject({
      action: 'escalate',
      rule: 'domain-controllers',
      needsDeviceCheck: false,
    });
  });

  it('never isolates a device that turns out protected after intake said isolate', () => {
    const policy = policyOf({ protections: [dcs], rules: [ransomware] });
    expect(policy.decideAlert(alertOf())[0].action).toBe('isolate');
    const decision = decideOn(policy, alertOf(), machineOf({ computerDnsName: 'dc07.ad.northwind.example' }));
    expect(decision).toMatchObject({ action: 'escalate', rule: 'domain-controllers' });
  });

  describe('with an override and its reason', () => {
    const overridden = alertOf({
      source: 'manual',
      categories: [],
      manual: {
        comment: 'suspicious',
        requestedBy: 'ana@northwind.example',
        overrideReason: 'golden ticket seen',
      },
    });
    const selectiveOnly: ProtectionSpec = { ...dcs, action: 'selective' };

    it.each([
      ['an escalating protection', dcs],
      ['a Selective-only protection', selectiveOnly],
    ])('waive %s, naming it, who and why', (_, protection) => {
      const decision = decideOn(
        policyOf({ protections: [protection] }),
        overridden,
        machineOf({ machineTags: ['DomainController'] }),
      );
      expect(decision).toMatchObject({ action: 'isolate', isolationType: 'Full', rule: 'manual-override' });
      expect(decision.reason).toContain(
        'protections overridden by ana@northwind.example (golden ticket seen): protected by domain-controllers',
      );
      expect(decision.trace?.map((t) => t.rule)).toContain('override');
    });

    it('change nothing where no protection matches', () => {
      const decision = decideOn(policyOf({ protections: [dcs] }), overridden, machineOf());
      expect(decision).toMatchObject({ action: 'isolate', rule: 'manual' });
    });

    it('never waive what MDE cannot do', () => {
      const decision = decideOn(
        policyOf({ protections: [dcs] }),
        overridden,
        machineOf({ machineTags: ['DomainController'], osPlatform: 'Windows7', version: null }),
      );
      expect(decision).toMatchObject({ action: 'skip', rule: 'platform' });
    });

    it('are ignored on an alert that is not manual', () => {
      const relayed = alertOf({ manual: overridden.manual });
      const decision = decideOn(
        policyOf({ rules: [ransomware], protections: [dcs] }),
        relayed,
        machineOf({ machineTags: ['DomainController'] }),
      );
      expect(decision).toMatchObject({ action: 'escalate', rule: 'domain-controllers' });
    });
  });

  it('never turn a containment into a Selective isolation: a Selective-only protection escalates it', () => {
    const contain = alertOf({
      source: 'manual',
      categories: [],
      manual: { comment: 'beaconing', isolationType: 'UnManagedDevice' },
    });
    const decision = decideOn(
      policyOf({ protections: [{ ...dcs, action: 'selective' }] }),
      contain,
      machineOf({ machineTags: ['DomainController'], onboardingStatus: 'CanBeOnboarded' }),
    );
    expect(decision).toMatchObject({ action: 'escalate', rule: 'domain-controllers' });
  });
});

describe('platform support', () => {
  it.each([
    [
      'Linux, Selective asked',
      { osPlatform: 'Linux' },
      'Selective',
      'isolate',
      'Full',
      'Selective isolation is not supported on Linux, so Full',
    ],
    [
      'Windows 10 1703, Selective asked',
      { osPlatform: 'Windows10', version: '1703' },
      'Selective',
      'isolate',
      'Full',
      'needs Windows 10 1709',
    ],
    [
      'Windows 10 1607',
      { osPlatform: 'Windows10', version: '1607' },
      'Full',
      'skip',
      'Full',
      'older than 1703',
    ],
    [
      'Windows 7',
      { osPlatform: 'Windows7' },
      'Full',
      'skip',
      'Full',
      'MDE cannot isolate the Windows7 platform',
    ],
    ['unknown platform', { osPlatform: null }, 'Full', 'skip', 'Full', 'OS platform is unknown'],
    ['not onboarded', { onboardingStatus: 'CanBeOnboarded' }, 'Full', 'skip', 'Full', 'not onboarded'],
    ['macOS', { osPlatform: 'macOS' }, 'Full', 'isolate', 'Full', 'rule r: isolate (Full)'],
  ] as const)('%s', (_name, machine, asked, action, isolationType, because) => {
    const policy = policyOf({ rules: [{ name: 'r', action: 'isolate', isolationType: asked }] });
    const decision = decideOn(policy, alertOf(), machineOf(machine));
    expect(decision).toMatchObject({ action, isolationType, rule: action === 'skip' ? 'platform' : 'r' });
    expect(decision.reason).toContain(because);
  });
});

describe('manual requests', () => {
  const manual = alertOf({
    source: 'manual',
    severity: 'informational',
    categories: [],
    manual: { comment: 'suspicious', isolationType: 'Selective', requestedBy: 'ana@northwind.example' },
  });

  it('isolate as asked without any rule', () => {
    const decision = decideOn(policyOf(), manual, machineOf());
    expect(decision).toMatchObject({ action: 'isolate', isolationType: 'Selective', rule: 'manual' });
    expect(decision.reason).toContain('manual request by ana@northwind.example');
  });

  it('still respect protections', () => {
    const decision = decideOn(
      policyOf({ protections: [dcs] }),
      manual,
      machineOf({ machineTags: ['DomainController'] }),
    );
    expect(decision).toMatchObject({ action: 'escalate', rule: 'domain-controllers' });
  });

  it('are decided in enforce mode in a dry-run policy only when manual mode is enforce', () => {
    const document = { version: 'v', mode: 'dry-run' as const, rules: [ransomware] };
    const following = createPolicy(document);
    const enforcing = createPolicy(document, null, 'enforce');
    expect(decideOn(following, manual, machineOf()).mode).toBe('dry-run');
    expect(decideOn(enforcing, manual, machineOf()).mode).toBe('enforce');
    expect(enforcing.modeFor(alertOf())).toBe('dry-run');
    expect(decideOn(enforcing, alertOf(), machineOf())).toMatchObject({ action: 'isolate', mode: 'dry-run' });
  });

  it('are neither capped per alert nor held by an open breaker', () => {
    const policy = policyOf({ blastRadius: { maxDevicesPerAlert: 1 } });
    const devices = [{ mdeDeviceId: DEVICE_ID }, { hostname: 'b' }, { hostname: 'c' }];
    const open = { open: true, reason: 'blast-radius breaker open: storm' };
    const assessed = policy.assessAlert({ ...manual, devices }, { now: NOW, breaker: open });
    expect(assessed.decisions.map((d) => d.action)).toEqual(['isolate', 'isolate', 'isolate']);
    expect(assessed.opensBreaker).toBeNull();
    expect(policy.assessAlert(alertOf({ devices }), { now: NOW }).opensBreaker).toBeNull();
  });

  it('relayed on the alert paths, isolate as asked but in the isolation mode and under the breaker', () => {
    const relayed = { ...manual, source: 'relay-manual' as const };
    const document = { version: 'v', mode: 'dry-run' as const, rules: [] };
    const enforcing = createPolicy(document, null, 'enforce');
    expect(decideOn(enforcing, relayed, machineOf())).toMatchObject({
      action: 'isolate',
      isolationType: 'Selective',
      rule: 'manual',
      mode: 'dry-run',
    });
    const open = { open: true, reason: 'blast-radius breaker open: storm' };
    const held = policyOf().assessAlert(relayed, { now: NOW, breaker: open });
    expect(held.decisions).toEqual([expect.objectContaining({ action: 'escalate', rule: 'blast-radius' })]);
  });
});

describe('blast radius', () => {
  const devices = ['a', 'b', 'c', 'd'].map((hostname) => ({ hostname }));

  it('escalates every device of an alert past the per-alert limit and opens the breaker', () => {
    const policy = policyOf({ rules: [ransomware], blastRadius: { maxDevicesPerAlert: 3 } });
    const { decisions, opensBreaker } = policy.assessAlert(alertOf({ devices }), { now: NOW, trace: true });
    expect(decisions.map((d) => [d.action, d.rule, d.needsDeviceCheck])).toEqual(
      devices.map(() => ['escalate', 'blast-radius', false]),
    );
    expect(decisions[0].reason).toContain('4 devices to isolate, more than the 3 allowed per alert');
    expect(decisions[0].trace?.at(-1)?.rule).toBe('blast-radius');
    expect(opensBreaker).toMatch(/^blast-radius breaker open: /);

    // The caller opened the shared breaker with that reason; the next decision sees it open.
    const breaker = { open: true, reason: opensBreaker };
    const next = policy.decideDevice(alertOf(), alertOf().devices[0], machineOf(), { now: NOW, breaker });
    expect(next).toMatchObject({ action: 'escalate', rule: 'blast-radius' });
    expect(next.reason).toContain('breaker open: alert da638856212847710932_-1173482659 named 4 devices');
  });

  it('leaves an alert within the limit alone', () => {
    const policy = policyOf({ rules: [ransomware], blastRadius: { maxDevicesPerAlert: 4 } });
    expect(policy.decideAlert(alertOf({ devices }), { now: NOW }).every((d) => d.action === 'isolate')).toBe(
      true,
    );
  });

  it('decides an alert over the device cap whole: one escalation, nothing isolated, breaker left closed', () => {
    const policy = policyOf({ rules: [ransomware] });
    const over = alertOf({ truncated: { devices: 80_000 } });
    const { decisions, opensBreaker } = policy.assessAlert(over, { now: NOW, trace: true });
    expect(decisions).toEqual([
      expect.objectContaining({
        device: {},
        action: 'escalate',
        rule: 'blast-radius',
        needsDeviceCheck: false,
      }),
    ]);
    expect(decisions[0].reason).toContain(
      `names 80000 devices, more than the ${MAX_DEVICES_PER_ALERT} one alert may name; none is isolated`,
    );
    expect(decisions[0].trace).toEqual([expect.objectContaining({ rule: 'blast-radius', matched: true })]);
    expect(opensBreaker).toBeNull();
    const closed = policy.decideAlert({ ...over, firing: false }, { now: NOW });
    expect(closed).toEqual([expect.objectContaining({ device: {}, action: 'skip', rule: 'not-firing' })]);
  });

  it('escalates automatic isolations while the rolling-window breaker is open', async () => {
    const policy = policyOf({ rules: [ransomware], blastRadius: { maxIsolations: 1, windowMinutes: 10 } });
    let now = NOW.getTime();
    const store = new InMemoryStateStore({ clock: { now: () => now } });
    const limits = breakerLimits(policy);
    expect((await admitIsolation(store, limits, { manual: false })).allowed).toBe(true);
    expect((await admitIsolation(store, limits, { manual: false })).allowed).toBe(false);
    const breaker = await store.breaker.status(limits);
    const decision = policy.decideDevice(alertOf(), alertOf().devices[0], machineOf(), { now: NOW, breaker });
    expect(decision).toMatchObject({ action: 'escalate', rule: 'blast-radius' });
    expect(decision.reason).toContain('1 isolation in the last 10 min (limit 1)');
    now += 10 * 60_000;
    const later = { now: new Date(now), breaker: await store.breaker.status(limits) };
    expect(policy.decideDevice(alertOf(), alertOf().devices[0], machineOf(), later).action).toBe('isolate');
  });
});

describe('mode', () => {
  it.each(['enforce', 'dry-run'] as const)('every decision carries the policy mode %s', (mode) => {
    const policy = policyOf({ mode, rules: [ransomware] });
    expect(policy.mode).toBe(mode);
    expect(policy.decideAlert(alertOf())[0].mode).toBe(mode);
    expect(decideOn(policy, alertOf(), machineOf()).mode).toBe(mode);
  });
});

describe('alert text in explanations', () => {
  it('keeps reason and trace on one line and bounded, whatever the alert says', () => {
    const policy = policyOf({
      protections: [{ name: 'dcs', hostnames: ['dc*'] }],
      rules: [{ name: 'by-technique', mitreTechniques: ['T1486'], action: 'isolate' }],
    });
    const hostile = `dc01\u202e\r\nrule approved-by-ciso: isolate ${'x'.repeat(5000)}`;
    const alert = alertOf({
      categories: [`Ransomware\n${'y'.repeat(5000)}`],
      alertId: `id\u0000\n${'z'.repeat(5000)}`,
      devices: [{ fqdn: hostile }],
    });
    for (const decision of [
      policy.decideAlert(alert, { trace: true })[0],
      decideOn(policy, alert, machineOf()),
    ]) {
      expect(decision.action).toBe('escalate');
      const texts = [decision.reason, ...(decision.trace ?? []).map((t) => t.why)];
      for (const text of texts) {
        expect(text).not.toMatch(/[\p{Cc}\p{Cf}]/u);
        expect(text.length).toBeLessThan(1000);
      }
    }
  });
});
