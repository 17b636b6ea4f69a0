/**
 * The tenant a manual order acts in, and whether its caller may act there
 * (docs/decisions/0033-operator-authorization-per-tenant.md). It is settled before anything is read
 * or posted: a device name means nothing across customers, and an operator of one customer must not
 * reach another's devices by naming them.
 */
import { type NamedTenantResolution, resolveNamedTenant, type TenantDirectory } from '../tenants/lookup';
import type { ManualAnswer } from './answer';
import { ALL_TENANTS_ROLE, type Caller, mayActIn, tenantRole } from './caller';

/** Where the caller names the tenant: what the refusals point at, and how they say it. */
export interface TenantField {
  path: string;
  how: string;
}

/** An order's body field. */
export const BODY_TENANT: TenantField = { path: '$.tenant', how: '"tenant" in the body' };
/** A read's, a cancel's or an extension's query parameter: `?tenant=`. */
export const QUERY_TENANT: TenantField = { path: 'tenant', how: 'the tenant query parameter' };

/** Longer than any tenant id or display name: refused before it is looked up or echoed. */
const TENANT_NAME_MAX = 100;

/** The listed tenant's id for the order (none in a single-tenant deployment), or the answer refusing it. */
export type OrderTenant = { tenantId?: string } | { refused: ManualAnswer };

function refusedAnswer(
  refused: Extract<NamedTenantResolution, { kind: 'refused' }>,
  field: TenantField,
): ManualAnswer {
  return {
    status: 422,
    body: { error: { code: refused.code, message: refused.message, path: field.path } },
  };
}

export function orderTenant(
  named: string | null,
  directory: TenantDirectory,
  caller: Caller,
  field: TenantField = BODY_TENANT,
): OrderTenant {
  if (named !== null && named.length > TENANT_NAME_MAX)
    return {
      refused: {
        status: 400,
        body: {
          error: {
            code: 'invalid-tenant',
            message: `${field.how} is longer than ${TENANT_NAME_MAX} characters: name a listed tenant by its id or displayName`,
            path: field.path,
          },
        },
      },
    };
  const resolution = resolveNamedTenant(directory, named, field.how);
  if (resolution.kind === 'refused') return { refused: refusedAnswer(resolution, field) };
  if (resolution.kind === 'deployment') return {};
  const { tenantId, displayName } = resolution.tenant;
  if (!mayActIn(caller, tenantId))
    return {
      refused: {
        status: 403,
        body: {
          error: {
            code: 'tenant-forbidden',
            message: `acting in tenant "${displayName}" (${tenantId}) needs the app role ${tenantRole(tenantId)} or ${ALL_TENANTS_ROLE}: ask the app's owner to assign one to you`,
            path: field.path,
          },
        },
      },
    };
  return { tenantId };
}
