/**
 * The Service Bus side of RequestQueue: a thin adapter, so the SDK stays out of the decision code.
 * One ServiceBusClient per process, signed in with the process-wide credential (identity-based
 * connection `ServiceBusConnection__fullyQualifiedNamespace`). Receiving is the Functions host's
 * job (functions/worker.ts); this only sends.
 */
import type { TokenCredential } from '@azure/identity';
import { ServiceBusClient, type ServiceBusMessage, type ServiceBusSender } from '@azure/service-bus';
import type { DeadLetterRecord, QueueMessage, RequestQueue } from './queue';

/** The queue that receives dead-letter records: infra creates it next to the request queue. */
export function deadLetterQueueName(queueName: string): string {
  return `${queueName}-deadletter`;
}

function toServiceBus(message: QueueMessage): ServiceBusMessage {
  return {
    messageId: message.messageId,
    body: message.body,
    contentType: 'application/json',
    subject: message.body.action,
    applicationProperties: message.applicationProperties,
  };
}

export class ServiceBusRequestQueue implements RequestQueue {
  private readonly client: ServiceBusClient;
  private readonly requests: ServiceBusSender;
  private readonly deadLetters: ServiceBusSender;

  constructor(namespace: string, queueName: string, credential: TokenCredential) {
    this.client = new ServiceBusClient(namespace, credential);
    this.requests = this.client.createSender(queueName);
    this.deadLetters = this.client.createSender(deadLetterQueueName(queueName));
  }

  async send(message: QueueMessage): Promise<{ duplicate: boolean }> {
    await this.requests.sendMessages(toServiceBus(message));
    // Service Bus accepts a duplicate and drops it without saying so.
    return { duplicate: false };
  }

  async schedule(message: QueueMessage, at: Date): Promise<void> {
    await this.requests.scheduleMessages(toServiceBus(message), at);
  }

  async deadLetter(record: DeadLetterRecord): Promise<void> {
    await this.deadLetters.sendMessages({
      messageId: `dl:${record.messageId}:${record.deadLetteredAt}`.slice(0, 128),
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
