/**
 * Tokens per customer tenant through the federated credential (docs/mde-api.md §18), with the real
 * @azure/identity: the assertion is the user-assigned identity's token from the simulator's identity
 * endpoint, each tenant's token comes from that tenant's authority on loopback.
 */

import { tenantChecks } from '../../cli/doctor';
import { loadConfig } from '../../shared/config';
import { TenantCredentials, tokenExchangeAudience } from '../../shared/mde/tenant-credential';
import { claimsOf } from '../../shared/mde/token-claims';
import { parseTenantList } from '../../shared/tenants/parse';
import type { Tenant } from '../../shared/tenants/tenant';
import type { RunningSimulator } from '../../simulator';
import { USER_ASSIGNED_IDENTITY, USER_ASSIGNED_ROLES } from '../support/identity';
import {
  type LoopbackAuthority,
  startAuthority,
  tenantToken,
  UNCONSENTED_TENANT,
} from '../support/loopback-authority';
import { startSimulatorWithIdentity } from '../support/simulator';
import { trustLoopback } from '../support/trust-loopback';

const APP_CLIENT_ID = '6a1f0e2d-3c4b-4a59-8e7f-90a1b2c3d4e5';
const TENANT_A = '2f4a9c1e-7b3d-4e8a-9c21-5d6e7f8a9b0c';
const TENANT_B = '8d1b6e3f-2a4c-4b5d-8e9f-0a1b2c3d4e5f';
const SCOPE = 'https://api.securitycenter.microsoft.com/.default';

let sim: RunningSimulator;
let authority: LoopbackAuthority;

/** The listed tenants, signing in at the loopback authority instead of their cloud's. */
function tenantsOf(...ids: string[]): Tenant[] {
  const { tenants, problems } = parseTenantList(
    JSON.stringify(ids.map((tenantId, i) => ({ tenantId, displayName: `Tenant ${i}` }))),
  );
  expect(problems).toEqual([]);
  return tenants.map((t) => ({ ...t, authorityHost: authority.host }));
}

beforeAll(async () => {
  sim = await startSimulatorWithIdentity({ userAssignedIdentities: USER_ASSIGNED_ROLES });
  authority = await startAuthority();
  trustLoopback(authority.certificate);
});
afterAll(async () => {
  jest.restoreAllMocks();
  await authority.close();
  await sim.close();
});
beforeEach(() => {
  authority.requests.length = 0;
});

describe('a credential per tenant from the federated managed identity', () => {
  it("asks each tenant's authority as the app, with the identity's exchange token as the assertion", async () => {
    const [a, b] = tenantsOf(TENANT_A, TENANT_B);
    const credentials = new TenantCredentials({
      appClientId: APP_CLIENT_ID,
      managedIdentityClientId: USER_ASSIGNED_IDENTITY,
    });
    expect((await credentials.forTenant(a).getToken(SCOPE))?.token).toBe(
      tenantToken(TENANT_A, APP_CLIENT_ID, SCOPE),
    );
    expect((await credentials.forTenant(b).getToken(SCOPE))?.token).toBe(
      tenantToken(TENANT_B, APP_CLIENT_ID, SCOPE),
    );
    expect(
      authority.requests.map(({ tenant, clientId, clientAssertionType }) => ({
        tenant,
        clientId,
        clientAssertionType,
      })),
    ).toEqual(
      [TENANT_A, TENANT_B].map((tenant) => ({
        tenant,
        clientId: APP_CLIENT_ID,
        clientAssertionType: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
      })),
    );
    // The assertion is the user-assigned identity's own token, for the token exchange audience.
    for (const request of authority.requests)
      expect(claimsOf(request.clientAssertion ?? '')).toMatchObject({
        aud: 'api://AzureADTokenExchange',
        appid: USER_ASSIGNED_IDENTITY,
      });
  });

  it("never answers for one tenant with another's token: each tenant keeps its own cache", async () => {
    const [a, b] = tenantsOf(TENANT_A, TENANT_B);
    const credentials = new TenantCredentials({
      appClientId: APP_CLIENT_ID,
      managedIdentityClientId: USER_ASSIGNED_IDENTITY,
    });
    const tokens = [];
    for (const tenant of [a, b, a, b, a])
      tokens.push((await credentials.forTenant(tenant).getToken(SCOPE))?.token);
    expect(tokens).toEqual(
      [TENANT_A, TENANT_B, TENANT_A, TENANT_B, TENANT_A].map((t) => tenantToken(t, APP_CLIENT_ID, SCOPE)),
    );
    // Cached after the first: one request per tenant, each at its own tenant.
    expect(authority.requests.map((r) => r.tenant)).toEqual([TENANT_A, TENANT_B]);
    expect(credentials.forTenant(a)).toBe(credentials.forTenant(a));
  });

  it("fails for a tenant that never consented, even with another tenant's token cached", async () => {
    const [a, unconsented] = tenantsOf(TENANT_A, UNCONSENTED_TENANT);
    const credentials = new TenantCredentials({
      appClientId: APP_CLIENT_ID,
      managedIdentityClientId: USER_ASSIGNED_IDENTITY,
    });
    await credentials.forTenant(a).getToken(SCOPE);
    await expect(credentials.forTenant(unconsented).getToken(SCOPE)).rejects.toThrow(/AADSTS700016/);
  });

  it('makes doctor say, tenant by tenant, which consented and which did not', async () => {
    const [a, unconsented] = tenantsOf(TENANT_A, UNCONSENTED_TENANT);
    const config = loadConfig({
      AZURE_CLIENT_ID: USER_ASSIGNED_IDENTITY,
      MDE_TENANT_APP_CLIENT_ID: APP_CLIENT_ID,
      MDE_TENANTS: JSON.stringify([
        { tenantId: TENANT_A, displayName: 'Contoso' },
        { tenantId: UNCONSENTED_TENANT, displayName: 'Fabrikam' },
      ]),
    });
    // The listed tenants, signing in at the loopback authority.
    const checks = await tenantChecks({
      ...config,
      tenants: [
        { ...a, displayName: 'Contoso' },
        { ...unconsented, displayName: 'Fabrikam' },
      ],
    });
    expect(checks).toEqual([
      {
        pass: true,
        line: `tenant Contoso: ${APP_CLIENT_ID}, tenant ${TENANT_A}, audience https://api.securitycenter.microsoft.com, application permissions Machine.Isolate, Machine.Read.All`,
      },
      {
        pass: false,
        line: expect.stringMatching(
          `^tenant Fabrikam: no token for ${SCOPE} \\(\\w+; has ${UNCONSENTED_TENANT} consented\\? scripts/tenant-consent-urls\\.sh;`,
        ),
      },
    ]);
    expect(await tenantChecks(loadConfig({}))).toEqual([]);
  });

  it('presents the US Government exchange audience to a .us authority', () => {
    expect(tokenExchangeAudience('https://login.microsoftonline.us')).toBe('api://AzureADTokenExchangeUSGov');
    expect(tokenExchangeAudience('https://login.microsoftonline.com')).toBe('api://AzureADTokenExchange');
  });
});
