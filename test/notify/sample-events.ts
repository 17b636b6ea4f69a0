/** One event of every kind, with alert text as hostile as alerts get (markup, links, a long title). */
import type { AlertSummary, NotifyEvent, NotifyEventKind } from '../../shared/notify/events';

const AT = '2026-01-01T00:00:00.000Z';
const device = { name: 'ws-042.corp.example', machineId: '5b8c1ea8f6f2b7a4c8d4e1f0a9b8c7d6e5f4a3b2' };
export const HOSTILE_TITLE = `Ransomware <b>on</b> [click](https://evil.example) *now* & ${'x'.repeat(5_000)}`;
const alert: AlertSummary = {
  title: HOSTILE_TITLE,
  severity: 'high',
  alertId: 'da637-alert-1',
  incidentId: '4211',
  incidentArmId: null,
};
const decided = {
  device,
  alert,
  rule: 'isolate-high',
  reason: 'high severity ransomware',
  requestId: 'req-1',
};

export const SAMPLE_EVENTS: Record<NotifyEventKind, NotifyEvent> = {
  escalated: { kind: 'escalated', at: AT, ...decided },
  'approval-pending': {
    kind: 'approval-pending',
    at: AT,
    ...decided,
    approvalId: 'ap-1',
    decideUrl: 'https://isolator.example/api/approvals/ap-1/page',
    deadline: '2026-01-01T00:30:00.000Z',
    approvers: 2,
  },
  'isolation-succeeded': {
    kind: 'isolation-succeeded',
    at: AT,
    ...decided,
    action: 'isolate',
    outcome: 'succeeded',
    actionId: 'a-1',
  },
  'isolation-failed': {
    kind: 'isolation-failed',
    at: AT,
    ...decided,
    action: 'isolate',
    outcome: 'failed',
    actionId: 'a-2',
  },
  'isolation-timed-out': {
    kind: 'isolation-timed-out',
    at: AT,
    ...decided,
    action: 'isolate',
    outcome: 'timed-out',
    actionId: 'a-3',
  },
  released: {
    kind: 'released',
    at: AT,
    ...decided,
    action: 'release',
    outcome: 'succeeded',
    actionId: 'a-4',
  },
  'expiring-soon': {
    kind: 'expiring-soon',
    at: AT,
    device,
    expiresAt: '2026-01-08T00:00:00.000Z',
    ending: 'platform-lift',
  },
  'drift-found': {
    kind: 'drift-found',
    at: AT,
    device,
    drift: 'released',
    reason: 'an analyst released it',
    by: 'ana@corp.example',
  },
  'breaker-opened': { kind: 'breaker-opened', at: AT, reason: 'one alert named 120 devices (limit 50)' },
  'breaker-reset': { kind: 'breaker-reset', at: AT, by: 'ops', reason: 'false positive, rule fixed' },
  'dead-lettered': {
    kind: 'dead-lettered',
    at: AT,
    reason: 'NotJson',
    description: 'body is not JSON',
    messageId: 'm-1',
  },
  'break-glass': { kind: 'break-glass', at: AT, ...decided, requestedBy: 'ana@corp.example' },
};
