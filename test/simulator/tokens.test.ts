/**
 * The simulator's token check: a token it signed is judged on every call (expiry, revocation, tenant),
 * however often it was accepted before.
 */
import { DEFAULT_SIMULATED_TENANT, TokenAuthority, type TokenClaims } from '../../simulator/tokens';

const NOW_MS = Date.parse('2026-01-01T00:00:00Z');

function claimsAt(nowMs: number, lifetimeSeconds = 3_600): TokenClaims {
  const iat = Math.floor(nowMs / 1000);
  return {
    aud: 'https://api.securitycenter.microsoft.com',
    iss: `https://sts.windows.net/${DEFAULT_SIMULATED_TENANT}/`,
    appid: 'app',
    oid: 'app',
    tid: DEFAULT_SIMULATED_TENANT,
    roles: ['Machine.Isolate'],
    ver: '1.0',
    iat,
    nbf: iat,
    exp: iat + lifetimeSeconds,
  };
}

describe('TokenAuthority.verify', () => {
  it('refuses a token it accepted once it expired, once tokens were revoked, or for another tenant', () => {
    const authority = new TokenAuthority();
    const token = authority.sign(claimsAt(NOW_MS, 60));
    expect(authority.verify(token, NOW_MS)).toMatchObject({ appid: 'app' });
    expect(authority.verify(token, NOW_MS + 59_999)).toMatchObject({ appid: 'app' });
    expect(authority.verify(token, NOW_MS + 60_000)).toBeNull();
    expect(new TokenAuthority('99999999-2222-4333-8444-555555555555').verify(token, NOW_MS)).toBeNull();
    authority.revokeAll(NOW_MS);
    expect(authority.verify(token, NOW_MS)).toBeNull();
  });

  it('refuses a copy of an accepted token with another signature or other claims', () => {
    const authority = new TokenAuthority();
    const token = authority.sign(claimsAt(NOW_MS));
    expect(authority.verify(token, NOW_MS)).not.toBeNull();
    const [header, body, signature] = token.split('.');
    const otherSignature = `${signature.startsWith('A') ? 'B' : 'A'}${signature.slice(1)}`;
    expect(authority.verify(`${header}.${body}.${otherSignature}`, NOW_MS)).toBeNull();
    const otherBody = Buffer.from(
      JSON.stringify({ ...claimsAt(NOW_MS), roles: ['Machine.ReadWrite.All'] }),
    ).toString('base64url');
    expect(authority.verify(`${header}.${otherBody}.${signature}`, NOW_MS)).toBeNull();
    expect(authority.verify(token, NOW_MS)).not.toBeNull();
  });
});
