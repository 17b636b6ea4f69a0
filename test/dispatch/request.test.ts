import type { NormalizedAlert } from '../../shared/alerts/model';
import {
  decodeRequest,
  dedupeKey,
  isManualRequest,
  isolateRequestFrom,
  manualRequest,
  PRIORITY,
  priorityOf,
  REQUEST_BOUNDS,
  type RequestOrigin,
  requesterFor,
  trackingRequestFor,
} from '../../shared/dispatch/request';
import { messageFor } from '../../shared/dispatch/transport/queue';
import type { Decision } from '../../shared/policy/types';
import { alertOf } from '../support/alerts';

const ACTION_ID = 'b3f1c2d4-0000-4000-8000-000000000001';

const alert = alertOf({
  source: 'sentinel-incident',
  alertId: 'a-1',
  incidentId: 'inc-9',
  title: 'Ransomware',
  mitreTechniques: [],
  devices: [{ mdeDeviceId: 'aa'.repeat(20) }, { hostname: 'other' }],
});

const decision: Decision = {
  device: { mdeDeviceId: 'aa'.repeat(20), fqdn: 'WS-1.Corp.Example' },
  action: 'isolate',
  isolationType: 'Full',
  rule: 'ransomware',
  reason: 'ransomware on a workstation',
  policyVersion: 'v7',
  mode: 'enforce',
  needsDeviceCheck: true,
};

describe('dedupe keys', () => {
  it('use the strongest identifier, lower-cased, and differ by action', () => {
    expect(dedupeKey('isolate', { mdeDeviceId: 'AB'.repeat(20), fqdn: 'x.example' })).toBe(
      `isolate:mde:${'ab'.repeat(20)}`,
    );
    expect(dedupeKey('isolate', { fqdn: 'WS-1.Corp.Example', hostname: 'ws-1' })).toBe(
      'isolate:fqdn:ws-1.corp.example',
    );
    expect(dedupeKey('release', { hostname: 'WS-1' })).toBe('release:host:ws-1');
    expect(dedupeKey('isolate', { ipAddresses: ['10.0.0.2', '10.0.0.1'] })).toBe(
      'isolate:ip:10.0.0.1,10.0.0.2',
    );
  });

  it('stay within the Service Bus message id limit with room for a suffix', () => {
    const key = dedupeKey('isolate', { fqdn: `${'a'.repeat(200)}.example` });
    expect(key.length).toBeLessThanOrEqual(100);
    expect(key).toMatch(/^isolate:fqdn:sha256:[0-9a-f]{40}$/);
    expect(dedupeKey('isolate', { fqdn: `${'a'.repeat(200)}.example` })).toBe(key);
  });

  it('keep dry-run requests apart, so one never swallows an enforce request for the same device', () => {
    const device = { mdeDeviceId: 'ab'.repeat(20) };
    expect(dedupeKey('isolate', device, 'dry-run')).toBe(`dry-run:isolate:mde:${'ab'.repeat(20)}`);
    expect(dedupeKey('isolate', device, 'enforce')).toBe(dedupeKey('isolate', device));
    const long = { fqdn: `${'a'.repeat(200)}.example` };
    expect(dedupeKey('isolate', long, 'dry-run')).toMatch(/^dry-run:isolate:fqdn:sha256:[0-9a-f]{40}$/);
  });

  it('refuse a device without any identifier', () => {
    expect(() => dedupeKey('isolate', {})).toThrow(/no identifier/);
  });
});

describe('priority', () => {
  it('puts manual first, then severity order, tracking last', () => {
    const order = [
      priorityOf('low', true),
      priorityOf('high', false),
      priorityOf('medium', false),
      priorityOf('low', false),
      priorityOf('informational', false),
      PRIORITY.tracking,
    ];
    expect([...order].sort((a, b) => a - b)).toEqual(order);
  });
});

const receivedAt = new Date('2026-11-29T00:00:00Z');
/** Where a request of the `ransomware` rule came from, with `changes`. */
const origin = (changes: Partial<RequestOrigin> = {}): RequestOrigin => ({
  alert,
  receivedAt,
  policyVersion: 'v7',
  requestedBy: { kind: 'rule', name: 'ransomware' },
  ...changes,
});

