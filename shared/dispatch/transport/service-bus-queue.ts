/**
 * The Service Bus side of RequestQueue: a thin adapter, so the SDK stays out of the decision code.
 * One ServiceBusClient per process, signed in with the process-wide credential (identity-based
 * connection `ServiceBusConnection__fullyQualifiedNamespace`). Receiving is the Functions host's
 * job (functions/worker.ts); this sends, and peeks once for `mde-isolator doctor` (`probeQueue`).
 * The tests run it, with the real SDK, against an AMQP peer on loopback (docs/decisions/0015).
 */
import type { TokenCredential } from '@azure/identity';
import {
  ServiceBusClient,
  type ServiceBusClientOptions,
  type ServiceBusMessage,
  type ServiceBusSender,
} from '@azure/service-bus';
import Long from 'long';
import { errorMessage } from '../../kernel/errors';
import { oneLine } from '../../kernel/text';
import {
  type DeadLetterRecord,
  type QueueMessage,
  type RequestQueue,
  type ScheduledMessageRef,
  scheduledMessageRef,
  sequenceNumberOn,
} from './queue';
import { SERVICE_BUS_STANDARD_LIMITS } from './service-bus-settings';
import { sessionOf } from './session';

/** The queue that receives dead-letter records: infra creates it next to the request queue. */
export function deadLetterQueueName(queueName: string): string {
  return `${queueName}-deadletter`;
}

/**
 * Where the SDK connects: a namespace signed in with the app's identity (the app and the CLI; the
 * settings accept nothing else), or a connection string, which only the tests' AMQP peer uses (the
 * SDK's `UseDevelopmentEmulator=true` form: plain AMQP on loopback).
 */
export type ServiceBusEndpoint =
  | { namespace: string; credential: TokenCredential }
  | { connectionString: string };

function clientFor(endpoint: ServiceBusEndpoint, options?: ServiceBusClientOptions): ServiceBusClient {
  return 'connectionString' in endpoint
    ? new ServiceBusClient(endpoint.connectionString, options)
    : new ServiceBusClient(endpoint.namespace, endpoint.credential, options);
}

/** Whether the request queue was created with sessions (infra `queueSessions`, ISOLATION_QUEUE_SESSIONS). */
export interface RequestQueueOptions {
  sessions: boolean;
}

function toServiceBus(message: QueueMessage, options: RequestQueueOptions): ServiceBusMessage {
  return {
    // A session-enabled queue refuses a message without a session id; another queue ignores one.
    ...(options.sessions && { sessionId: sessionOf(message) }),
    messageId: message.messageId,
    body: message.body,
    contentType: 'application/json',
    subject: message.body.action,
    applicationProperties: message.applicationProperties,
  };
}

/**
 * Scheduled messages this process remembers, to bring forward (`bringForward`): a storm defers at
 * most a few thousand requests at once; past this, a message is delivered at its scheduled time.
 */
const SCHEDULED_REMEMBERED_MAX = 10_000;

/** Service Bus's sequence number, the SDK's Long. */
type SequenceNumber = Awaited<ReturnType<ServiceBusSender['scheduleMessages']>>[number];

interface ScheduledMessage {
  message: QueueMessage;
  sequenceNumber: SequenceNumber;
  at: number;
}

/** The id of a brought-forward copy: another than the original's, kept within Service Bus's limit. */
function earlyCopyId(messageId: string): string {
  const suffix = ':early';
  return `${messageId.slice(0, SERVICE_BUS_STANDARD_LIMITS.messageIdChars - suffix.length)}${suffix}`;
}

/** The SDK's code for the service's answer to a cancel of a message no longer scheduled. */
const MESSAGE_NOT_FOUND = 'MessageNotFound';

export class ServiceBusRequestQueue implements RequestQueue {
  private readonly client: ServiceBusClient;
  /** The namespace and queue: what its refs name, the same in every process that sends to it. */
  private readonly name: string;
  /** By message id, in the order scheduled. */
  private readonly scheduled = new Map<string, ScheduledMessage>();
  private readonly requests: ServiceBusSender;
  private readonly deadLetters: ServiceBusSender;

  constructor(
    endpoint: ServiceBusEndpoint,
    queueName: string,
    private readonly options: RequestQueueOptions = { sessions: false },
  ) {
    this.client = clientFor(endpoint);
    this.name = `${this.client.fullyQualifiedNamespace}/${queueName}`;
    this.requests = this.client.createSender(queueName);
    this.deadLetters = this.client.createSender(deadLetterQueueName(queueName));
  }

  async send(message: QueueMessage): Promise<{ duplicate: boolean }> {
    await this.requests.sendMessages(toServiceBus(message, this.options));
    // Service Bus accepts a duplicate and drops it without saying so.
    return { duplicate: false };
  }

