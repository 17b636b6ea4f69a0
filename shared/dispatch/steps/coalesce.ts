/**
 * Storm coalescing on the state store (docs/architecture.md §4.7): a device key (the device's
 * strongest identifier, before resolution) with an open request absorbs the alerts that ask no more
 * than it, recorded on that request; one asking for more waits behind it and is decided when it
 * ends; a key whose request ended takes a new one at once. Each function here is a pure step for
 * `OpenRequestIndex.update`, so a concurrent writer only makes it run again on what is there now.
 */
import { type Holding, isHeld } from '../../state/claim';
import type { OpenRequest } from '../../state/store';
import { holdsOwnQueue } from '../claim-keeper';
import type { OutcomeDetails } from '../outcome';
import { type ActionRequest, deviceKey, type IsolationRequest, isManualRequest } from '../request';

/** What a device key's entry means for one request. */
export type Coalescing =
  /** The request holds the key (opened now, or earlier by itself). */
  | { kind: 'own'; entry: OpenRequest }
  /** Another open request took this one on: this one ends `coalesced`, naming it. */
  | { kind: 'absorbed'; carrier: OpenRequest }
  /** Another open request asks for less: this one waits until it ends. */
  | { kind: 'waits'; behind: OpenRequest }
  /**
   * Another open request is the opposite action (a release while an isolate is under way, or the
   * reverse): neither absorbed nor waiting, it is decided on its own, where the worker's conflict
   * rule refuses to race the action under way (docs/mde-api.md §10).
   */
  | { kind: 'apart'; beside: OpenRequest }
  /** Nothing holds the key. */
  | { kind: 'free' };

type Step = (current: OpenRequest | null) => { next: OpenRequest | null; result: Coalescing };

/** The key a request's claim is opened and closed under: the one it was first opened under, if it says so. */
export function keyOf(request: IsolationRequest): string {
  return request.claimKey ?? deviceKey(request.device);
}

/** Under way: not ended, and its holder alive (claim.ts); a dead process's entry holds nothing. */
export function isOpen(entry: OpenRequest | null, now: number): entry is OpenRequest {
  return entry !== null && isHeld(entry, now);
}

/**
 * Whether `entry` is held by `self`, a process that holds its own queue (inline): while `self`'s lease
 * runs no other process writes it, since they wait behind it (decision 0013), so this process's copy
 * of it is what the store holds or is about to (decision 0034).
 */
export function heldHereAlone(entry: OpenRequest, self: string): boolean {
  return entry.holder === self && holdsOwnQueue(self);
}

/**
 * Whether `request` asks for more than `open` (the same action), and so must not be absorbed by it:
 * enforce over dry-run, Full over Selective isolation, or a person's order over a rule's (a manual
 * request is never blocked by the breaker, which an automatic one may be).
 */
export function asksMore(request: ActionRequest, open: OpenRequest): boolean {
  return (
    (request.mode === 'enforce' && open.mode === 'dry-run') ||
    (request.action === 'isolate' &&
      request.isolationType === 'Full' &&
      open.isolationType === 'Selective') ||
    (isManualRequest(request) && !open.manual)
  );
}

/** The entry of `request` opening its key, held by `holding` until it ends. */
export function entryFor(request: ActionRequest, now: number, holding: Holding): OpenRequest {
  return {
    deviceKey: keyOf(request),
    requestId: request.requestId,
    holder: holding.holder,
    heldUntil: holding.heldUntil,
    action: request.action,
    isolationType: request.isolationType,
    mode: request.mode,
    manual: isManualRequest(request),
    priority: request.priority,
    openedAt: new Date(now).toISOString(),
    closedAt: null,
    absorbed: [],
    absorbedCount: 0,
    requestBody: JSON.stringify(request),
  };
}

