/** The tenant an alert names, read the same way by every family (docs/alert-schemas.md §11). */
import { GUID } from '../kernel/ids';
import { text } from './fields';
import type { AlertOrigin, NormalizedAlert } from './model';

/** A GUID as given, in lower case; anything else is no tenant at all. */
function guidOf(value: unknown): string | undefined {
  const id = text(value);
  return id && GUID.test(id) ? id.toLowerCase() : undefined;
}

/** `{ origin }` to spread into an alert, or nothing when neither value is a GUID. */
export function originOf(tenantId: unknown, workspaceId: unknown): Pick<NormalizedAlert, 'origin'> {
  const origin: AlertOrigin = {};
  const tenant = guidOf(tenantId);
  const workspace = guidOf(workspaceId);
  if (tenant) origin.tenantId = tenant;
  if (workspace) origin.workspaceId = workspace;
  return tenant || workspace ? { origin } : {};
}
