import { isFailure, outcomeRecord } from '../../shared/dispatch/outcome';
import type { TrackRequest } from '../../shared/dispatch/request';

const request = {
  requestId: 'r-1',
  action: 'track',
  device: { hostname: 'ws-1' },
  isolationType: 'Full',
  rule: 'ransomware',
  requestedBy: { kind: 'rule', name: 'ransomware' },
  policyVersion: 'v3',
  attempt: 2,
  deferrals: 5,
  receivedAt: '2026-11-29T00:00:00.000Z',
  alert: {
    source: 'mde-alert',
    alertId: 'a-1',
    incidentId: '7',
    severity: 'high',
    title: 'Ransomware',
    devices: [],
  },
  tracking: {
    actionId: 'act-1',
    action: 'isolate',
    machineId: 'm-1',
    computerDnsName: 'ws-1.corp',
    postedAt: '2026-11-29T00:00:04.000Z',
    adopted: false,
    polls: 3,
  },
} as unknown as TrackRequest;

describe('outcome record', () => {
  it('carries device, action, alert, rule, policy version and the three timings', () => {
    const terminalAt = Date.parse('2026-11-29T00:01:04.000Z');
    const record = outcomeRecord(
      request,
      { outcome: 'succeeded', actionStatus: 'Succeeded', reason: 'done' },
      terminalAt,
    );
    expect(record).toMatchObject({
      event: 'isolation-outcome',
      outcome: 'succeeded',
      action: 'isolate',
      machineId: 'm-1',
      computerDnsName: 'ws-1.corp',
      actionId: 'act-1',
      alert: { alertId: 'a-1', incidentId: '7', severity: 'high' },
      rule: 'ransomware',
      policyVersion: 'v3',
      attempts: 2,
      deferrals: 5,
      timings: { receivedToPostedMs: 4_000, postedToTerminalMs: 60_000, receivedToTerminalMs: 64_000 },
    });
  });

  it('has no posted time for a request that never reached MDE', () => {
    const { tracking: _t, ...untracked } = request;
    const record = outcomeRecord(
      { ...untracked, action: 'isolate' },
      { outcome: 'escalated', reason: 'protected' },
      Date.parse('2026-11-29T00:00:01.000Z'),
    );
    expect(record).toMatchObject({
      actionId: null,
      timings: { postedAt: null, receivedToPostedMs: null, receivedToTerminalMs: 1_000 },
    });
  });

  it('counts only outcomes where the device did not end up as asked as failures', () => {
    expect(
      ['failed', 'timed-out', 'cancelled', 'error', 'dead-lettered', 'tracking-expired'].every((o) =>
        isFailure(o as never),
      ),
    ).toBe(true);
    expect(['succeeded', 'skipped', 'escalated', 'dry-run'].some((o) => isFailure(o as never))).toBe(false);
  });
});
