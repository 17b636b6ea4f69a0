/**
 * A person's decision on a held isolation (the API, the page, the CLI): recorded under the approval's
 * ETag, so two people deciding at once are both counted or one is told it was already decided. The
 * requester of a manual isolation cannot approve it; a two-person approval needs two different people;
 * a deny by anyone ends it. Once approved, the request goes on (continuation.ts); once denied, its
 * outcome says so.
 */
import { oneLine } from '../kernel/text';
import { ALL_TENANTS_ROLE, type Caller, mayActIn, tenantRole } from '../manual/caller';
import type { ApprovalRecord, ApprovalVote } from '../state/store';
import { reportEnd, sendOn } from './continuation';
import { withdrawDeadline } from './deadline-message';
import type { ApprovalDeps } from './deps';
import { noteInRegister } from './register-note';
import { heldTenant } from './views';
import { describeVotes } from './wording';

/** A reason is one line a person writes; it goes into the register and the outcome. */
export const VOTE_REASON_MAX = 500;

export interface Approver {
  /** As the caller check names them (manual/caller.ts). */
  label: string;
  objectId: string | null;
  /** The listed tenants they may decide in (manual/caller.ts); `every` for a key and the CLI. */
  tenants: Caller['tenants'];
}

export interface VoteOrder {
  approvalId: string;
  verdict: 'approve' | 'deny';
  reason: string;
  approver: Approver;
}

export type VoteResult =
  | { kind: 'approved'; approval: ApprovalRecord }
  | { kind: 'denied'; approval: ApprovalRecord }
  /** Counted; another approver is still needed. */
  | { kind: 'recorded'; approval: ApprovalRecord }
  | { kind: 'refused'; code: VoteRefusal; message: string; approval: ApprovalRecord | null };

export type VoteRefusal =
  | 'unknown-approval'
  | 'already-decided'
  | 'past-deadline'
  | 'self-approval'
  | 'same-approver'
  | 'tenant-forbidden';

/** Whether `approver` is the person a label names: the same label, or their object id in it. */
function samePerson(label: string, approver: Approver): boolean {
  return label === approver.label || (approver.objectId !== null && label.includes(approver.objectId));
}

function sameVoter(vote: ApprovalVote, approver: Approver): boolean {
  return approver.objectId !== null && vote.byObjectId !== null
    ? vote.byObjectId === approver.objectId
    : vote.by === approver.label;
}

/** The step under the ETag: what the vote does to the approval as read. */
function voteStep(order: VoteOrder, now: number) {
  return (current: ApprovalRecord | null): { next: ApprovalRecord | null; result: VoteResult } => {
    const refuse = (code: VoteRefusal, message: string) => ({
      next: null,
      result: { kind: 'refused' as const, code, message, approval: current },
    });
    if (!current) return refuse('unknown-approval', `there is no approval ${order.approvalId}`);
    // Before anything else about it: an approver of another customer learns nothing of its state.
    const tenantId = heldTenant(current);
    if (tenantId !== null && !mayActIn(order.approver, tenantId))
      return refuse(
        'tenant-forbidden',
        `deciding an isolation in tenant ${tenantId} needs the app role ${tenantRole(tenantId)} or ${ALL_TENANTS_ROLE}`,
      );
    if (current.state !== 'pending')
      return refuse('already-decided', `approval ${current.id} is already ${current.state}`);
    if (now >= Date.parse(current.deadline))
      return refuse('past-deadline', `approval ${current.id} expired at ${current.deadline}`);
    const { approver } = order;
    if (order.verdict === 'approve') {
      if (current.requestedBy.kind === 'caller' && samePerson(current.requestedBy.name, approver))
        return refuse('self-approval', 'the person who asked for this isolation cannot approve it');
      if (current.votes.some((v) => v.verdict === 'approve' && sameVoter(v, approver)))
        return refuse('same-approver', 'you approved it already; a second, different person must approve');
    }
    const vote: ApprovalVote = {
      verdict: order.verdict,
      by: approver.label,
      byObjectId: approver.objectId,
      at: new Date(now).toISOString(),
      reason: oneLine(order.reason, VOTE_REASON_MAX),
    };
    const votes = [...current.votes, vote];
    const approvals = votes.filter((v) => v.verdict === 'approve').length;
    const state =
      order.verdict === 'deny' ? 'denied' : approvals >= current.approvers ? 'approved' : 'pending';
    const next: ApprovalRecord = {
      ...current,
      state,
      votes,
      endedAt: state === 'pending' ? null : vote.at,
    };
    const kind = state === 'pending' ? 'recorded' : state === 'denied' ? 'denied' : 'approved';
    return { next, result: { kind, approval: next } };
  };
}

export async function voteOnApproval(deps: ApprovalDeps, order: VoteOrder): Promise<VoteResult> {
  const result = await deps.store.approvals.update(order.approvalId, voteStep(order, deps.clock.now()));
  if (result.kind === 'approved' || result.kind === 'denied') await withdrawDeadline(deps, result.approval);
  if (result.kind === 'approved') await sendOn(deps, result.approval);
  if (result.kind === 'denied') {
    await noteInRegister(deps, result.approval, result.approval.id, 'denied');
    reportEnd(
      deps,
      result.approval,
      'denied',
      `approval ${result.approval.id}: ${describeVotes(result.approval.votes)}; nothing posted`,
    );
  }
  return result;
}
