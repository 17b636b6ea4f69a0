/** Who this app is to MDE, read from its own token: an app token's client id, never a person's. */
import { appClientIdOf, claimsOf } from '../../shared/mde/token-claims';

const APP = '5E0B6C2A-1C1D-4C8E-9A57-2F1F5C9D0E11';
const jwt = (claims: object) =>
  `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.sig`;

describe('appClientIdOf', () => {
  it("reads an app token's appid (v1) or azp (v2), in lower case", () => {
    expect(appClientIdOf(claimsOf(jwt({ appid: APP, roles: ['Machine.Isolate'] })) ?? {})).toBe(
      APP.toLowerCase(),
    );
    expect(appClientIdOf(claimsOf(jwt({ azp: APP, roles: [] })) ?? {})).toBe(APP.toLowerCase());
  });

  it("names nobody for a person's token or a claim that is not a client id", () => {
    expect(appClientIdOf({ appid: APP, scp: 'Machine.Isolate', upn: 'jo@contoso.com' })).toBeNull();
    expect(appClientIdOf({ appid: 'mde-isolator' })).toBeNull();
    expect(appClientIdOf({})).toBeNull();
  });

  it('reads no claims from what is not a JWT', () => {
    expect(claimsOf('opaque-token')).toBeNull();
    expect(claimsOf('a.bm90IGpzb24.c')).toBeNull();
    expect(claimsOf(jwt([1, 2]))).toBeNull();
  });
});
