/**
 * The queues infra/modules/servicebus.bicep deploys, as the peer's settings, taken from the same
 * place the Bicep is checked against (shared/dispatch/transport/service-bus-settings.ts).
 */
import { deadLetterQueueName } from '../../../shared/dispatch/transport/service-bus-queue';
import { REQUEST_QUEUE_SETTINGS } from '../../../shared/dispatch/transport/service-bus-settings';
import type { QueueSettings } from './entity';

/** Service Bus's own defaults, which the dead-letter record queue keeps. */
const SERVICE_DEFAULTS = { maxDeliveryCount: 10, lockDurationMs: 60_000 } as const;

/** The isolation-request queue and, next to it, the queue of dead-letter records. */
export function requestQueues(queueName: string): QueueSettings[] {
  return [
    { name: queueName, ...REQUEST_QUEUE_SETTINGS },
    { name: deadLetterQueueName(queueName), ...SERVICE_DEFAULTS },
  ];
}