describe('isolation requests', () => {
  const request = isolateRequestFrom(decision, origin());

  it('carry the request fields of docs/architecture.md §4.4, with the alert reduced to this device', () => {
    expect(request).toMatchObject({
      action: 'isolate',
      isolationType: 'Full',
      priority: PRIORITY.high,
      rule: 'ransomware',
      policyVersion: 'v7',
      mode: 'enforce',
      attempt: 0,
      requestedBy: { kind: 'rule', name: 'ransomware' },
      receivedAt: receivedAt.toISOString(),
      dedupeKey: `isolate:mde:${'aa'.repeat(20)}`,
    });
    expect(request.alert.devices).toEqual([decision.device]);
    expect(request.alert.alertId).toBe('a-1');
    expect(decodeRequest(JSON.parse(JSON.stringify(request)))).toEqual({ request });
  });

  it('travel with the request id as message id (duplicate detection only drops a message sent twice) and the triage fields as properties', () => {
    const message = messageFor(request);
    expect(message.messageId).toBe(request.requestId);
    expect(message.applicationProperties).toMatchObject({
      priority: 1,
      severity: 'high',
      alertId: 'a-1',
      incidentId: 'inc-9',
    });
  });

  it('turn into a tracking request keyed by the action', () => {
    const tracking = trackingRequestFor(request, {
      actionId: ACTION_ID,
      action: 'isolate',
      machineId: 'a'.repeat(40),
      computerDnsName: null,
      postedAt: receivedAt.toISOString(),
      adopted: false,
      polls: 0,
    });
    expect(tracking).toMatchObject({
      action: 'track',
      dedupeKey: `track:${ACTION_ID}:${request.requestId}`,
      priority: PRIORITY.tracking,
    });
    expect(tracking.requestId).toBe(request.requestId);
    expect(decodeRequest(tracking)).toEqual({ request: tracking });
    // A tracking request follows an action already posted, which only enforce does.
    expect(decodeRequest({ ...tracking, mode: undefined })).toEqual({ request: tracking });
  });

  it('are checked when they come off the queue', () => {
    const problem = (body: unknown) => {
      const decoded = decodeRequest(body);
      return 'problem' in decoded ? decoded.problem : null;
    };
    expect(problem('text')).toMatch(/not a JSON object/);
    expect(problem({ ...request, action: 'wipe' })).toMatch(/action/);
    expect(problem({ ...request, device: undefined })).toMatch(/device/);
    expect(problem({ ...request, action: 'track' })).toMatch(/tracking/);
    expect(
      problem({ ...request, action: 'track', tracking: { actionId: 'a', machineId: 'm', action: 'wipe' } }),
    ).toMatch(/tracking.action/);
    // Ids no step could key on: decided here, once, not by each step on each delivery.
    const track = (changes: object) => ({
      ...request,
      action: 'track',
      tracking: {
        actionId: ACTION_ID,
        machineId: 'a'.repeat(40),
        action: 'isolate',
        postedAt: receivedAt.toISOString(),
        ...changes,
      },
    });
    expect(problem(track({}))).toBeNull();
    expect(problem(track({ machineId: 'ws1.contoso.local' }))).toMatch(/tracking.machineId/);
    expect(problem(track({ actionId: '../a' }))).toMatch(/tracking.actionId/);
    expect(problem(track({ postedAt: 'soon' }))).toMatch(/tracking.postedAt/);
    expect(problem({ ...request, device: {} })).toMatch(/device names no identifier/);
    expect(problem({ ...request, requestId: 'req#1' })).toMatch(/requestId/);
    expect(problem({ ...request, requestId: 'r'.repeat(41) })).toMatch(/requestId/);
    // A request that does not say whether it may be enforced is never guessed at.
    expect(problem({ ...request, mode: undefined })).toMatch(/mode/);
    expect(problem({ ...request, mode: 'Enforce' })).toMatch(/mode/);
    // The mark that skips the ledger read is the worker's own `true` or nothing.
    expect(problem({ ...request, unreserved: true })).toBeNull();
    expect(problem({ ...request, unreserved: 'yes' })).toMatch(/unreserved/);
  });

  it('still decode when queued by an older version with the comment nobody read, which is dropped', () => {
    expect(decodeRequest({ ...request, comment: 'because' })).toEqual({ request });
  });

  it('carry the mode of their decision, so a dry-run decision stays one in the queue', () => {
    expect(isolateRequestFrom({ ...decision, mode: 'dry-run' }, origin()).mode).toBe('dry-run');
    const manualAlert = { ...alert, source: 'manual' as const, manual: { comment: 'IR-1' } };
    const release = manualRequest(
      'release',
      { hostname: 'ws-1' },
      'Full',
      'dry-run',
      origin({ alert: manualAlert, requestedBy: requesterFor(manualAlert, 'manual') }),
    );
    expect(release).toMatchObject({ action: 'release', mode: 'dry-run', rule: 'manual' });
  });
});

