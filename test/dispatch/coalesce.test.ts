import type { Severity } from '../../shared/alerts/model';
import {
  type ActionRequest,
  isolateRequestFrom,
  manualRequest,
  PRIORITY,
  requesterFor,
} from '../../shared/dispatch/request';
import {
  absorbStep,
  asksMore,
  claimStep,
  closeStep,
  entryFor,
  isOpen,
  openAfterQueueingStep,
} from '../../shared/dispatch/steps/coalesce';
import type { IsolationType, PolicyMode } from '../../shared/kernel/vocabulary';
import type { OpenRequest } from '../../shared/state/store';
import { alertOf } from '../support/alerts';

const NOW = Date.UTC(2026, 11, 1, 12, 0, 0);
const HOLD = 60_000;
/** This process's lease, renewed just now. */
const HOLDING = { holder: 'inline-this', heldUntil: NOW + HOLD };
const device = { fqdn: 'ws-1.contoso.com' };

function automatic(
  options: { severity?: Severity; isolationType?: IsolationType; mode?: PolicyMode } = {},
): ActionRequest {
  const alert = alertOf({
    alertId: `alert-${Math.random()}`,
    incidentId: null,
    title: 'Ransomware',
    severity: options.severity ?? 'low',
    categories: [],
    mitreTechniques: [],
    devices: [device],
  });
  return isolateRequestFrom(
    {
      device,
      action: 'isolate',
      isolationType: options.isolationType ?? 'Selective',
      rule: 'ransomware',
      reason: 'ransomware',
      policyVersion: 'v1',
      mode: options.mode ?? 'enforce',
      needsDeviceCheck: true,
    },
    { alert, receivedAt: new Date(NOW), policyVersion: 'v1', requestedBy: requesterFor(alert, 'ransomware') },
  );
}

function manual(action: 'isolate' | 'release', isolationType: IsolationType = 'Selective'): ActionRequest {
  const alert = alertOf({
    source: 'manual',
    alertId: `manual-${Math.random()}`,
    incidentId: null,
    title: 'by hand',
    categories: [],
    mitreTechniques: [],
    devices: [device],
    manual: { comment: 'IR-7', requestedBy: 'analyst@contoso.com' },
  });
  return manualRequest(action, device, isolationType, 'enforce', {
    alert,
    receivedAt: new Date(NOW),
    policyVersion: 'v1',
    requestedBy: requesterFor(alert, 'manual'),
  });
}

const openFor = (request: ActionRequest): OpenRequest => entryFor(request, NOW, HOLDING);

describe('what a request asks for, compared with the open one', () => {
  const selective = openFor(automatic());
  it('asks more with Full over Selective, enforce over dry-run, or a person over a rule', () => {
    expect(asksMore(automatic({ isolationType: 'Full' }), selective)).toBe(true);
    expect(asksMore(automatic(), openFor(automatic({ mode: 'dry-run' })))).toBe(true);
    expect(asksMore(manual('isolate'), selective)).toBe(true);
  });

  it('asks no more with the same or less, whatever its severity', () => {
    expect(asksMore(automatic({ severity: 'high' }), selective)).toBe(false);
    const full = openFor(automatic({ isolationType: 'Full' }));
    expect(asksMore(automatic({ isolationType: 'Selective' }), full)).toBe(false);
    expect(asksMore(automatic({ mode: 'dry-run' }), selective)).toBe(false);
    expect(asksMore(automatic(), openFor(manual('isolate')))).toBe(false);
  });
});