  async schedule(message: QueueMessage, at: Date): Promise<ScheduledMessageRef | null> {
    const [sequenceNumber] = await this.requests.scheduleMessages(toServiceBus(message, this.options), at);
    // Below zero: no message (the AMQP peer's answer when duplicate detection dropped it).
    if (sequenceNumber.isNegative()) return null;
    this.remember(message.messageId, { message, sequenceNumber, at: at.getTime() });
    return scheduledMessageRef(this.name, sequenceNumber.toString());
  }

  /** By sequence number, which any process sending to this queue can do, not only the one that scheduled. */
  async cancelScheduled(ref: ScheduledMessageRef): Promise<boolean> {
    const sequence = sequenceNumberOn(this.name, ref);
    if (sequence === null) return false;
    // Forgotten first: bringing it forward would schedule a copy of what is being withdrawn.
    for (const [messageId, entry] of this.scheduled)
      if (entry.sequenceNumber.toString() === sequence) this.scheduled.delete(messageId);
    try {
      await this.requests.cancelScheduledMessages(Long.fromString(sequence));
      return true;
    } catch (error) {
      if ((error as { code?: unknown }).code === MESSAGE_NOT_FOUND) return false;
      throw error;
    }
  }

  /**
   * Cancel and schedule again, by sequence number: the copy goes first, under a new message id (the
   * old one is in duplicate detection's window), and the original is cancelled only then, so a
   * failure between the two leaves the request delivered twice, which the worker's duplicate checks
   * absorb, and never lost. A cancel that finds the message already enqueued does the same.
   */
  async bringForward(messageId: string, at: Date): Promise<boolean> {
    const entry = this.scheduled.get(messageId);
    if (!entry || entry.at <= at.getTime()) return false;
    this.scheduled.delete(messageId);
    const copy = { ...entry.message, messageId: earlyCopyId(messageId) };
    await this.requests.scheduleMessages(toServiceBus(copy, this.options), at);
    await this.requests.cancelScheduledMessages(entry.sequenceNumber).catch(() => undefined);
    return true;
  }

  private remember(messageId: string, entry: ScheduledMessage): void {
    if (this.scheduled.size >= SCHEDULED_REMEMBERED_MAX) {
      // Those due by now were delivered, or are about to be.
      const now = Date.now();
      for (const [id, { at }] of this.scheduled) if (at <= now) this.scheduled.delete(id);
    }
    if (this.scheduled.size < SCHEDULED_REMEMBERED_MAX) this.scheduled.set(messageId, entry);
  }

  async deadLetter(record: DeadLetterRecord): Promise<void> {
    await this.deadLetters.sendMessages({
      messageId: `dl:${record.messageId}:${record.deadLetteredAt}`.slice(
        0,
        SERVICE_BUS_STANDARD_LIMITS.messageIdChars,
      ),
      body: record,
      contentType: 'application/json',
      subject: record.reason,
      applicationProperties: { reason: record.reason },
    });
  }

  async close(): Promise<void> {
    await this.requests.close();
    await this.deadLetters.close();
    await this.client.close();
  }
}

/** What one peek at a queue found: it answered, or why not. */
export type QueueProbe =
  | { ok: true; messageWaiting: boolean }
  | { ok: false; kind: 'unauthorized' | 'not-found' | 'unreachable' | 'failed'; message: string };

const PROBE_TIMEOUT_MS = 10_000;
const MESSAGE_MAX = 200;

/** What a failed peek means for the operator, from the SDK's error code or the socket's. */
export function probeFailure(error: unknown): QueueProbe {
  const code = typeof error === 'object' && error !== null ? String((error as { code?: unknown }).code) : '';
  const message = oneLine(errorMessage(error), MESSAGE_MAX);
  if (code === 'UnauthorizedAccess') return { ok: false, kind: 'unauthorized', message };
  if (code === 'MessagingEntityNotFound') return { ok: false, kind: 'not-found', message };
  if (
    code === 'ServiceCommunicationProblem' ||
    code === 'ServiceTimeout' ||
    /ECONNREFUSED|ENOTFOUND|EAI_AGAIN|ETIMEDOUT/.test(message)
  )
    return { ok: false, kind: 'unreachable', message };
  return { ok: false, kind: 'failed', message };
}

/**
 * Whether a queue answers for a credential (`mde-isolator doctor`): one peek, which needs the Listen
 * right (Azure Service Bus Data Receiver) and neither sends, receives nor locks a message. Never
 * retried: a doctor's line must come in seconds.
 */
export async function probeQueue(endpoint: ServiceBusEndpoint, queueName: string): Promise<QueueProbe> {
  const client = clientFor(endpoint, {
    retryOptions: { maxRetries: 0, timeoutInMs: PROBE_TIMEOUT_MS },
  });
  const receiver = client.createReceiver(queueName);
  try {
    const peeked = await receiver.peekMessages(1);
    return { ok: true, messageWaiting: peeked.length > 0 };
  } catch (error) {
    return probeFailure(error);
  } finally {
    await receiver.close().catch(() => undefined);
    await client.close().catch(() => undefined);
  }
}
