/**
 * A tenant as a person reads it where one deployment serves several (notifications, the approval page,
 * the approvals list): an MSSP's SOC reading "isolated WS-0042" must see which customer. Without a
 * tenant list there is none, so a single-tenant deployment shows what it always showed.
 */
import type { TenantDirectory } from './lookup';

/** The shape `isolations --tenant -o json` gives its rows, so every JSON view names a tenant alike. */
export interface TenantLabel {
  /** The Entra tenant id: what a script matches on, and what stays when the name changes. */
  tenantId: string;
  /** The list's displayName; for a tenant the list no longer names, a phrase that says so. */
  displayName: string;
}

/** What a tenant the list no longer names is called (its requests and approvals may outlive it there). */
export const UNLISTED_TENANT_NAME = 'tenant no longer listed';

/** The label of `tenantId`; null without a tenant list, or for work that names no tenant. */
export function tenantLabel(
  directory: TenantDirectory,
  tenantId: string | null | undefined,
): TenantLabel | null {
  if (directory.mode === 'single' || !tenantId) return null;
  return {
    tenantId,
    displayName: directory.byId.get(tenantId)?.displayName ?? UNLISTED_TENANT_NAME,
  };
}

/** One line for a person: the name first, the id to tell two alike names apart. */
export function tenantText(label: TenantLabel): string {
  return `${label.displayName} (${label.tenantId})`;
}
