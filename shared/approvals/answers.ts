/**
 * Approvals over HTTP without HTTP: the list (`GET /api/approvals`) and a person's approve or deny
 * (`POST /api/approvals/{id}/approve|deny`), as answers the functions send.
 */
import { GUID } from '../kernel/ids';
import { type ManualAnswer, refusal } from '../manual/answer';
import type { Caller } from '../manual/caller';
import { guarded } from '../manual/reads';
import { APPROVAL_STATES, type ApprovalState, LIST_MAX, type StateStore } from '../state/store';
import type { TenantDirectory } from '../tenants/lookup';
import { viewOf } from './views';
import type { VoteOrder, VoteRefusal, VoteResult } from './vote';

/** The list's default: enough for a SOC's screen. */
const LIST_DEFAULT = 50;

/** `GET /api/approvals?state=…&limit=…`: newest first; pending and recent ones by default. */
export function listApprovals(
  store: StateStore,
  query: URLSearchParams,
  tenants: TenantDirectory,
): Promise<ManualAnswer> {
  return guarded(async () => {
    const state = query.get('state');
    if (state !== null && !(APPROVAL_STATES as readonly string[]).includes(state))
      return refusal(400, 'invalid-query', `state must be one of ${APPROVAL_STATES.join(', ')}`, {
        path: 'state',
      });
    const limitText = query.get('limit');
    const limit = limitText === null ? LIST_DEFAULT : Number(limitText);
    if (!Number.isInteger(limit) || limit < 1 || limit > LIST_MAX)
      return refusal(400, 'invalid-query', `limit must be a whole number from 1 to ${LIST_MAX}`, {
        path: 'limit',
      });
    const items = (
      await store.approvals.list({ ...(state && { state: state as ApprovalState }), limit })
    ).map((record) => viewOf(record, tenants));
    return { status: 200, body: { items, count: items.length } };
  });
}

/** An approval id from a route: a GUID, or the 400 that says so. */
export function approvalIdProblem(id: string): ManualAnswer | null {
  return GUID.test(id)
    ? null
    : refusal(400, 'invalid-approval-id', 'the approval id must be a GUID', { path: 'id' });
}

const REFUSAL_STATUS: Record<VoteRefusal, ManualAnswer['status']> = {
  'unknown-approval': 404,
  'already-decided': 409,
  'past-deadline': 409,
  'self-approval': 403,
  'same-approver': 409,
  'tenant-forbidden': 403,
};

/** What a vote answers: 202 approved or waiting for a second approver, 200 denied, or the refusal. */
export function voteAnswer(result: VoteResult): ManualAnswer {
  if (result.kind === 'refused') return refusal(REFUSAL_STATUS[result.code], result.code, result.message);
  const approval = viewOf(result.approval);
  switch (result.kind) {
    case 'approved':
      // The worker decides it again (protections, platform, breaker) before it posts.
      return { status: 202, body: { status: 'approved', requestId: approval.id, approval } };
    case 'recorded':
      return { status: 202, body: { status: 'awaiting-second-approver', approval } };
    case 'denied':
      return { status: 200, body: { status: 'denied', approval } };
  }
}

/** The vote of a signed-in (or keyed) caller. */
export function voteOf(
  approvalId: string,
  verdict: VoteOrder['verdict'],
  reason: string,
  caller: Caller,
): VoteOrder {
  return {
    approvalId,
    verdict,
    reason,
    approver: { label: caller.label, objectId: caller.objectId, tenants: caller.tenants },
  };
}

/** A vote whose store does not answer is a 503: nothing was changed. */
export function voteGuarded(vote: () => Promise<VoteResult>): Promise<ManualAnswer> {
  return guarded(async () => voteAnswer(await vote()));
}
