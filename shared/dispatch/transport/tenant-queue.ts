/**
 * The request queue as one tenant's work sees it (docs/decisions/0031-a-worker-per-tenant.md): every
 * message it sends names the tenant, so a reconcile order or a deferred step comes back to the same
 * tenant's worker, and with sessions lands in the tenant's session. Requests name their tenant
 * already; what names none is stamped here, never by each sender.
 */
import type { QueueMessage, RequestQueue } from './queue';

function stamped(message: QueueMessage, tenantId: string): QueueMessage {
  return 'tenantId' in message.body && message.body.tenantId !== undefined
    ? message
    : { ...message, body: { ...message.body, tenantId } };
}

export function tenantQueue(queue: RequestQueue, tenantId: string): RequestQueue {
  return {
    send: (message) => queue.send(stamped(message, tenantId)),
    schedule: (message, at) => queue.schedule(stamped(message, tenantId), at),
    cancelScheduled: (ref) => queue.cancelScheduled(ref),
    bringForward: (messageId, at) => queue.bringForward(messageId, at),
    deadLetter: (record) => queue.deadLetter(record),
    // The runtime closes the one queue every tenant shares.
    close: async () => undefined,
  };
}
