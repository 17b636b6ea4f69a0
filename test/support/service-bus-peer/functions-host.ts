/**
 * The Functions host's Service Bus trigger as the app sees it, over the real SDK: peek-lock, one
 * handler call per message with the metadata the host gives (`deliveryCount` counted from 1 as .NET
 * counts it, where the AMQP wire and the JavaScript SDK count from 0; `messageId`; the sequence
 * number and application properties), the invocation's trace context a child of the message's
 * `Diagnostic-Id` as the host starts it (same trace id, a span id of its own), completed when the
 * handler returns and abandoned when it throws (the host's `autoCompleteMessages`). The host also renews locks while a handler runs; this
 * one does not, so a test decides when a lock expires.
 */
import { randomBytes } from 'node:crypto';
import { InvocationContext, type TraceContext } from '@azure/functions';
import type {
  ServiceBusClient,
  ServiceBusReceivedMessage,
  ServiceBusReceiver,
  ServiceBusSessionReceiver,
} from '@azure/service-bus';

export type TriggerHandler = (message: unknown, context: InvocationContext) => Promise<void>;

export interface ServedQueue {
  /** Errors the SDK reported while receiving or settling (a settlement after the lock expired, say). */
  readonly errors: unknown[];
  close(): Promise<void>;
}

const TRACE_PARENT = /^00-([0-9a-f]{32})-[0-9a-f]{16}-([0-9a-f]{2})$/;

/**
 * The host's invocation span: a child of the message's trace when it carries one
 * (https://learn.microsoft.com/azure/service-bus-messaging/service-bus-end-to-end-tracing), else the
 * root of a trace of its own.
 */
function invocationTrace(message: ServiceBusReceivedMessage): TraceContext {
  const match = TRACE_PARENT.exec(String(message.applicationProperties?.['Diagnostic-Id'] ?? ''));
  const traceId = match?.[1] ?? randomBytes(16).toString('hex');
  return { traceParent: `00-${traceId}-${randomBytes(8).toString('hex')}-${match?.[2] ?? '01'}` };
}

export function triggerContext(message: ServiceBusReceivedMessage): InvocationContext {
  return new InvocationContext({
    traceContext: invocationTrace(message),
    triggerMetadata: {
      deliveryCount: message.deliveryCount === undefined ? 1 : message.deliveryCount + 1,
      messageId: message.messageId === undefined ? undefined : String(message.messageId),
      sequenceNumber: message.sequenceNumber?.toString(),
      applicationProperties: message.applicationProperties ?? {},
    },
    logHandler: () => undefined,
  });
}

/** Serves `receiver` (made with `receiveMode: 'peekLock'`) to `handler`, `concurrency` messages at a time. */
export function serveReceiver(
  receiver: ServiceBusReceiver,
  handler: TriggerHandler,
  concurrency = 1,
): ServedQueue {
  const errors: unknown[] = [];
  const subscription = receiver.subscribe(
    {
      processMessage: async (message) => {
        try {
          await handler(message.body, triggerContext(message));
        } catch {
          await receiver.abandonMessage(message).catch((error: unknown) => errors.push(error));
          return;
        }
        await receiver.completeMessage(message).catch((error: unknown) => errors.push(error));
      },
      processError: async ({ error }) => {
        errors.push(error);
      },
    },
    { autoCompleteMessages: false, maxConcurrentCalls: concurrency },
  );
  return {
    errors,
    close: async () => {
      await subscription.close();
      await receiver.close();
    },
  };
}

export function serveQueue(
  client: ServiceBusClient,
  queueName: string,
  handler: TriggerHandler,
  concurrency = 1,
): ServedQueue {
  // The peer's clock, not the wall's, decides when a lock runs out: no renewal.
  const receiver = client.createReceiver(queueName, {
    receiveMode: 'peekLock',
    maxAutoLockRenewalDurationInMs: 0,
  });
  return serveReceiver(receiver, handler, concurrency);
}

/**
 * One worker instance's session trigger (`isSessionsEnabled`), over the SDK's session receiver: it
 * accepts the next session no other receiver holds, hands that session's messages to the handler one
 * at a time (the host's one call per session), and lets the session go when it has nothing left (the
 * host waits `sessionIdleTimeout`; here the peer says when the session is empty, so no wall clock).
 */
export class SessionTrigger {
  /** The session this instance holds now, if any. */
  held: string | null = null;
  private receiver: ServiceBusSessionReceiver | null = null;

  constructor(
    private readonly client: ServiceBusClient,
    private readonly queueName: string,
    private readonly handler: TriggerHandler,
    /** Whether the session still has a message to hand out (the peer's view). */
    private readonly hasMore: (sessionId: string) => boolean,
  ) {}

  /** Locks the next free session; null when every session with messages is held (the service's timeout). */
  async accept(): Promise<string | null> {
    try {
      this.receiver = await this.client.acceptNextSession(this.queueName, {
        receiveMode: 'peekLock',
        maxAutoLockRenewalDurationInMs: 0,
      });
    } catch (error) {
      if ((error as { code?: string }).code === 'ServiceTimeout') return null;
      throw error;
    }
    this.held = this.receiver.sessionId;
    return this.held;
  }

  /** Handles the held session's messages in order until it has none, then lets it go. */
  async drain(): Promise<void> {
    const receiver = this.receiver;
    const sessionId = this.held;
    if (!receiver || sessionId === null) throw new Error('no session held');
    while (this.hasMore(sessionId)) {
      const [message] = await receiver.receiveMessages(1);
      if (!message) continue;
      try {
        await this.handler(message.body, triggerContext(message));
      } catch {
        await receiver.abandonMessage(message);
        continue;
      }
      await receiver.completeMessage(message);
    }
    await this.release();
  }

  async release(): Promise<void> {
    await this.receiver?.close();
    this.receiver = null;
    this.held = null;
  }
}