describe('intake absorbing into an open request', () => {
  it('records a later, more severe alert on the open request and raises its priority', () => {
    const first = automatic({ severity: 'low' });
    const later = automatic({ severity: 'high' });
    const { next, result } = absorbStep(later, NOW, HOLDING.holder)(openFor(first));
    expect(result).toEqual({ kind: 'absorbed', carrier: openFor(first) });
    expect(next).toMatchObject({
      requestId: first.requestId,
      priority: PRIORITY.high,
      absorbedCount: 1,
      absorbed: [{ requestId: later.requestId, alertId: later.alert.alertId, severity: 'high' }],
    });
  });

  it('keeps the open priority when the absorbed alert is less urgent', () => {
    const { next } = absorbStep(
      automatic({ severity: 'low' }),
      NOW,
      HOLDING.holder,
    )(openFor(automatic({ severity: 'high' })));
    expect(next?.priority).toBe(PRIORITY.high);
  });

  it('lets a request asking for more wait, writing nothing', () => {
    const open = openFor(automatic());
    expect(absorbStep(automatic({ isolationType: 'Full' }), NOW, HOLDING.holder)(open)).toEqual({
      next: null,
      result: { kind: 'waits', behind: open },
    });
  });

  it('never absorbs a manual isolation into an automatic one', () => {
    const open = openFor(automatic({ isolationType: 'Full' }));
    expect(absorbStep(manual('isolate', 'Selective'), NOW, HOLDING.holder)(open).result.kind).toBe('waits');
  });

  it('waits behind a request another inline process holds (its queue dies with it), never absorbed', () => {
    const request = automatic();
    const cliRun = { ...openFor(automatic()), holder: 'inline-other' };
    expect(absorbStep(request, NOW, HOLDING.holder)(cliRun).result).toEqual({
      kind: 'waits',
      behind: cliRun,
    });
    // Service Bus keeps a request whatever happens to the process that queued it.
    const app = { ...openFor(automatic()), holder: 'service-bus-app' };
    expect(absorbStep(request, NOW, HOLDING.holder)(app).result.kind).toBe('absorbed');
  });

  it('leaves the opposite action apart, for the worker to refuse racing it', () => {
    const open = openFor(automatic());
    expect(absorbStep(manual('release'), NOW, HOLDING.holder)(open)).toEqual({
      next: null,
      result: { kind: 'apart', beside: open },
    });
  });

  it("finds the key free once the open request ended or its holder's lease lapsed", () => {
    const request = automatic();
    const ended = { ...openFor(automatic()), closedAt: new Date(NOW).toISOString() };
    // Its process renewed the lease last a lease ago and is gone: the entry holds nothing.
    const lapsed = { ...openFor(automatic()), holder: 'inline-gone', heldUntil: NOW };
    expect(absorbStep(request, NOW, HOLDING.holder)(ended)).toEqual({ next: null, result: { kind: 'free' } });
    expect(absorbStep(request, NOW, HOLDING.holder)(lapsed)).toEqual({
      next: null,
      result: { kind: 'free' },
    });
    expect(isOpen(lapsed, NOW)).toBe(false);
    expect(isOpen(lapsed, NOW - 1)).toBe(true);
    expect(absorbStep(request, NOW, HOLDING.holder)(null).result.kind).toBe('free');
  });
});

describe('opening and closing a device key', () => {
  it('opens the key once the request is queued, unless another request or the request itself got there first', () => {
    const request = automatic();
    expect(openAfterQueueingStep(request, NOW, HOLDING)(null).next).toEqual(openFor(request));
    expect(openAfterQueueingStep(request, NOW, HOLDING)(openFor(automatic())).next).toBeNull();
    // The worker claimed the request and it ended before intake got here: not opened again.
    const endedByItself = { ...openFor(request), closedAt: new Date(NOW).toISOString() };
    expect(openAfterQueueingStep(request, NOW, HOLDING)(endedByItself).next).toBeNull();
  });

  it('lets the worker claim a free key, or go on with its own', () => {
    const request = automatic();
    expect(claimStep(request, NOW, HOLDING)(null)).toEqual({
      next: openFor(request),
      result: { kind: 'own', entry: openFor(request) },
    });
    const raised = { ...openFor(request), priority: PRIORITY.high };
    expect(claimStep(request, NOW, HOLDING)(raised)).toEqual({
      next: null,
      result: { kind: 'own', entry: raised },
    });
  });

  it('takes its own entry over from the process that held it, keeping what it absorbed', () => {
    const request = automatic();
    const absorbed = absorbStep(automatic(), NOW, HOLDING.holder)(openFor(request)).next;
    if (!absorbed) throw new Error('the open entry absorbs a request asking no more');
    const leftBehind = { ...absorbed, holder: 'inline-gone', heldUntil: NOW - 1 };
    const { next, result } = claimStep(request, NOW, HOLDING)(leftBehind);
    expect(next).toEqual({ ...leftBehind, ...HOLDING });
    expect(next?.absorbedCount).toBe(1);
    expect(result).toEqual({ kind: 'own', entry: next });
  });

  it('closes only the entry of the request that ended', () => {
    const request = automatic();
    const open = openFor(request);
    expect(closeStep(request.requestId, NOW)(open)).toEqual({
      next: { ...open, closedAt: new Date(NOW).toISOString() },
      result: open,
    });
    expect(closeStep('another', NOW)(open)).toEqual({ next: null, result: null });
  });
});
