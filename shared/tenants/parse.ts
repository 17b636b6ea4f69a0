/**
 * Reads the tenant list (MDE_TENANTS): a JSON array of tenants. Every bad entry is reported at once,
 * each problem naming the entry and field (`[2].apiUrl: ...`), so an operator fixes the list in one
 * round. The list decides where bearer tokens go, so an API URL is only ever a documented host of the
 * tenant's own cloud (or the local simulator), never whatever the list says.
 */
import { errorMessage } from '../kernel/errors';
import { GUID } from '../kernel/ids';
import { parseRateLimits } from '../kernel/rate-windows';
import { isRecord, type JsonRecord } from '../kernel/records';
import { apiHostsOf, CLOUD_ENDPOINTS, judgeApiUrl, MDE_CLOUDS, type MdeCloud } from '../mde/clouds';
import type { Tenant } from './tenant';

/** Far more than a managed security provider serves from one deployment (docs/decisions/0029-many-tenants.md). */
export const MAX_TENANTS = 200;
/** Characters of the whole setting: 200 tenants with their overrides fit many times over. */
export const MAX_TENANT_LIST_CHARS = 512 * 1024;
export const MAX_WORKSPACES_PER_TENANT = 50;
export const MAX_DISPLAY_NAME = 100;
/**
 * Characters of one tenant's policy override, as JSON: what differs from the deployment's policy fits
 * many times over, and each override is merged and validated at start (tenants/policy.ts).
 */
export const MAX_TENANT_POLICY_CHARS = 64 * 1024;

const FIELDS = [
  'tenantId',
  'displayName',
  'cloud',
  'apiUrl',
  'workspaceIds',
  'policy',
  'rateLimits',
] as const;

export interface TenantListReading {
  tenants: Tenant[];
  /** Each names where: `[index].field: what is wrong and the fix`. */
  problems: string[];
}

const canonical = (value: unknown): string | null =>
  typeof value === 'string' && GUID.test(value.trim()) ? value.trim().toLowerCase() : null;

/** Why `raw` may not receive `cloud`'s token, or null when it may (judgeApiUrl's one rule). */
function apiUrlProblem(cloud: MdeCloud, raw: unknown): string | null {
  const url = typeof raw === 'string' && URL.canParse(raw) ? new URL(raw) : null;
  if (!url || (url.protocol !== 'https:' && url.protocol !== 'http:'))
    return 'is not an absolute http(s) URL';
  // Never echoed: it would repeat a password in every log line naming the list.
  if (url.username || url.password) return 'carries a user name or password: remove it';
  if (url.pathname.replace(/\/+$/, '').replace(/^\/api$/, '') !== '' || url.search || url.hash)
    return `must be a host alone (https://${url.hostname}), without a path or query`;
  const verdict = judgeApiUrl(cloud, url);
  switch (verdict.kind) {
    case 'ok':
      return null;
    case 'not-https':
      return `would send the bearer token over plain http: use https://${url.hostname}`;
    case 'other-cloud':
      return `host ${url.hostname} belongs to cloud "${verdict.owner}", not "${cloud}": fix the entry's cloud or its host`;
    case 'unknown-host':
      return `host ${url.hostname} is no documented API host of "${cloud}" (${apiHostsOf(cloud).join(', ')}); leave apiUrl out for ${CLOUD_ENDPOINTS[cloud].apiBaseUrl}`;
  }
}

