/**
 * The tenant a manual order acts in, and whether its caller may act there
 * (docs/decisions/0033-operator-authorization-per-tenant.md). It is settled before anything is read
 * or posted: a device name means nothing across customers, and an operator of one customer must not
 * reach another's devices by naming them.
 */
import { type NamedTenantResolution, resolveNamedTenant, type TenantDirectory } from '../tenants/lookup';
import type { ManualAnswer } from './answer';
import { ALL_TENANTS_ROLE, type Caller, mayActIn, tenantRole } from './caller';

/** Where the caller names the tenant: the body field the refusals point at. */
const TENANT_PATH = '$.tenant';

/** The listed tenant's id for the order (none in a single-tenant deployment), or the answer refusing it. */
export type OrderTenant = { tenantId?: string } | { refused: ManualAnswer };

function refusedAnswer(refused: Extract<NamedTenantResolution, { kind: 'refused' }>): ManualAnswer {
  return {
    status: 422,
    body: { error: { code: refused.code, message: refused.message, path: TENANT_PATH } },
  };
}

export function orderTenant(named: string | null, directory: TenantDirectory, caller: Caller): OrderTenant {
  const resolution = resolveNamedTenant(directory, named, '"tenant" in the body');
  if (resolution.kind === 'refused') return { refused: refusedAnswer(resolution) };
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
            path: TENANT_PATH,
          },
        },
      },
    };
  return { tenantId };
}
