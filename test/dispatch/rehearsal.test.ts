/**
 * The rehearsal model (shared/dispatch/rehearsal.ts) on a few alerts whose outcome is known: a device
 * is isolated once until its isolation ends, the breaker counts and opens as the shared breaker does,
 * and one alert naming too many devices opens it too. The CLI test runs it over 10,000 alerts.
 */
import { parseRateLimits } from '../../shared/config';
import { rehearse } from '../../shared/dispatch/rehearsal';
import { loadPolicy } from '../../shared/policy/load';
import { alertOf } from '../support/alerts';

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
const settings = { rateLimits: parseRateLimits('100/60s,1500/1h'), platformLiftMs: 7 * DAY_MS };

function policyOf(rule: Record<string, unknown>, maxIsolations = 10) {
  const document = {
    version: 'rehearsal-test',
    mode: 'dry-run',
    blastRadius: { maxIsolations, windowMinutes: 60, maxDevicesPerAlert: 2 },
    rules: [{ name: 'high-isolate', minSeverity: 'high', action: 'isolate', isolationType: 'Full', ...rule }],
    defaultAction: 'skip',
  };
  return loadPolicy({ kind: 'inline', text: JSON.stringify(document) }, null);
}

const device = (n: number) => ({
  mdeDeviceId: n.toString(16).padStart(40, '0'),
  fqdn: `ws-${n}.corp.example`,
});
const alertAt = (at: number, ...devices: number[]) => ({
  at,
  alert: alertOf({ alertId: `alert-${at}-${devices.join('-')}`, devices: devices.map(device) }),
});

describe('a policy rehearsed on a history', () => {
  it('isolates a device once until MDE lifts it, and again after', () => {
    const result = rehearse(
      policyOf({}),
      [alertAt(0, 1), alertAt(6 * DAY_MS, 1), alertAt(7 * DAY_MS + 1, 1)],
      settings,
    );
    expect(result.quota.isolateCalls).toBe(2);
    expect(result.devices).toEqual([
      expect.objectContaining({
        key: `mde:${device(1).mdeDeviceId}`,
        action: 'isolate',
        alerts: 3,
        at: new Date(0).toISOString(),
      }),
    ]);
  });

  it("ends an isolation at the rule's time box when it is shorter than the lift", () => {
    const result = rehearse(
      policyOf({ isolateFor: '1d' }),
      [alertAt(0, 1), alertAt(DAY_MS + 1, 1)],
      settings,
    );
    expect(result.quota.isolateCalls).toBe(2);
  });

  it('opens the breaker at its limit, escalates while it is open, and closes after its window', () => {
    const alerts = [alertAt(0, 1), alertAt(1, 2), alertAt(2, 3), alertAt(3, 4), alertAt(HOUR_MS + 3, 5)];
    const result = rehearse(policyOf({}, 2), alerts, settings);
    expect(result.breaker.openings).toBe(1);
    expect(result.breaker.first).toEqual([
      {
        at: new Date(2).toISOString(),
        reason: expect.stringMatching(/^blast-radius breaker open: 2 isolations/),
      },
    ]);
    expect(result.decisions).toEqual({ isolate: 3, escalate: 2, skip: 0 });
    expect(result.devices.map((d) => [d.name, d.action])).toEqual([
      ['ws-1.corp.example', 'isolate'],
      ['ws-2.corp.example', 'isolate'],
      ['ws-5.corp.example', 'isolate'],
      ['ws-3.corp.example', 'escalate'],
      ['ws-4.corp.example', 'escalate'],
    ]);
  });

  it('opens the breaker on one alert naming more devices than an alert may isolate', () => {
    const result = rehearse(policyOf({}), [alertAt(0, 1, 2, 3), alertAt(60_000, 4)], settings);
    expect(result.breaker.openings).toBe(1);
    expect(result.decisions).toEqual({ isolate: 0, escalate: 4, skip: 0 });
  });

  it('decides oldest first whatever order the alerts come in', () => {
    const inOrder = rehearse(policyOf({}, 1), [alertAt(0, 1), alertAt(5, 2)], settings);
    const reversed = rehearse(policyOf({}, 1), [alertAt(5, 2), alertAt(0, 1)], settings);
    expect(reversed.devices).toEqual(inOrder.devices);
    expect(inOrder.devices.map((d) => d.action)).toEqual(['isolate', 'escalate']);
  });
});

describe('alerts with nothing to decide', () => {
  it('counts an alert that names no device, so none goes unseen', () => {
    const result = rehearse(policyOf({}), [alertAt(0), alertAt(1, 1)], settings);
    expect(result).toMatchObject({ alerts: 2, alertsWithoutDevice: 1, decisions: { isolate: 1 } });
  });
});
