/**
 * The queue message that asks the worker for one reconciliation (shared/reconcile/): the timer and
 * the CLI only queue it, so the worker stays the one process that spends the MDE quota
 * (docs/decisions/0017-reconciler-and-drift.md). Dispatch routes it to the handler the composition
 * root gives it and knows nothing else of reconciling.
 */
import { randomUUID } from 'node:crypto';
import { PRIORITY } from './request';
import type { QueueMessage } from './transport/queue';

export interface ReconcileOrder {
  action: 'reconcile';
  requestId: string;
  /** Who asked: `timer`, or the CLI's caller. */
  requestedBy: string;
  requestedAt: string;
  /** Times it waited for budget. */
  deferrals: number;
  /** The listed tenant it reconciles (stamped by the tenant's queue, transport/tenant-queue.ts). */
  tenantId?: string;
}

/** What carries out a reconciliation (the composition root gives it to the dispatcher). */
export type ReconcileHandler = (order: ReconcileOrder) => Promise<void>;

const REQUESTED_BY_MAX = 200;

export function reconcileOrder(requestedBy: string, now: number): ReconcileOrder {
  return {
    action: 'reconcile',
    requestId: randomUUID(),
    requestedBy: requestedBy.slice(0, REQUESTED_BY_MAX),
    requestedAt: new Date(now).toISOString(),
    deferrals: 0,
  };
}

/** A message body that is a reconcile order, checked field by field like any queue message. */
export function asReconcileOrder(body: unknown): ReconcileOrder | null {
  if (body === null || typeof body !== 'object') return null;
  const fields = body as Record<string, unknown>;
  if (fields.action !== 'reconcile') return null;
  const { requestId, requestedBy, requestedAt, deferrals } = fields;
  if (typeof requestId !== 'string' || requestId.length === 0 || requestId.length > 100) return null;
  if (typeof requestedBy !== 'string' || requestedBy.length > REQUESTED_BY_MAX) return null;
  if (typeof requestedAt !== 'string' || Number.isNaN(Date.parse(requestedAt))) return null;
  if (typeof deferrals !== 'number' || !Number.isInteger(deferrals) || deferrals < 0) return null;
  return { action: 'reconcile', requestId, requestedBy, requestedAt, deferrals };
}

/**
 * Its message: one per order id and deferral, so a redelivered send is dropped by duplicate
 * detection while the copy that waited for budget is a message of its own (under the order's id it
 * was dropped as a duplicate of the first, and the reconciliation never ran); its priority, below
 * every isolation and tracking, is what Service Bus Explorer shows.
 */
export function reconcileMessage(order: ReconcileOrder): QueueMessage {
  return {
    messageId:
      order.deferrals === 0
        ? `reconcile:${order.requestId}`
        : `reconcile:${order.requestId}:deferral-${order.deferrals}`,
    body: order,
    applicationProperties: {
      action: order.action,
      priority: PRIORITY.reconcile,
      requestId: order.requestId,
      requestedBy: order.requestedBy,
    },
  };
}