/** `carrier` takes `request` on: its alert recorded, its priority raised when more urgent. */
function absorb(carrier: OpenRequest, request: ActionRequest): OpenRequest {
  const { alert } = request;
  return {
    ...carrier,
    priority: Math.min(carrier.priority, request.priority),
    absorbed: [
      ...carrier.absorbed,
      {
        requestId: request.requestId,
        alertSource: alert.source,
        alertId: alert.alertId,
        severity: alert.severity,
        receivedAt: request.receivedAt,
      },
    ],
    absorbedCount: carrier.absorbedCount + 1,
  };
}

/**
 * Absorbs `request` into another open request that asks no less; otherwise writes nothing. `self`
 * is this process's holder: a request held by another inline process (a CLI run) is waited behind,
 * never absorbed, since it dies with that process's queue, and the waiting request then takes the
 * key once that holder's lease lapses.
 */
export function absorbStep(request: ActionRequest, now: number, self: string): Step {
  return (current) => {
    if (!isOpen(current, now)) return { next: null, result: { kind: 'free' } };
    if (current.requestId === request.requestId)
      return { next: null, result: { kind: 'own', entry: current } };
    if (request.action !== current.action) return { next: null, result: { kind: 'apart', beside: current } };
    if (asksMore(request, current) || (holdsOwnQueue(current.holder) && current.holder !== self))
      return { next: null, result: { kind: 'waits', behind: current } };
    return { next: absorb(current, request), result: { kind: 'absorbed', carrier: current } };
  };
}

/**
 * The worker's claim before deciding: absorbed or waiting as above, or the key is the request's,
 * opened now if nothing holds it (a request intake queued without opening it, or a redelivery).
 * The request's own entry, whoever held it for it (intake's process, or one that died), is held by
 * `holding` from now on, with what it absorbed.
 */
export function claimStep(request: ActionRequest, now: number, holding: Holding): Step {
  const absorbing = absorbStep(request, now, holding.holder);
  return (current) => {
    if (current?.requestId === request.requestId && current.closedAt === null) {
      const entry = { ...current, ...holding };
      return { next: current.holder === holding.holder ? null : entry, result: { kind: 'own', entry } };
    }
    const step = absorbing(current);
    if (step.result.kind !== 'free') return step;
    const entry = entryFor(request, now, holding);
    return { next: entry, result: { kind: 'own', entry } };
  };
}

/**
 * Intake, once `request` is queued: opens the key for it unless something already holds it, or the
 * request itself was there first (the worker claimed it, maybe even ended it, meanwhile).
 */
export function openAfterQueueingStep(request: ActionRequest, now: number, holding: Holding): Step {
  return (current) => {
    if (current?.requestId === request.requestId || isOpen(current, now))
      return { next: null, result: { kind: 'free' } };
    const entry = entryFor(request, now, holding);
    return { next: entry, result: { kind: 'own', entry } };
  };
}

/** `requestId` ended: its entry stops holding the key. Answers the entry it closed, if it held one. */
export function closeStep(
  requestId: string,
  now: number,
): (current: OpenRequest | null) => { next: OpenRequest | null; result: OpenRequest | null } {
  return (current) =>
    current?.requestId === requestId && current.closedAt === null
      ? { next: { ...current, closedAt: new Date(now).toISOString() }, result: current }
      : { next: null, result: null };
}

/** The outcome of a request `carrier` absorbed. */
export function coalescedInto(carrier: OpenRequest): OutcomeDetails {
  return {
    outcome: 'coalesced',
    carriedBy: carrier.requestId,
    reason: `absorbed by request ${carrier.requestId}, already under way for this device (${describeAsk(carrier)}); its outcome is this alert's`,
  };
}

/** `isolate Selective, enforce, automatic`: what an open request asks for. */
export function describeAsk(entry: OpenRequest): string {
  const what = entry.action === 'isolate' ? `isolate ${entry.isolationType}` : 'release';
  return `${what}, ${entry.mode}, ${entry.manual ? 'manual' : 'automatic'}`;
}
