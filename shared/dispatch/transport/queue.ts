/**
 * What dispatch needs from a queue, owned here so the worker never touches the Service Bus SDK.
 * Two implementations: Service Bus (Azure) and the in-memory stand-in (inline mode, tests).
 */
import { currentTraceParent } from '../../kernel/invocation-log';
import type { ApprovalDeadline } from '../approval-deadline';
import type { ReconcileOrder } from '../reconcile-order';
import type { IsolationRequest } from '../request';

export interface QueueMessage {
  /** Service Bus duplicate detection drops a second message with the same id inside its window. */
  messageId: string;
  body: IsolationRequest | ReconcileOrder | ApprovalDeadline;
  applicationProperties: Record<string, string | number | boolean>;
}

/** Why a request could not reach a terminal outcome; the record an operator replays or closes by hand. */
export interface DeadLetterRecord {
  event: 'isolation-dead-letter';
  reason: string;
  description: string;
  messageId: string;
  deadLetteredAt: string;
  /** The request, or the unusable message body as received. */
  request: unknown;
}

export interface RequestQueue {
  /** `duplicate` is true when the queue is known to have dropped it as a duplicate (Service Bus never tells). */
  send(message: QueueMessage): Promise<{ duplicate: boolean }>;
  /**
   * Delivered no earlier than `at` (a Service Bus scheduled message). Answers what withdraws it
   * (`cancelScheduled`), from any process on the same queue; null when the queue is known to have
   * dropped it as a duplicate.
   */
  schedule(message: QueueMessage, at: Date): Promise<ScheduledMessageRef | null>;
  /**
   * The scheduled message `ref` names is never delivered. False when nothing was withdrawn: it was
   * delivered or withdrawn already, or `ref` names another queue (another process's in-memory queue,
   * another namespace), which is left alone. The handler of a withdrawn message must still be a
   * no-op once unwanted: a cancel can come too late.
   */
  cancelScheduled(ref: ScheduledMessageRef): Promise<boolean>;
  /**
   * The message this process scheduled under `messageId` is delivered at `at` instead, sooner than
   * scheduled (docs/decisions/0023-deferred-requests-come-forward.md). False when it is no longer
   * waiting (delivered, or scheduled by another process): nothing changed. At worst delivered twice,
   * never lost.
   */
  bringForward(messageId: string, at: Date): Promise<boolean>;
  deadLetter(record: DeadLetterRecord): Promise<void>;
  close(): Promise<void>;
}

/**
 * A scheduled message as its queue names it, kept where the process that withdraws it can read it
 * (an approval's row): the queue's own name and the message's sequence number there, which Service
 * Bus cancels by and never reuses within a queue. Opaque outside the queues.
 */
export type ScheduledMessageRef = string;

const REF_PATTERN = /^(.{1,400})#(\d{1,19})$/;

export function scheduledMessageRef(queue: string, sequenceNumber: string): ScheduledMessageRef {
  return `${queue}#${sequenceNumber}`;
}

/** The sequence number `ref` names on `queue`; null when `ref` is another queue's, or none. */
export function sequenceNumberOn(queue: string, ref: ScheduledMessageRef): string | null {
  const match = REF_PATTERN.exec(ref);
  return match && match[1] === queue ? match[2] : null;
}

export interface Delivery {
  /** 1 on first delivery; grows when a handler threw and the message came back. */
  deliveryCount: number;
  messageId?: string;
}

/** The application property Service Bus tracing reads a message's trace context from. */
export const TRACE_PARENT_PROPERTY = 'Diagnostic-Id';

/**
 * Duplicate detection only protects against one message sent twice: an isolate or release is sent
 * under its request id, a tracking request under its action and request. Storms are coalesced on
 * the state store instead (dispatch/coalesce.ts), which never drops a re-request.
 */
export function messageFor(
  request: IsolationRequest,
  messageId: string = request.action === 'track' ? request.dedupeKey : request.requestId,
): QueueMessage {
  const { alert } = request;
  const traceParent = currentTraceParent();
  return {
    messageId,
    body: request,
    // Routing and triage fields, readable in Service Bus Explorer without opening the body.
    applicationProperties: {
      action: request.action,
      priority: request.priority,
      severity: alert.severity,
      alertSource: alert.source,
      alertId: alert.alertId,
      incidentId: alert.incidentId ?? '',
      dedupeKey: request.dedupeKey,
      requestId: request.requestId,
      // The sending invocation's trace context: the worker's invocation joins its operation
      // (docs/decisions/0019-records-through-the-invocation-context.md).
      ...(traceParent && { [TRACE_PARENT_PROPERTY]: traceParent }),
    },
  };
}
