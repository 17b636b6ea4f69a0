/**
 * Who is calling a manual endpoint. App Service authentication (Easy Auth) puts the signed-in
 * principal in `x-ms-client-principal`; without Easy Auth any caller can send that header, so it is
 * read only when the deployment says Easy Auth is on (MANUAL_EASY_AUTH). Easy Auth cannot require an
 * app role per path, so the role is checked here.
 * https://learn.microsoft.com/azure/app-service/configure-authentication-user-identities
 */
import { GUID } from '../kernel/ids';
import { isRecord } from '../kernel/records';
import { oneLine } from '../kernel/text';

export const OPERATOR_ROLE = 'Isolation.Operator';
/** Who may approve or deny an isolation held for approval (shared/approvals/). */
export const APPROVER_ROLE = 'Isolation.Approver';

export type CallerRole = typeof OPERATOR_ROLE | typeof APPROVER_ROLE;

/**
 * In a multi-tenant deployment a principal acts in a tenant only with its role besides the operator's
 * or approver's (docs/decisions/0033-operator-authorization-per-tenant.md): `Isolation.Tenant.<tenant
 * id>`, or `Isolation.Tenant.All` for a SOC lead of every customer.
 */
export const TENANT_ROLE_PREFIX = 'Isolation.Tenant.';
export const ALL_TENANTS_ROLE = `${TENANT_ROLE_PREFIX}All`;
export const tenantRole = (tenantId: string): string => `${TENANT_ROLE_PREFIX}${tenantId}`;

/** What a caller without the role is told. */
const ROLE_NEEDED: Record<CallerRole, string> = {
  [OPERATOR_ROLE]: `the manual endpoints need the ${OPERATOR_ROLE} app role`,
  [APPROVER_ROLE]: `approving or denying an isolation needs the ${APPROVER_ROLE} app role`,
};
export const PRINCIPAL_HEADER = 'x-ms-client-principal';
/** Without Easy Auth the function key is the only credential: that is all the record can say. */
export const FUNCTION_KEY_CALLER = 'function key';

const NAME_MAX = 120;
const OBJECT_ID_CLAIM = 'http://schemas.microsoft.com/identity/claims/objectidentifier';
/** Far above a real principal (a few KB even with many groups); the header is decoded only below it. */
const HEADER_MAX = 32 * 1024;

export interface Caller {
  /** What the MDE comment, the register and the outcome record name: bounded, one line. */
  label: string;
  name: string | null;
  objectId: string | null;
  /**
   * The listed tenants (ids, lower case) the caller may act in, from their tenant roles; `every` for the
   * function key without Easy Auth (a key proves no person) and for `Isolation.Tenant.All`.
   */
  tenants: 'every' | readonly string[];
}

/** Whether `caller` may act in `tenantId` (a listed tenant's canonical id). */
export function mayActIn(caller: Pick<Caller, 'tenants'>, tenantId: string): boolean {
  return caller.tenants === 'every' || caller.tenants.includes(tenantId);
}

/** The tenants the roles grant; a role whose suffix is not a GUID grants nothing. */
function tenantsOf(roles: string[]): Caller['tenants'] {
  if (roles.includes(ALL_TENANTS_ROLE)) return 'every';
  return roles.flatMap((role) => {
    const id = role.startsWith(TENANT_ROLE_PREFIX) ? role.slice(TENANT_ROLE_PREFIX.length) : '';
    return GUID.test(id) ? [id.toLowerCase()] : [];
  });
}

export type CallerCheck =
  | { ok: true; caller: Caller }
  | { ok: false; status: 401 | 403; code: string; message: string };

interface Claim {
  typ: string;
  val: string;
}

function claimsOf(principal: Record<string, unknown>): Claim[] {
  const claims = Array.isArray(principal.claims) ? principal.claims : [];
  return claims.filter(
    (c): c is Claim => isRecord(c) && typeof c.typ === 'string' && typeof c.val === 'string',
  );
}

function decodePrincipal(header: string): Record<string, unknown> | null {
  if (header.length > HEADER_MAX) return null;
  try {
    const value: unknown = JSON.parse(Buffer.from(header, 'base64').toString('utf8'));
    return isRecord(value) ? value : null;
  } catch {
    return null;
  }
}

/**
 * The caller of one request. With Easy Auth off the header is ignored (it proves nothing) and the
 * caller is the function key; with it on, a principal holding `role` is required.
 */
export function identifyCaller(
  headers: { get(name: string): string | null },
  easyAuth: boolean,
  role: CallerRole = OPERATOR_ROLE,
): CallerCheck {
  if (!easyAuth)
    return {
      ok: true,
      caller: { label: FUNCTION_KEY_CALLER, name: null, objectId: null, tenants: 'every' },
    };
  const header = headers.get(PRINCIPAL_HEADER);
  const principal = header ? decodePrincipal(header) : null;
  if (!principal)
    return {
      ok: false,
      status: 401,
      code: 'unauthenticated',
      message: 'sign in with Entra ID: this deployment records who isolates a device',
    };
  const claims = claimsOf(principal);
  const nameType = typeof principal.name_typ === 'string' ? principal.name_typ : 'name';
  const roleType = typeof principal.role_typ === 'string' ? principal.role_typ : 'roles';
  const first = (...types: string[]) => claims.find((c) => types.includes(c.typ))?.val ?? null;
  const name = first(nameType, 'name', 'preferred_username');
  const objectId = first(OBJECT_ID_CLAIM, 'oid');
  const roles = claims.filter((c) => c.typ === roleType || c.typ === 'roles').map((c) => c.val);
  if (!roles.includes(role)) return { ok: false, status: 403, code: 'forbidden', message: ROLE_NEEDED[role] };
  const who = [name, objectId && `oid ${objectId}`].filter(Boolean).join(', ') || 'signed-in caller';
  return {
    ok: true,
    caller: {
      label: oneLine(who, NAME_MAX),
      name: name && oneLine(name, NAME_MAX),
      objectId,
      tenants: tenantsOf(roles),
    },
  };
}