describe('manual requests', () => {
  const manualAlert: NormalizedAlert = {
    ...alert,
    severity: 'low',
    source: 'manual',
    manual: { comment: 'IR-2' },
  };

  it('are those of a manual alert, the same test the policy uses, whoever the requester names', () => {
    const unnamed = isolateRequestFrom(
      decision,
      origin({ alert: manualAlert, requestedBy: requesterFor(manualAlert, 'manual') }),
    );
    expect(unnamed.requestedBy).toEqual({ kind: 'caller', name: 'unnamed caller' });
    expect(unnamed.priority).toBe(PRIORITY.manual);
    expect(isManualRequest(unnamed)).toBe(true);
    // An automatic alert stays automatic even if a requester claims to be a person.
    const claimed = isolateRequestFrom(
      decision,
      origin({ requestedBy: { kind: 'caller', name: 'someone' } }),
    );
    expect(isManualRequest(claimed)).toBe(false);
    expect(claimed.priority).toBe(PRIORITY.high);
  });

  it('name the person of the manual alert, or the rule for automatic ones', () => {
    expect(
      requesterFor({ ...manualAlert, manual: { comment: 'x', requestedBy: 'jo@contoso.com' } }, 'manual'),
    ).toEqual({ kind: 'caller', name: 'jo@contoso.com' });
    expect(requesterFor(alert, 'ransomware')).toEqual({ kind: 'rule', name: 'ransomware' });
  });
});

describe('request bounds', () => {
  it('cut alert text and lists to fit a Service Bus message, never a device identifier', () => {
    const huge: NormalizedAlert = {
      ...alert,
      alertId: 'a'.repeat(10_000),
      incidentId: 'i'.repeat(10_000),
      incidentArmId: `/subscriptions/x/${'y'.repeat(5_000)}`,
      title: 't'.repeat(500_000),
      categories: Array.from({ length: 1_000 }, (_, i) => `category-${i}-${'c'.repeat(500)}`),
      mitreTechniques: Array.from({ length: 1_000 }, (_, i) => `T${i}`),
      relatedAlertIds: Array.from({ length: 1_000 }, (_, i) => `r${i}`),
    };
    const device = {
      fqdn: `${'w'.repeat(60)}.corp.example`,
      ipAddresses: Array.from({ length: 500 }, (_, i) => `10.0.${i >> 8}.${i & 255}`),
    };
    const request = isolateRequestFrom({ ...decision, device }, { ...origin(), alert: huge });
    expect(request.alert.title.length).toBeLessThanOrEqual(REQUEST_BOUNDS.title);
    expect(request.alert.alertId.length).toBeLessThanOrEqual(REQUEST_BOUNDS.id);
    expect(request.alert.incidentId?.length).toBeLessThanOrEqual(REQUEST_BOUNDS.id);
    expect(request.alert.incidentArmId).toBeNull();
    expect(request.alert.categories).toHaveLength(REQUEST_BOUNDS.listItems);
    expect(request.alert.mitreTechniques).toHaveLength(REQUEST_BOUNDS.listItems);
    expect(request.alert.relatedAlertIds).toHaveLength(REQUEST_BOUNDS.listItems);
    expect(request.device.fqdn).toBe(device.fqdn);
    expect(request.device.ipAddresses).toEqual(device.ipAddresses.slice(0, REQUEST_BOUNDS.listItems));
    expect(request.alert.devices).toEqual([request.device]);
    expect(Buffer.byteLength(JSON.stringify(messageFor(request)))).toBeLessThan(64 * 1024);
  });
});
