import { app, type InvocationContext } from '@azure/functions';
import { SETTINGS } from '../shared/config';
import { getRuntime } from '../shared/runtime';

/**
 * The isolation worker: one isolation request (or tracking poll) per Service Bus message. The app runs
 * as one instance (infra caps it), so one process-wide throttle sees every MDE call. host.json lets it
 * handle up to 8 messages at once: the throttle, the per-machine lock and the record of posted actions
 * are process-wide, so two messages about one machine are still decided one after the other.
 * Returning completes the message; throwing abandons it and Service Bus redelivers it, which the
 * dispatcher only does when it could not requeue (work it defers or retries goes back as a scheduled
 * message, so the message lock is never held while waiting).
 */
export async function worker(message: unknown, context: InvocationContext): Promise<void> {
  const metadata = context.triggerMetadata ?? {};
  await getRuntime().dispatcher.handle(bodyOf(message), {
    deliveryCount: Number(metadata.deliveryCount ?? 1),
    messageId: typeof metadata.messageId === 'string' ? metadata.messageId : undefined,
  });
}

/** The SDK sends the request as JSON; depending on the binding it arrives parsed or as text. */
function bodyOf(message: unknown): unknown {
  if (typeof message !== 'string') return message;
  try {
    return JSON.parse(message);
  } catch {
    return message;
  }
}

// Without a namespace (a local `func start`) there is no queue: the alerts function runs this same worker
// inline in its own process, and a trigger with no connection would only show as a broken function.
if (process.env[SETTINGS.serviceBusNamespace]?.trim()) {
  app.serviceBusQueue('worker', {
    connection: 'ServiceBusConnection',
    queueName: '%ISOLATION_QUEUE%',
    handler: worker,
  });
}
