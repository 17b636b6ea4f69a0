/**
 * One customer tenant of a multi-tenant deployment (MDE_TENANTS, docs/decisions/0029-many-tenants.md): where its MDE
 * API is, which cloud signs its tokens, and what it overrides of the deployment's settings.
 */

import type { RateWindow } from '../kernel/rate-windows';
import type { MdeCloud } from '../mde/clouds';

export interface Tenant {
  /** The Entra tenant id, lower case: the authority tokens are asked of, and the Service Bus session. */
  tenantId: string;
  displayName: string;
  cloud: MdeCloud;
  /** The API base URL, without `/api`: the cloud's, or a regional host of the same cloud. */
  apiBaseUrl: string;
  tokenScope: string;
  authorityHost: string;
  /** Sentinel workspaces (workspace ids, lower case) whose alerts belong to this tenant. */
  workspaceIds: string[];
  /** What the tenant's policy changes of the deployment's (merged when the worker is per tenant). */
  policyOverride: Record<string, unknown> | null;
  /** The tenant's own quota, when it differs from MDE_RATE_LIMITS. */
  rateLimits: RateWindow[] | null;
}
