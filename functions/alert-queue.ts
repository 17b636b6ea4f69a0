import { app, type InvocationContext } from '@azure/functions';
import { SETTINGS } from '../shared/config';
import { inInvocation } from './invocation';
import { deliveryOf, serviceBusTriggerAllowed } from './service-bus-trigger';

/**
 * Alert events from Service Bus (a Logic App or Power Automate relay, an Event Grid subscription, a
 * SIEM forwarder): the intake of `POST /api/alerts`, one message at a time. A message that is not an
 * alert is recorded in the dead-letter record queue and completed; a passing failure throws after a
 * growing pause, so Service Bus redelivers it (shared/intake/alert-message.ts).
 */
export const alertQueue = inInvocation(async function alertQueue(
  message: unknown,
  context: InvocationContext,
): Promise<void> {
  const { getRuntime } = await import('../shared/runtime');
  const { receiveAlertMessage } = await import('../shared/intake/alert-message');
  const runtime = getRuntime();
  await receiveAlertMessage(message, deliveryOf(context), {
    receiveAlerts: (body, log) => runtime.receiveAlerts(body, log),
    deadLetter: (record) => runtime.deadLetter(record),
    log: (line) => context.log(JSON.stringify(line)),
  });
});

/** Registered like the worker (functions/worker.ts): only with a namespace and a valid configuration. */
export function registerAlertQueue(env: Readonly<Record<string, string | undefined>> = process.env): boolean {
  if (!serviceBusTriggerAllowed(env)) return false;
  app.serviceBusQueue('alertQueue', {
    connection: 'ServiceBusConnection',
    queueName: `%${SETTINGS.alertQueue}%`,
    handler: alertQueue,
  });
  return true;
}

registerAlertQueue();
