/**
 * The request queue as infra/modules/servicebus.bicep deploys it, and the Service Bus limits every
 * message must keep: one place, from which the in-process stand-in and the tests' AMQP peer
 * (test/support/service-bus-peer/) take their behaviour and against which test/infra checks the Bicep
 * (Bicep cannot import it).
 */

/** The isolation-request queue's settings in the Bicep. */
export const REQUEST_QUEUE_SETTINGS = {
  /** `duplicateDetectionHistoryTimeWindow` (the `duplicateDetectionWindow` parameter, PT5M). */
  duplicateWindowMs: 5 * 60_000,
  /** `maxDeliveryCount`: deliveries of a message the worker threw on before Service Bus dead-letters it. */
  maxDeliveryCount: 5,
  /** `lockDuration` (the `lockDuration` variable, PT2M): a message whose lock runs out comes back. */
  lockDurationMs: 2 * 60_000,
} as const;

/**
 * Messages the worker handles at once: the Functions host's `maxConcurrentCalls` in host.json (test/infra
 * checks it), and inline mode's too, so the CLI and a local run gather requests as the deployed worker
 * does. The MDE quota, not this, bounds the calls: each message takes its budget before it calls.
 */
export const MESSAGES_AT_ONCE = 16;

/**
 * Service Bus Standard: 256 KB per message, headers and properties included, of which at most 64 KB
 * of properties; a message id of at most 128 characters
 * (https://learn.microsoft.com/azure/service-bus-messaging/service-bus-quotas).
 */
export const SERVICE_BUS_STANDARD_LIMITS = {
  messageBytes: 256 * 1024,
  propertiesBytes: 64 * 1024,
  messageIdChars: 128,
} as const;
