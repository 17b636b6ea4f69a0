/**
 * Start-up of a process that holds its own queue (inline): the open-request entries an inline
 * process left behind when it died (its holder lease lapsed or ended, state/claim.ts) name requests
 * nobody has queued any more, since they died with that process's queue. Each is taken over and its
 * request sent again, so the alerts it absorbed still get their isolation; one whose request is not
 * kept is closed and reported. An entry whose request is followed in the action ledger is left to its
 * resumed tracking, which closes it; an entry of a Service Bus process is left alone: its request is
 * still in Service Bus.
 */
import { isHeld } from '../../state/claim';
import type { OpenRequest, StateStore } from '../../state/store';
import { type ClaimKeeper, holdsOwnQueue } from '../claim-keeper';
import type { DispatchReporter } from '../outcome';
import { decodeRequest, type IsolationRequest } from '../request';
import { messageFor, type RequestQueue } from '../transport/queue';
import { closeStep } from './coalesce';

export interface ClaimSweepDeps {
  store: StateStore;
  queue: RequestQueue;
  claims: ClaimKeeper;
  reporter: DispatchReporter;
  now: () => number;
}

/** Sends again or closes every entry left by a gone inline process; answers how many. */
export async function sweepLeftClaims(deps: ClaimSweepDeps): Promise<number> {
  const { store, now } = deps;
  let swept = 0;
  // Every page: a storm a stopped run left behind may hold more entries than one page.
  for (let page = await store.openRequests.unclosed(); page.length > 0; ) {
    const left = page.filter((entry) => holdsOwnQueue(entry.holder) && !isHeld(entry, now()));
    for (const entry of left) {
      if ((await store.actions.forRequest(entry.requestId))?.open) continue;
      if (await takeOver(deps, entry)) swept += 1;
    }
    page = await store.openRequests.unclosed(undefined, page[page.length - 1].deviceKey);
  }
  return swept;
}

/** The request the entry kept, or null when it kept none or none that decodes. */
function keptRequest(entry: OpenRequest): IsolationRequest | null {
  if (entry.requestBody === undefined) return null;
  try {
    const decoded = decodeRequest(JSON.parse(entry.requestBody));
    return 'request' in decoded ? decoded.request : null;
  } catch {
    return null;
  }
}

async function takeOver(deps: ClaimSweepDeps, entry: OpenRequest): Promise<boolean> {
  const { store, queue, claims, reporter, now } = deps;
  const request = keptRequest(entry);
  const holding = await claims.holding();
  // Only while it is still left: its own request or another process may have taken it meanwhile.
  const taken = await store.openRequests.update(entry.deviceKey, (current) => {
    if (current?.requestId !== entry.requestId || isHeld(current, now()))
      return { next: null, result: false };
    if (request) return { next: { ...current, ...holding }, result: true };
    return { ...closeStep(entry.requestId, now())(current), result: true };
  });
  if (!taken) return false;
  const fields = {
    requestId: entry.requestId,
    deviceKey: entry.deviceKey,
    leftBy: entry.holder,
    absorbedAlerts: entry.absorbedCount,
  };
  if (request) {
    await queue.send(messageFor(request));
    reporter.note('warn', {
      event: 'open-request-resent',
      why: 'its process stopped before the request ended; sent again, with the alerts it absorbed',
      ...fields,
    });
  } else
    reporter.note('error', {
      event: 'open-request-closed-unsent',
      why: 'its process stopped before the request ended, and the request was not kept: its alerts need a new request',
      ...fields,
      alertIds: entry.absorbed.map((a) => a.alertId).join(' '),
    });
  return true;
}
