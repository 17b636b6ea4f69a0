import type { InvocationContext } from '@azure/functions';
import { SETTINGS } from '../shared/config';
import type { Delivery } from '../shared/dispatch/transport/queue';

/**
 * What the Service Bus trigger says about a message: its id and how many times it has been handed
 * out, counted as the host counts (1 on the first delivery; the AMQP wire and the JavaScript SDK say
 * 0, test/support/service-bus-peer/functions-host.ts).
 */
export function deliveryOf(context: InvocationContext): Delivery {
  const metadata = context.triggerMetadata ?? {};
  return {
    deliveryCount: Number(metadata.deliveryCount ?? 1),
    messageId: typeof metadata.messageId === 'string' ? metadata.messageId : undefined,
  };
}

/**
 * Whether a Service Bus trigger should be registered. Without a namespace (a local `func start`)
 * there is no queue: a trigger with no connection would only show as a broken function. With a bad
 * setting or policy, every delivery would fail and Service Bus would redeliver each message at once
 * until its delivery count ran out, dead-lettering the whole queue within seconds: the messages stay
 * queued instead, until a deployment with a valid configuration restarts the app (health says which
 * component is invalid; the log says why).
 */
export function serviceBusTriggerAllowed(env: Readonly<Record<string, string | undefined>>): boolean {
  if (!env[SETTINGS.serviceBusNamespace]?.trim()) return false;
  // Required here, not imported at the top: without a namespace (local runs) the policy compiler is
  // never loaded at start-up. Registration has to happen while the host loads the function file, so
  // the check cannot wait for an asynchronous import.
  const { checkConfiguration } =
    require('../shared/configuration-check') as typeof import('../shared/configuration-check');
  return checkConfiguration(env).valid;
}
