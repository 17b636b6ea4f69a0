/**
 * One Service Bus message of the alert queue: the same intake as `POST /api/alerts` (any payload it
 * accepts, one alert or a batch). What can never succeed is recorded in the dead-letter record queue
 * with its reason and the message id, and the message completes; what failed for a passing reason
 * (the store or the request queue down) is handed back to Service Bus to redeliver, after a pause
 * that grows with the delivery count so an outage does not burn the count in seconds.
 */
import type { DeadLetterRecord, Delivery } from '../dispatch/transport/queue';
import { checkItemCount, isHttpProblem, parseJsonBody } from './http-body';
import type { IntakeLogLine, IntakeResult } from './receive-alerts';

export interface AlertMessageDeps {
  receiveAlerts(body: unknown, log?: (line: IntakeLogLine) => void): Promise<IntakeResult>;
  deadLetter(record: DeadLetterRecord): Promise<void>;
  log: (line: IntakeLogLine) => void;
  now?: () => number;
  /** The pause before a retryable failure is thrown (tests: none). */
  pause?: (ms: number) => Promise<void>;
}

export type AlertMessageOutcome =
  | { kind: 'accepted'; result: IntakeResult }
  | { kind: 'dead-lettered'; record: DeadLetterRecord };

/** Thrown so the Functions host abandons the message and Service Bus delivers it again. */
export class RetryAlertMessageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RetryAlertMessageError';
  }
}

const PAUSE_BASE_MS = 1_000;
/** Under the queue's lock duration (infra/modules/servicebus.bicep), so the lock never lapses while waiting. */
export const PAUSE_MAX_MS = 30_000;
/** A record carries the message only up to this size, so it always fits a Service Bus message itself. */
const RECORDED_BODY_MAX = 64 * 1024;
const REASONS_LISTED = 5;

/** 1 s, 2 s, 4 s … up to PAUSE_MAX_MS, by delivery: ten deliveries span about four minutes. */
export function retryPauseMs(deliveryCount: number): number {
  return Math.min(PAUSE_MAX_MS, PAUSE_BASE_MS * 2 ** Math.max(0, deliveryCount - 1));
}

/** The SDK delivers JSON parsed, as text, or as bytes, depending on the sender's content type. */
function decode(message: unknown): { value: unknown } | { reason: string } {
  if (typeof message !== 'string' && !Buffer.isBuffer(message) && !(message instanceof Uint8Array))
    return { value: message };
  const parsed = parseJsonBody(Buffer.from(message as string | Uint8Array));
  return isHttpProblem(parsed) ? { reason: parsed.message } : parsed;
}

function recordedBody(message: unknown): unknown {
  const text = typeof message === 'string' ? message : JSON.stringify(message ?? null);
  return text.length <= RECORDED_BODY_MAX
    ? message
    : { omitted: `message body of ${text.length} characters` };
}

function rejectionReasons(result: IntakeResult): string {
  const reasons = result.alerts.flatMap((a) =>
    a.status === 'rejected' ? [`${a.path}: ${a.error.message}`] : [],
  );
  const more = reasons.length > REASONS_LISTED ? `; and ${reasons.length - REASONS_LISTED} more` : '';
  return `${reasons.slice(0, REASONS_LISTED).join('; ')}${more}`;
}

export async function receiveAlertMessage(
  message: unknown,
  delivery: Delivery,
  deps: AlertMessageDeps,
): Promise<AlertMessageOutcome> {
  const now = deps.now ?? Date.now;
  const deadLetter = async (reason: string, description: string): Promise<AlertMessageOutcome> => {
    const record: DeadLetterRecord = {
      event: 'isolation-dead-letter',
      reason,
      description,
      messageId: delivery.messageId ?? 'unknown',
      deadLetteredAt: new Date(now()).toISOString(),
      request: recordedBody(message),
    };
    await deps.deadLetter(record);
    return { kind: 'dead-lettered', record };
  };
  const decoded = decode(message);
  if ('reason' in decoded) return deadLetter('NotJson', decoded.reason);
  const tooMany = checkItemCount(decoded.value);
  if (tooMany) return deadLetter('TooManyItems', tooMany.message);
  const result = await deps.receiveAlerts(decoded.value, deps.log);
  if (result.failed > 0) {
    const pause = retryPauseMs(delivery.deliveryCount);
    await (deps.pause ?? ((ms) => new Promise<void>((done) => setTimeout(done, ms))))(pause);
    throw new RetryAlertMessageError(
      `${result.failed} alert(s) of message ${delivery.messageId ?? 'unknown'} could not be carried through; redelivered (delivery ${delivery.deliveryCount}, paused ${pause} ms)`,
    );
  }
  if (result.accepted === 0) return deadLetter('NotAnAlert', rejectionReasons(result));
  if (result.rejected > 0)
    deps.log({
      event: 'alert-message-partly-rejected',
      messageId: delivery.messageId ?? 'unknown',
      reasons: rejectionReasons(result),
    });
  return { kind: 'accepted', result };
}
