/**
 * Which configured tenant an alert belongs to, from what the alert itself names (docs/decisions/0029-many-tenants.md).
 * In a multi-tenant deployment an alert that names no configured tenant is refused: acting on it in
 * some other tenant could isolate a stranger's device of the same name. Without a tenant list the
 * deployment has one tenant, its identity's, and every alert is decided there as before.
 */
import type { AlertOrigin } from '../alerts/model';
import type { PayloadProblemCode } from '../alerts/parse';
import { oneLine } from '../kernel/text';
import { MAX_DISPLAY_NAME } from './parse';
import type { Tenant } from './tenant';

export type TenantDirectory =
  | { mode: 'single' }
  | {
      mode: 'multi';
      byId: ReadonlyMap<string, Tenant>;
      byWorkspace: ReadonlyMap<string, Tenant>;
    };

export const SINGLE_TENANT: TenantDirectory = { mode: 'single' };

export function tenantDirectory(tenants: readonly Tenant[] | null): TenantDirectory {
  if (tenants === null) return SINGLE_TENANT;
  return {
    mode: 'multi',
    byId: new Map(tenants.map((t) => [t.tenantId, t])),
    byWorkspace: new Map(tenants.flatMap((t) => t.workspaceIds.map((w) => [w, t]))),
  };
}

export type TenantRefusalCode = Extract<PayloadProblemCode, `tenant-${string}`>;

export type TenantResolution =
  /** No tenant list: the deployment's one tenant, as before tenants existed. */
  | { kind: 'deployment' }
  | { kind: 'tenant'; tenant: Tenant }
  | { kind: 'refused'; code: TenantRefusalCode; message: string };

/**
 * The tenant of an alert: the Entra tenant it names, else the tenant of the Sentinel workspace holding
 * it (a Sentinel payload names only its workspace). Either must be in the list itself.
 */
export function resolveTenant(directory: TenantDirectory, origin: AlertOrigin | undefined): TenantResolution {
  if (directory.mode === 'single') return { kind: 'deployment' };
  if (origin?.tenantId === undefined && origin?.workspaceId === undefined)
    return {
      kind: 'refused',
      code: 'tenant-not-named',
      message:
        'the alert names no tenant (tenantId) and no Sentinel workspace, and this deployment serves several tenants: add the tenant to the alert',
    };
  const tenant =
    origin.tenantId !== undefined
      ? directory.byId.get(origin.tenantId)
      : directory.byWorkspace.get(origin.workspaceId as string);
  if (tenant) return { kind: 'tenant', tenant };
  const named =
    origin.tenantId !== undefined ? `tenant ${origin.tenantId}` : `workspace ${origin.workspaceId}`;
  return {
    kind: 'refused',
    code: 'tenant-not-configured',
    message: `${named} is not in this deployment's tenant list (MDE_TENANTS): add it there, or send the alert to the deployment that serves it`,
  };
}

/** Why a tenant a person named cannot be acted in: the alert's refusals, and a name this deployment cannot place. */
export type NamedTenantRefusalCode = TenantRefusalCode | 'single-tenant' | 'tenant-name-ambiguous';

export type NamedTenantResolution =
  | Exclude<TenantResolution, { kind: 'refused' }>
  | { kind: 'refused'; code: NamedTenantRefusalCode; message: string };

/**
 * The tenant a person names for a manual order or a CLI verb (`named`, as `how` tells them to give
 * it): its tenant id, or its displayName exactly (case and spaces included), never a near name. A name
 * two entries share names neither. Without a list a named tenant is refused, never ignored: the order
 * would act in the identity's own tenant, whichever the person meant.
 */
export function resolveNamedTenant(
  directory: TenantDirectory,
  named: string | null,
  how: string,
): NamedTenantResolution {
  if (directory.mode === 'single')
    return named === null
      ? { kind: 'deployment' }
      : {
          kind: 'refused',
          code: 'single-tenant',
          message: `this deployment serves one tenant, its identity's (MDE_TENANTS is not set): leave ${how} out`,
        };
  if (named === null)
    return {
      kind: 'refused',
      code: 'tenant-not-named',
      message: `this deployment serves ${directory.byId.size} tenants (MDE_TENANTS): give ${how} (a tenant id or a listed displayName) to say which one`,
    };
  const byId = directory.byId.get(named.trim().toLowerCase());
  if (byId) return { kind: 'tenant', tenant: byId };
  const byName = [...directory.byId.values()].filter((t) => t.displayName === named);
  if (byName.length === 1) return { kind: 'tenant', tenant: byName[0] };
  const shown = oneLine(named, MAX_DISPLAY_NAME);
  if (byName.length > 1)
    return {
      kind: 'refused',
      code: 'tenant-name-ambiguous',
      message: `"${shown}" is the displayName of ${byName.length} listed tenants (${byName.map((t) => t.tenantId).join(', ')}): name the tenant by its id`,
    };
  return {
    kind: 'refused',
    code: 'tenant-not-configured',
    message: `tenant "${shown}" is neither the id nor the exact displayName of a tenant in this deployment's list (MDE_TENANTS): check the spelling, or use the deployment that serves it`,
  };
}
