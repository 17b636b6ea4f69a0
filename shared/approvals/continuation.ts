/**
 * What follows an approval once it left `pending`: the held request sent on under the approval's id
 * (approved, or expired with `onExpiry: isolate`), the worker then deciding it again from the start;
 * or its one outcome record when nothing is posted (denied, dropped, escalated). The request's id is
 * the approval's, so the outcome, the register and the approval name one another.
 */
import { outcomeRecord } from '../dispatch/outcome';
import { type ActionRequest, type ApprovalSummary, decodeRequest } from '../dispatch/request';
import { messageFor } from '../dispatch/transport/queue';
import type { ApprovalRecord } from '../state/store';
import type { ApprovalDeps } from './deps';

/** The held request as it goes on: the approval's id, fresh counts, every decision carried. */
export function continuationOf(record: ApprovalRecord): ActionRequest {
  const decoded = decodeRequest(JSON.parse(record.request));
  if ('problem' in decoded || decoded.request.action === 'track')
    throw new Error(`approval ${record.id} holds no usable request`);
  const { storeOutage: _outage, ...held } = decoded.request;
  const approval: ApprovalSummary = {
    id: record.id,
    state: record.state === 'pending' ? 'approved' : record.state,
    votes: record.votes,
  };
  return { ...held, requestId: record.id, attempt: 0, deferrals: 0, approval };
}

/**
 * Sends the request on and marks the approval followed. Throws when the queue did not take it: the
 * approval stays unfollowed and its deadline message sends it then (expiry.ts).
 */
export async function sendOn(deps: ApprovalDeps, record: ApprovalRecord): Promise<void> {
  await deps.queue.send(messageFor(continuationOf(record)));
  await deps.store.approvals.update(record.id, (current) => ({
    next: current && current.followedBy === null ? { ...current, followedBy: `request ${record.id}` } : null,
    result: undefined,
  }));
}

/** Nothing is posted: the request's one outcome says why, with every decision on the approval. */
export function reportEnd(
  deps: ApprovalDeps,
  record: ApprovalRecord,
  outcome: 'denied' | 'skipped' | 'escalated',
  reason: string,
): void {
  deps.reporter.outcome(
    outcomeRecord(
      continuationOf(record),
      {
        outcome,
        reason,
        rule: record.askedBy,
        machineId: record.machineId,
        computerDnsName: record.computerDnsName,
      },
      deps.clock.now(),
    ),
  );
}
