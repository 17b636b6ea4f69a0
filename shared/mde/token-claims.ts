/** The claims of an access token this process obtained (never a caller's): what it says about who we are. */
import { GUID } from '../kernel/ids';

/** The claims of a JWT access token; null when it is not one (never printed whole). */
export function claimsOf(token: string): Record<string, unknown> | null {
  const payload = token.split('.')[1];
  if (!payload) return null;
  try {
    const claims: unknown = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
    return typeof claims === 'object' && claims !== null && !Array.isArray(claims)
      ? (claims as Record<string, unknown>)
      : null;
  } catch {
    return null;
  }
}

/**
 * The client id an app token names (`appid` in v1 tokens, `azp` in v2), which MDE records as the
 * `requestor` of the actions it posts (docs/mde-api.md §7.1). Null for a person's token (`scp`: MDE
 * records the person, and a person's portal actions are not this app's) or anything else.
 */
export function appClientIdOf(claims: Record<string, unknown>): string | null {
  if (claims.scp !== undefined) return null;
  const id = claims.appid ?? claims.azp;
  return typeof id === 'string' && GUID.test(id) ? id.toLowerCase() : null;
}
