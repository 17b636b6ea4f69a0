import { app, type InvocationContext } from '@azure/functions';
import { SETTINGS } from '../shared/config';
import { inInvocation } from './invocation';
import { deliveryOf, serviceBusTriggerAllowed } from './service-bus-trigger';

/**
 * The isolation worker: one isolation request (or tracking poll) per Service Bus message. The app runs
 * as one instance (infra caps it), so one process-wide throttle sees every MDE call. host.json lets it
 * handle up to 16 messages at once: the throttle, the per-machine lock and the record of posted actions
 * are process-wide, so two messages about one machine are still decided one after the other.
 * Returning completes the message; throwing abandons it and Service Bus redelivers it, which the
 * dispatcher only does when it could not requeue (work it defers or retries goes back as a scheduled
 * message, so the message lock is never held while waiting).
 */
export const worker = inInvocation(async function worker(
  message: unknown,
  context: InvocationContext,
): Promise<void> {
  const { getRuntime } = await import('../shared/runtime');
  await getRuntime().handle(bodyOf(message), deliveryOf(context));
});

/** The SDK sends the request as JSON; depending on the binding it arrives parsed or as text. */
function bodyOf(message: unknown): unknown {
  if (typeof message !== 'string') return message;
  try {
    return JSON.parse(message);
  } catch {
    return message;
  }
}

/**
 * Registers the Service Bus trigger, unless there is nothing it could do (functions/service-bus-trigger.ts).
 * Without a namespace the alerts function runs this same worker inline in its own process.
 */
export function registerWorker(env: Readonly<Record<string, string | undefined>> = process.env): boolean {
  if (!serviceBusTriggerAllowed(env)) return false;
  app.serviceBusQueue('worker', {
    connection: 'ServiceBusConnection',
    queueName: '%ISOLATION_QUEUE%',
    // A session-enabled queue is read only by a session receiver: one tenant per receiver at a time
    // (docs/decisions/0029-many-tenants.md). The queue and this setting change together (infra `queueSessions`).
    isSessionsEnabled: env[SETTINGS.queueSessions]?.trim().toLowerCase() === 'on',
    handler: worker,
  });
  return true;
}

registerWorker();
