/**
 * The session of a message: its request's tenant, so each tenant's requests have one consumer at a
 * time on a session-enabled Service Bus queue while other worker instances serve other tenants, and
 * a lane of their own in the in-process queue (docs/decisions/0029-many-tenants.md). Apart from the
 * Service Bus adapter, so inline mode does not load the SDK to read it.
 */
import type { QueueMessage } from './queue';

/** What names no tenant (a single-tenant deployment's requests, a reconcile order) shares one session. */
export const DEPLOYMENT_SESSION = 'deployment';

export function sessionOf(message: QueueMessage): string {
  const { body } = message;
  return ('tenantId' in body && body.tenantId) || DEPLOYMENT_SESSION;
}
