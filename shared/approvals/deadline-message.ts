/**
 * An approval's deadline message on the request queue (dispatch/approval-deadline.ts): scheduled when
 * the approval is asked for (gate.ts) or comes back early (expiry.ts), withdrawn once people decide
 * (vote.ts). What withdraws it is kept on the approval's row, because the process that decides (an
 * HTTP instance, the CLI) is seldom the worker that scheduled it. A withdrawal that fails, comes too
 * late or names another queue leaves the message to the expiry handler, which finds the approval
 * decided and does nothing (docs/decisions/0028-approvals-and-break-glass.md, amendment).
 */
import { approvalDeadlineMessage } from '../dispatch/approval-deadline';
import type { RequestQueue } from '../dispatch/transport/queue';
import { errorSummary } from '../kernel/errors';
import type { ApprovalRecord } from '../state/store';
import type { ApprovalDeps } from './deps';

/** Schedules the deadline message; answers the row's field that withdraws it (none for a duplicate). */
export async function scheduleDeadline(
  queue: RequestQueue,
  approval: Pick<ApprovalRecord, 'id' | 'deadline'>,
): Promise<Pick<ApprovalRecord, 'deadlineMessage'>> {
  const ref = await queue.schedule(approvalDeadlineMessage(approval.id), new Date(approval.deadline));
  return ref === null ? {} : { deadlineMessage: ref };
}

/** Never throws: the decision is recorded already, and a message left behind is harmless. */
export async function withdrawDeadline(deps: ApprovalDeps, approval: ApprovalRecord): Promise<void> {
  if (approval.deadlineMessage === undefined) return;
  try {
    await deps.queue.cancelScheduled(approval.deadlineMessage);
  } catch (error) {
    deps.reporter.note('warn', {
      event: 'approval-deadline-not-withdrawn',
      approvalId: approval.id,
      why: errorSummary(error),
    });
  }
}
