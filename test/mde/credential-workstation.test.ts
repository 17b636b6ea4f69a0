/**
 * An app registration named in the environment of a workstation (AZURE_TENANT_ID, AZURE_CLIENT_ID with
 * AZURE_CLIENT_SECRET, and no identity endpoint): the CLI signs in as it, at the configured cloud's
 * authority (docs/mde-api.md §14). The real @azure/identity talks to a loopback authority. Where the
 * platform gives an identity endpoint the same settings are ignored: credential-choice.test.ts (MSAL
 * picks its managed identity source once per jest file).
 */
import { preflight } from '../../cli/preflight';
import { loadConfig } from '../../shared/config';
import { DEFAULT_TIMING } from '../../shared/dispatch/timing';
import { createMdeClient } from '../../shared/mde/client';
import { createCredential, signInOf } from '../../shared/mde/credential';
import { startSimulator } from '../../simulator/index';
import { IDENTITY_VARIABLES, USER_ASSIGNED_IDENTITY } from '../support/identity';
import {
  AUTHORITY_TENANT,
  AUTHORITY_TOKEN,
  type LoopbackAuthority,
  REFUSED_SECRET,
  startAuthority,
} from '../support/loopback-authority';
import { trustLoopback } from '../support/trust-loopback';

const APP_REGISTRATION = {
  AZURE_TENANT_ID: AUTHORITY_TENANT,
  AZURE_CLIENT_ID: USER_ASSIGNED_IDENTITY,
  AZURE_CLIENT_SECRET: 'Zq8~app-registration-secret',
};

const touched = [...new Set([...IDENTITY_VARIABLES, ...Object.keys(APP_REGISTRATION)])];
const saved = new Map(touched.map((name) => [name, process.env[name]]));
let authority: LoopbackAuthority;

beforeAll(async () => {
  authority = await startAuthority();
  trustLoopback(authority.certificate);
  for (const name of IDENTITY_VARIABLES) delete process.env[name];
  Object.assign(process.env, APP_REGISTRATION);
});
afterAll(async () => {
  for (const [name, value] of saved) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
  jest.restoreAllMocks();
  await authority.close();
});
beforeEach(() => {
  authority.clientIds.length = 0;
});

const config = () => ({
  ...loadConfig({ AZURE_CLIENT_ID: APP_REGISTRATION.AZURE_CLIENT_ID }),
  authorityHost: authority.host,
});

describe('an app registration in the environment of a workstation (no identity endpoint)', () => {
  it('signs in: the authority of the configured cloud receives its client id', async () => {
    expect(signInOf(config())).toBe('app-registration');
    const token = await createCredential(config()).getToken(config().tokenScope);
    expect(token?.token).toBe(AUTHORITY_TOKEN);
    expect(authority.clientIds).toEqual([USER_ASSIGNED_IDENTITY]);
  });

  it('signs in again for the fresh token fetched after MDE refused one', async () => {
    const token = await createCredential(config()).getFreshToken(config().tokenScope);
    expect(token?.token).toBe(AUTHORITY_TOKEN);
    expect(authority.clientIds).toEqual([USER_ASSIGNED_IDENTITY]);
  });

  it('is named by a certificate as by a secret; AZURE_CLIENT_ID alone names a user-assigned identity', () => {
    const clientId = { AZURE_CLIENT_ID: USER_ASSIGNED_IDENTITY };
    expect(signInOf(config(), { ...clientId, AZURE_CLIENT_CERTIFICATE_PATH: '/app.pem' })).toBe(
      'app-registration',
    );
    expect(signInOf(config(), clientId)).toBe('user-assigned-managed-identity');
    expect(signInOf({ managedIdentityClientId: null }, {})).toBe('developer-login');
  });

  it('refused, makes the pre-flight name the app registration and what to check', async () => {
    const sim = await startSimulator();
    process.env.AZURE_CLIENT_SECRET = REFUSED_SECRET;
    try {
      const settings = {
        ...loadConfig({ MDE_API_URL: sim.baseUrl, AZURE_CLIENT_ID: USER_ASSIGNED_IDENTITY }),
        authorityHost: authority.host,
      };
      const failure = await preflight(createMdeClient(settings), process.env, settings, {
        timing: DEFAULT_TIMING,
      });
      expect(failure).toEqual({
        kind: 'no-sign-in',
        message: expect.stringMatching(
          new RegExp(
            `^no token for the app registration AZURE_CLIENT_ID=${USER_ASSIGNED_IDENTITY}: check AZURE_TENANT_ID and the secret`,
          ),
        ),
      });
      expect(sim.calls().filter((call) => call.api !== 'token')).toEqual([]);
    } finally {
      process.env.AZURE_CLIENT_SECRET = APP_REGISTRATION.AZURE_CLIENT_SECRET;
      await sim.close();
    }
  });
});
