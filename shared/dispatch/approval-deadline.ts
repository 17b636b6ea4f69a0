/**
 * The queue message scheduled at an approval's deadline (shared/approvals/): when it comes, an
 * approval still pending expires and its policy's `onExpiry` applies; one already decided ignores it.
 * Dispatch routes it to the handler the composition root gives it and knows nothing else of approvals,
 * as with reconcile orders (reconcile-order.ts).
 */
import { PRIORITY } from './request';
import type { QueueMessage } from './transport/queue';

export interface ApprovalDeadline {
  action: 'approval-deadline';
  /** The approval's id, which is also the id of the request an approval sends on. */
  requestId: string;
  /** The tenant whose worker it reaches, when a tenant's queue sent it (transport/tenant-queue.ts). */
  tenantId?: string;
}

/** What expires an approval (the composition root gives it to the dispatcher). */
export type ApprovalDeadlineHandler = (deadline: ApprovalDeadline) => Promise<void>;

/** Approval ids are UUIDs; anything longer is not one of this app's. */
const APPROVAL_ID_MAX = 40;

/** A message body that is an approval deadline, checked field by field like any queue message. */
export function asApprovalDeadline(body: unknown): ApprovalDeadline | null {
  if (body === null || typeof body !== 'object') return null;
  const { action, requestId } = body as Record<string, unknown>;
  if (action !== 'approval-deadline') return null;
  if (typeof requestId !== 'string' || requestId.length === 0 || requestId.length > APPROVAL_ID_MAX)
    return null;
  return { action, requestId };
}

/** One message per approval, so a deadline scheduled twice is dropped by duplicate detection. */
export function approvalDeadlineMessage(approvalId: string): QueueMessage {
  return {
    messageId: `approval-deadline:${approvalId}`,
    body: { action: 'approval-deadline', requestId: approvalId },
    applicationProperties: {
      action: 'approval-deadline',
      priority: PRIORITY.reconcile,
      requestId: approvalId,
    },
  };
}
