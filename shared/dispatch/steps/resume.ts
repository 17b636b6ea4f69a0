/**
 * Tracking of an action rebuilt from the state store, for a process that did not queue it: the
 * action ledger says which action and request, the isolation register who asked and why. The alert
 * is known as far as the register keeps it (source, ids, the decision's reason): a resumed request's
 * outcome record carries those, with the severity and isolation type it had not kept.
 */
import { isIsolationOrder, type NormalizedAlert } from '../../alerts/model';
import type { Clock } from '../../kernel/clock';
import type { IsolationPolicy } from '../../policy/types';
import { type IsolationRecord, type LedgerRecord, LIST_MAX, type StateStore } from '../../state/store';
import type { DispatchReporter } from '../outcome';
import { type ActionRequest, PRIORITY, type TrackedAction, type TrackRequest } from '../request';
import { messageFor, type RequestQueue } from '../transport/queue';
import type { Ending } from './ending';

export interface ResumeDeps {
  store: StateStore;
  queue: RequestQueue;
  policy: IsolationPolicy;
  reporter: DispatchReporter;
  clock: Clock;
}

/**
 * Register reads in flight together while resuming: one at a time, a thousand open actions took
 * seconds on Table Storage; all at once, they would crowd the store's connections.
 */
export const RESUME_READS_AT_ONCE = 32;

/**
 * Inline mode after a restart: tracking of every action the ledger still shows followed is queued
 * again (with Service Bus, the scheduled tracking messages carry it), the ledger read a page at a
 * time and each page's register records read RESUME_READS_AT_ONCE at a time. Tracking reads the
 * actions' statuses in its batched lists (action-statuses.ts): nothing here calls MDE. Answers how
 * many actions were resumed or, with nobody known to have asked, abandoned.
 */
export async function resumeOpenActions(deps: ResumeDeps): Promise<number> {
  let count = 0;
  for (let after: LedgerRecord | undefined; ; ) {
    const page = await deps.store.actions.open({ after });
    for (let start = 0; start < page.length; start += RESUME_READS_AT_ONCE)
      await resumeBatch(deps, page.slice(start, start + RESUME_READS_AT_ONCE));
    count += page.length;
    if (page.length < LIST_MAX) return count;
    after = page[page.length - 1];
  }
}

async function resumeBatch(deps: ResumeDeps, entries: LedgerRecord[]): Promise<void> {
  const { store, queue, policy, reporter, clock } = deps;
  // Settled, not raced: a read that failed leaves none of the others still running.
  const reads = await Promise.allSettled(entries.map((entry) => store.register.get(entry.machineId)));
  for (const [index, entry] of entries.entries()) {
    const read = reads[index];
    if (read.status === 'rejected') throw read.reason;
    const request = resumedTracking(entry, read.value, policy, clock.now());
    if (request) await queue.schedule(messageFor(request), new Date(clock.now()));
    else {
      // Nothing says who asked: no outcome could name it. A person must look; the next request
      // for the device asks MDE.
      await store.actions.abandon(entry.machineId, entry.actionId);
      reporter.note('error', {
        event: 'isolation-not-resumed',
        why: `action ${entry.actionId} on ${entry.machineId} was followed by request ${entry.requestId}, which the register does not know; check the action in the portal`,
        requestId: entry.requestId,
        actionId: entry.actionId,
      });
    }
  }
}

/** The action a ledger entry follows, as tracking carries it. */
export function trackedFromLedger(entry: LedgerRecord): TrackedAction {
  return {
    actionId: entry.actionId,
    action: entry.type === 'Isolate' ? 'isolate' : 'release',
    machineId: entry.machineId,
    computerDnsName: entry.computerDnsName,
    postedAt: entry.adopted ? entry.createdAt : entry.recordedAt,
    adopted: entry.adopted,
    polls: 0,
  };
}

/** The tracking request of `entry`, or null when the register does not know its request. */
export function resumedTracking(
  entry: LedgerRecord,
  record: IsolationRecord | null,
  policy: IsolationPolicy,
  now: number,
): TrackRequest | null {
  if (!record || record.requestId !== entry.requestId) return null;
  const { provenance } = record;
  const device = { mdeDeviceId: entry.machineId };
  const manual = isIsolationOrder({ source: provenance.alertSource });
  const alert: NormalizedAlert = {
    source: provenance.alertSource,
    alertId: provenance.alertId,
    incidentId: provenance.incidentId,
    incidentArmId: provenance.incidentArmId,
    title: provenance.reason,
    severity: 'high',
    firing: true,
    categories: [],
    mitreTechniques: [],
    devices: [device],
    ...(manual && { manual: { comment: provenance.reason, requestedBy: provenance.requestedBy.name } }),
  };
  const tracking = trackedFromLedger(entry);
  return {
    requestId: entry.requestId,
    action: 'track',
    device,
    isolationType: 'Full',
    priority: PRIORITY.tracking,
    alert,
    requestedBy: provenance.requestedBy,
    rule: provenance.requestedBy.kind === 'rule' ? provenance.requestedBy.name : 'manual',
    policyVersion: provenance.policyVersion || policy.version,
    mode: provenance.mode,
    attempt: 0,
    deferrals: 0,
    dedupeKey: `track:${tracking.actionId}:${entry.requestId}`,
    // The claim was opened under the key the alert named (`fqdn:…`), not the machine id known now.
    ...(entry.deviceKey !== null && { claimKey: entry.deviceKey }),
    receivedAt: record.requestedAt || new Date(now).toISOString(),
    tracking,
  };
}

/**
 * Redelivered or retried after this request's own POST or adoption, in this process or an earlier
 * one, while the action is followed: its tracking is queued again, never a second action. Once it
 * ended, a redelivery is judged against MDE's list like any request (null: it goes on).
 */
export async function followedAlready(store: StateStore, request: ActionRequest): Promise<Ending | null> {
  // A request fresh from intake, or a copy deferred before it reserved anything, cannot have posted:
  // no ledger read.
  if (request.unreserved) return null;
  const own = await store.actions.forRequest(request.requestId);
  return own?.open ? { end: 'tracked', request, tracked: trackedFromLedger(own) } : null;
}