function readEntry(entry: JsonRecord, at: string, problems: string[]): Tenant | null {
  const before = problems.length;
  const problem = (field: string, message: string) => problems.push(`${at}.${field}: ${message}`);
  for (const key of Object.keys(entry))
    if (!(FIELDS as readonly string[]).includes(key))
      problem(key.slice(0, 40), `is no tenant field (accepted: ${FIELDS.join(', ')})`);
  const tenantId = canonical(entry.tenantId);
  if (!tenantId) problem('tenantId', 'is not a GUID (the customer tenant id, as Entra shows it)');
  const displayName = typeof entry.displayName === 'string' ? entry.displayName.trim() : '';
  // A name is printed in the register, the CLI and logs: one printable line.
  if (!displayName || displayName.length > MAX_DISPLAY_NAME || /\p{Cc}/u.test(displayName))
    problem('displayName', `is not one line of 1 to ${MAX_DISPLAY_NAME} characters`);
  const cloudText = entry.cloud === undefined ? 'commercial' : entry.cloud;
  const cloud = MDE_CLOUDS.find((c) => c === cloudText);
  if (!cloud) problem('cloud', `is not one of ${MDE_CLOUDS.join(', ')}`);
  const endpoints = CLOUD_ENDPOINTS[cloud ?? 'commercial'];
  let apiBaseUrl = endpoints.apiBaseUrl;
  if (entry.apiUrl !== undefined && cloud) {
    const urlProblem = apiUrlProblem(cloud, entry.apiUrl);
    if (urlProblem) problem('apiUrl', urlProblem);
    else apiBaseUrl = new URL(entry.apiUrl as string).origin;
  }
  const workspaces = entry.workspaceIds ?? [];
  const workspaceIds = Array.isArray(workspaces) ? workspaces.map(canonical) : [];
  if (
    !Array.isArray(workspaces) ||
    workspaces.length > MAX_WORKSPACES_PER_TENANT ||
    workspaceIds.some((id) => id === null)
  )
    problem('workspaceIds', `is not a list of at most ${MAX_WORKSPACES_PER_TENANT} workspace ids (GUIDs)`);
  const policy = entry.policy ?? null;
  if (policy !== null && !isRecord(policy))
    problem('policy', 'is not a JSON object (the parts of the deployment policy this tenant changes)');
  else if (policy !== null && JSON.stringify(policy).length > MAX_TENANT_POLICY_CHARS)
    problem(
      'policy',
      `is longer than ${MAX_TENANT_POLICY_CHARS} characters as JSON: write only what differs from the deployment's policy`,
    );
  let rateLimits = null;
  if (entry.rateLimits !== undefined)
    try {
      rateLimits = parseRateLimits(String(entry.rateLimits));
    } catch (error) {
      problem('rateLimits', `${errorMessage(error)}; write it as MDE_RATE_LIMITS is written`);
    }
  if (problems.length > before || !tenantId || !cloud) return null;
  return {
    tenantId,
    displayName,
    cloud,
    apiBaseUrl,
    tokenScope: endpoints.tokenScope,
    authorityHost: endpoints.authorityHost,
    workspaceIds: workspaceIds as string[],
    policyOverride: policy as JsonRecord | null,
    rateLimits,
  };
}

/** A tenant id or workspace id named twice would send one tenant's alerts to another: refused. */
function duplicateProblems(tenants: Tenant[]): string[] {
  const problems: string[] = [];
  const seen = new Map<string, string>();
  for (const tenant of tenants)
    for (const [kind, id] of [
      ['tenant', tenant.tenantId],
      ...tenant.workspaceIds.map((w) => ['workspace', w]),
    ]) {
      const owner = seen.get(`${kind}:${id}`);
      if (owner !== undefined)
        problems.push(
          `${kind} ${id} is listed for "${owner}" and "${tenant.displayName}": keep it in one entry`,
        );
      seen.set(`${kind}:${id}`, tenant.displayName);
    }
  return problems;
}

export function parseTenantList(text: string): TenantListReading {
  if (text.length > MAX_TENANT_LIST_CHARS)
    return { tenants: [], problems: [`is longer than ${MAX_TENANT_LIST_CHARS} characters`] };
  let list: unknown;
  try {
    list = JSON.parse(text);
  } catch (error) {
    return { tenants: [], problems: [`is not JSON (${errorMessage(error)})`] };
  }
  if (!Array.isArray(list) || list.length === 0)
    return {
      tenants: [],
      problems: ['is not a non-empty JSON array of tenants; leave it unset for one tenant'],
    };
  if (list.length > MAX_TENANTS)
    return { tenants: [], problems: [`lists ${list.length} tenants, more than ${MAX_TENANTS}`] };
  const problems: string[] = [];
  const tenants = list.flatMap((entry, index) => {
    if (isRecord(entry)) return readEntry(entry, `[${index}]`, problems) ?? [];
    problems.push(`[${index}]: is not a JSON object`);
    return [];
  });
  problems.push(...duplicateProblems(tenants));
  return { tenants, problems };
}
