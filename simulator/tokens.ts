/**
 * The managed identity side: an App Service identity endpoint (the protocol @azure/identity speaks
 * when IDENTITY_ENDPOINT and IDENTITY_HEADER are set: GET with `X-IDENTITY-HEADER`, query
 * `api-version=2019-08-01`, `resource`, and `client_id` for a user-assigned identity), issuing
 * HMAC-signed JWTs shaped like Entra app tokens (`aud`, `roles`, `appid`, `tid`, `exp`).
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export const IDENTITY_API_VERSION = '2019-08-01';
export const SYSTEM_IDENTITY = 'system';

export interface TokenClaims {
  aud: string;
  iss: string;
  appid: string;
  oid: string;
  tid: string;
  roles: string[];
  ver: '1.0';
  iat: number;
  nbf: number;
  exp: number;
}

const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

/**
 * One signing key per process, shared by every simulator in it, like one Entra tenant. MSAL keeps
 * its managed identity token cache (and endpoint) in static state, so a second simulator started
 * in the same test file receives the token the first one issued; it must accept it.
 */
const PROCESS_SIGNING_KEY = randomBytes(32);

/** The tenant a simulator plays unless told another. */
export const DEFAULT_SIMULATED_TENANT = '11111111-2222-4333-8444-555555555555';

/**
 * A token signed with the process's key: what every simulator in the process accepts from its own
 * identity endpoint, and from a loopback Entra authority standing for a customer tenant's.
 */
export function signToken(claims: TokenClaims): string {
  const body = `${encode({ alg: 'HS256', typ: 'JWT' })}.${encode(claims)}`;
  return `${body}.${createHmac('sha256', PROCESS_SIGNING_KEY).update(body).digest('base64url')}`;
}

export class TokenAuthority {
  /** Tokens issued before this instant (ms) are refused, as after a revocation. */
  private revokedBeforeMs = 0;
  private refusing = false;
  private lastSigned: { token: string; claims: TokenClaims } | null = null;

  /** `tenantId`: the tenant whose tokens it issues and accepts; a token of any other is refused. */
  constructor(readonly tenantId: string = DEFAULT_SIMULATED_TENANT) {}

  sign(claims: TokenClaims): string {
    return signToken(claims);
  }

  /** The claims of a valid, unexpired, unrevoked token of this tenant; null for anything else. */
  verify(token: string, nowMs: number = Date.now()): TokenClaims | null {
    const claims = this.signedClaims(token);
    if (!claims) return null;
    const now = nowMs / 1000;
    if (claims.exp <= now || claims.nbf > now + 300) return null;
    if (this.refusing || claims.iat * 1000 < this.revokedBeforeMs) return null;
    // MDE takes a token of its own tenant only: another tenant's, even of the same app, is a 401.
    if (claims.tid !== this.tenantId) return null;
    return claims;
  }

  /**
   * The claims of a token this process signed; null for anything else. The last token that checked
   * out is remembered with its claims: a client sends the same token with every call, and checking its
   * signature and decoding it again each time made the simulator a visible share of a benchmark's CPU.
   * Whether it is still valid (expiry, revocation, tenant) is judged on every call.
   */
  private signedClaims(token: string): TokenClaims | null {
    if (this.lastSigned?.token === token) return this.lastSigned.claims;
    const parts = token.split('.');
    if (parts.length !== 3) return null;
    const expected = createHmac('sha256', PROCESS_SIGNING_KEY).update(`${parts[0]}.${parts[1]}`).digest();
    const given = Buffer.from(parts[2], 'base64url');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return null;
    let claims: TokenClaims;
    try {
      claims = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8')) as TokenClaims;
    } catch {
      return null;
    }
    this.lastSigned = { token, claims };
    return claims;
  }

  refuseAll(refuse: boolean): void {
    this.refusing = refuse;
  }

  revokeAll(nowMs: number = Date.now()): void {
    // iat has one-second precision: refuse everything issued up to and including this second, and
    // every token issued since the last revocation (those carry a later iat, see notBeforeSeconds).
    this.revokedBeforeMs = Math.max((Math.floor(nowMs / 1000) + 1) * 1000, this.revokedBeforeMs + 1000);
  }

  notBeforeSeconds(nowMs: number = Date.now()): number {
    return Math.max(Math.floor(nowMs / 1000), Math.ceil(this.revokedBeforeMs / 1000));
  }
}

export interface Identity {
  /** The application (client) id that MDE records as `requestor`. */
  clientId: string;
  roles: string[];
}

export interface IdentityEndpointResult {
  status: number;
  body: unknown;
}

/**
 * Answers one identity endpoint request. `identities` maps a user-assigned client id (lower case),
 * or SYSTEM_IDENTITY, to the identity and its app roles on WindowsDefenderATP.
 */
export function issueToken(
  authority: TokenAuthority,
  identities: ReadonlyMap<string, Identity>,
  expectedHeader: string,
  request: { header: string | undefined; query: URLSearchParams },
  lifetimeSeconds: number,
): IdentityEndpointResult {
  const fail = (status: number, code: string, message: string) => ({
    status,
    body: { error: { code, message } },
  });
  const header = Buffer.from(request.header ?? '');
  const wanted = Buffer.from(expectedHeader);
  if (header.length !== wanted.length || !timingSafeEqual(header, wanted))
    return fail(401, 'Unauthorized', 'X-IDENTITY-HEADER is missing or wrong');
  if (request.query.get('api-version') !== IDENTITY_API_VERSION)
    return fail(400, 'BadRequest', `api-version must be ${IDENTITY_API_VERSION}`);
  const resource = request.query.get('resource');
  if (!resource) return fail(400, 'BadRequest', 'resource is required');
  // msal-node names a user-assigned identity by client_id, mi_res_id or object_id (2019-08-01). The
  // simulator knows identities by client id only; the other two must not fall back to the system one.
  const otherSelector = ['mi_res_id', 'object_id', 'principal_id'].find((name) => request.query.has(name));
  if (otherSelector)
    return fail(
      400,
      'BadRequest',
      `No managed identity found for the given ${otherSelector} (use client_id)`,
    );
  const clientId = request.query.get('client_id');
  const identity = identities.get(clientId ? clientId.toLowerCase() : SYSTEM_IDENTITY);
  if (!identity)
    return fail(400, 'BadRequest', `No managed identity with client id ${clientId} is assigned to this app`);

  const nowMs = Date.now();
  const iat = authority.notBeforeSeconds(nowMs);
  const exp = iat + lifetimeSeconds;
  const token = authority.sign({
    aud: resource,
    iss: `https://sts.windows.net/${authority.tenantId}/`,
    appid: identity.clientId,
    oid: identity.clientId,
    tid: authority.tenantId,
    roles: [...identity.roles],
    ver: '1.0',
    iat,
    nbf: iat,
    exp,
  });
  return {
    status: 200,
    body: {
      access_token: token,
      expires_on: String(exp),
      resource,
      token_type: 'Bearer',
      client_id: identity.clientId,
    },
  };
}
