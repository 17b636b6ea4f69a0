/**
 * Where the platform gives the process a managed identity endpoint (App Service and Functions in Azure,
 * played here by the simulator on loopback), every token comes from that identity, whatever else the
 * environment holds: an app setting such as AZURE_CLIENT_SECRET or AZURE_TOKEN_CREDENTIALS must not
 * change who isolates devices (docs/mde-api.md §14).
 */
import { loadConfig } from '../../shared/config';
import { createCredential, signInOf } from '../../shared/mde/credential';
import { claimsOf } from '../../shared/mde/token-claims';
import { type RunningSimulator, SYSTEM_IDENTITY_CLIENT_ID } from '../../simulator/index';
import { USER_ASSIGNED_IDENTITY, USER_ASSIGNED_ROLES } from '../support/identity';
import { type LoopbackAuthority, startAuthority } from '../support/loopback-authority';
import { startSimulatorWithIdentity } from '../support/simulator';
import { trustLoopback } from '../support/trust-loopback';

/** Settings that, under DefaultAzureCredential, point it at an app registration's client secret. */
const STRAY_SETTINGS = {
  AZURE_TENANT_ID: '72f988bf-86f1-41af-91ab-2d7cd011db47',
  AZURE_CLIENT_SECRET: 'Zq8~stray-secret-value',
  AZURE_TOKEN_CREDENTIALS: 'EnvironmentCredential',
};

let sim: RunningSimulator;
let authority: LoopbackAuthority;
const saved = new Map(Object.keys(STRAY_SETTINGS).map((name) => [name, process.env[name]]));

beforeAll(async () => {
  sim = await startSimulatorWithIdentity({ userAssignedIdentities: USER_ASSIGNED_ROLES });
  authority = await startAuthority();
  trustLoopback(authority.certificate);
  Object.assign(process.env, STRAY_SETTINGS);
});
afterAll(async () => {
  for (const [name, value] of saved) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
  jest.restoreAllMocks();
  await authority.close();
  await sim.close();
});
beforeEach(() => sim.resetCalls());

const config = () => loadConfig({ MDE_API_URL: sim.baseUrl });
const tokenCalls = () => sim.calls().filter((call) => call.api === 'token');

describe('a client secret in the environment of an app with a managed identity', () => {
  it('is ignored: the token is the managed identity’s, from its endpoint', async () => {
    const token = await createCredential(config()).getToken(config().tokenScope);
    expect(claimsOf(token?.token ?? '')).toMatchObject({ appid: SYSTEM_IDENTITY_CLIENT_ID });
    expect(tokenCalls()).toHaveLength(1);
  });

  it('is ignored by the fresh token fetched after MDE refused one', async () => {
    const token = await createCredential(config()).getFreshToken(config().tokenScope);
    expect(claimsOf(token?.token ?? '')).toMatchObject({ appid: SYSTEM_IDENTITY_CLIENT_ID });
    expect(tokenCalls()).toHaveLength(1);
  });
});

describe('a whole app registration (AZURE_CLIENT_ID too) in the environment of an app with a managed identity', () => {
  const withClientId = () => ({
    ...loadConfig({ MDE_API_URL: sim.baseUrl, AZURE_CLIENT_ID: USER_ASSIGNED_IDENTITY }),
    authorityHost: authority.host,
  });

  it('is ignored: the token is the named managed identity’s, and the authority is never asked', async () => {
    process.env.AZURE_CLIENT_ID = USER_ASSIGNED_IDENTITY;
    try {
      expect(signInOf(withClientId())).toBe('platform-managed-identity');
      const token = await createCredential(withClientId()).getToken(withClientId().tokenScope);
      expect(claimsOf(token?.token ?? '')).toMatchObject({ appid: USER_ASSIGNED_IDENTITY });
      expect(tokenCalls()).toHaveLength(1);
      expect(authority.clientIds).toEqual([]);
    } finally {
      delete process.env.AZURE_CLIENT_ID;
    }
  });
});
