import { HttpRequest, InvocationContext } from '@azure/functions';
import { health, healthDetails } from '../../functions/health';
import { PRODUCT_VERSION } from '../../shared/kernel/version';
import * as policyRead from '../../shared/policy/read';
import { closeRuntime, getRuntime } from '../../shared/runtime';
import { azuriteConnectionString, freeLoopbackPort } from '../../simulator/azurite';
import { expectDocumentedAnswer } from '../support/openapi';

const request = (path: string) => new HttpRequest({ url: `http://localhost${path}`, method: 'GET' });
const anonymous = () => health(request('/api/health'), new InvocationContext());
const details = () => healthDetails(request('/api/health/details'), new InvocationContext());

/** Words an anonymous caller must never read: mode, hosts, clouds, setting names. */
const PRIVATE_WORDS = [
  'mode',
  'enforce',
  'dry-run',
  'cloud',
  'gcc',
  'securitycenter',
  'apiHost',
  'service-bus',
  'MDE_',
  'ISOLATION_',
  'AZURE_',
  'version',
];

const expectDocumented = (path: string, status: number, body: unknown) =>
  expectDocumentedAnswer(path, 'get', status, body);

function expectNothingPrivate(body: unknown) {
  const text = JSON.stringify(body);
  for (const word of PRIVATE_WORDS) expect(text).not.toContain(word);
}

describe('GET /api/health', () => {
  const saved = { ...process.env };
  let logged: string[];
  beforeEach(() => {
    logged = [];
    jest.spyOn(console, 'error').mockImplementation((line: unknown) => void logged.push(String(line)));
  });
  afterEach(async () => {
    process.env = { ...saved };
    jest.restoreAllMocks();
    await closeRuntime();
  });

  it('answers 503 when the state store does not answer, saying only that the store is down', async () => {
    const port = await freeLoopbackPort();
    // Nothing listens there: the store cannot be reached.
    process.env.AzureWebJobsStorage = azuriteConnectionString(port);
    const response = await anonymous();
    expect(response.status).toBe(503);
    expect(response.jsonBody).toEqual({
      status: 'store-unavailable',
      components: { settings: 'ok', policy: 'ok', store: 'down' },
    });
    expect(JSON.stringify(response.jsonBody)).not.toContain(String(port));
    const keyed = await details();
    expect(keyed.status).toBe(503);
    expect(keyed.jsonBody).toMatchObject({ status: 'store-unavailable', store: 'down' });
    expectDocumented('/api/health', 503, response.jsonBody);
    expectDocumented('/api/health/details', 503, keyed.jsonBody);
  }, 30_000);

  it('tells an anonymous caller up, and nothing about mode, hosts or identity', async () => {
    process.env.MDE_CLOUD = 'gcc';
    process.env.AZURE_CLIENT_ID = '11111111-2222-3333-4444-555555555555';
    process.env.ISOLATION_MODE = 'enforce';
    const response = await anonymous();
    expect(response.status).toBe(200);
    expect(response.jsonBody).toEqual({
      status: 'ok',
      components: { settings: 'ok', policy: 'ok', store: 'ok' },
    });
    expectNothingPrivate(response.jsonBody);
    expect(JSON.stringify(response.jsonBody)).not.toContain('11111111');
    expectDocumented('/api/health', 200, response.jsonBody);
  });

  it('shows version, cloud, host and mode with a function key, never the identity id', async () => {
    process.env.MDE_CLOUD = 'gcc';
    process.env.AZURE_CLIENT_ID = '11111111-2222-3333-4444-555555555555';
    const response = await details();
    expect(response.status).toBe(200);
    expect(response.jsonBody).toMatchObject({
      status: 'ok',
      version: PRODUCT_VERSION,
      cloud: 'gcc',
      apiHost: 'api-gcc.securitycenter.microsoft.us',
      configValid: true,
    });
    expect(JSON.stringify(response.jsonBody)).not.toContain('11111111');
    expectDocumented('/api/health/details', 200, response.jsonBody);
  });

  it('answers 503 naming only the failing component; setting names in the keyed view, details in the log', async () => {
    process.env.MDE_CLOUD = 'mars';
    process.env.MDE_RATE_LIMITS = 'secret-looking-value';
    const response = await anonymous();
    expect(response.status).toBe(503);
    expect(response.jsonBody).toEqual({
      status: 'misconfigured',
      components: { settings: 'invalid', policy: 'not checked', store: 'not checked' },
    });
    expectNothingPrivate(response.jsonBody);
    const keyed = await details();
    expect(keyed.status).toBe(503);
    expect(keyed.jsonBody).toMatchObject({
      configValid: false,
      component: 'settings',
      invalidSettings: ['MDE_CLOUD', 'MDE_RATE_LIMITS'],
    });
    expect(JSON.stringify(keyed.jsonBody)).not.toContain('secret-looking-value');
    // Logged once for the process, with what to fix.
    expect(logged).toHaveLength(1);
    expect(logged[0]).toMatch(/"event":"configuration-invalid","component":"settings".*mars/);
  });

  it('reports the effective mode in the keyed view: the policy mode unless ISOLATION_MODE overrides it', async () => {
    delete process.env.ISOLATION_POLICY;
    delete process.env.ISOLATION_MODE;
    expect((await details()).jsonBody).toMatchObject({ mode: 'dry-run', modeFrom: 'policy' });
    process.env.ISOLATION_MODE = 'enforce';
    expect((await details()).jsonBody).toMatchObject({ mode: 'enforce', modeFrom: 'ISOLATION_MODE' });
    expect((await details()).jsonBody).toMatchObject({ manualMode: 'follow' });
  });

  it('answers 503 naming the policy when it is invalid, without its content', async () => {
    process.env.ISOLATION_POLICY =
      '{"version": "secret-policy", "mode": "enforce", "rules": [{"name": "x"}]}';
    const response = await anonymous();
    expect(response.status).toBe(503);
    expect(response.jsonBody).toEqual({
      status: 'misconfigured',
      components: { settings: 'ok', policy: 'invalid', store: 'not checked' },
    });
    const keyed = await details();
    expect(keyed.jsonBody).toMatchObject({
      configValid: false,
      component: 'policy',
      invalidSettings: ['ISOLATION_POLICY'],
    });
    expect(JSON.stringify([response.jsonBody, keyed.jsonBody])).not.toContain('secret-policy');
  });

  it('validates the policy once however often it is asked', async () => {
    process.env.ISOLATION_POLICY = JSON.stringify({
      version: 'health-cache-1',
      mode: 'dry-run',
      rules: [{ name: 'r', minSeverity: 'high', action: 'isolate' }],
    });
    const read = jest.spyOn(policyRead, 'readPolicy');
    for (let call = 0; call < 20; call += 1) expect((await anonymous()).status).toBe(200);
    expect((await details()).status).toBe(200);
    // Once for the configuration check, once for the runtime whose store the probe asks: never per call.
    expect(read).toHaveBeenCalledTimes(2);
  });
});

describe('GET /api/health/details with a tenant list', () => {
  const CONTOSO = '2f4a9c1e-7b3d-4e8a-9c21-5d6e7f8a9b0c';
  const FABRIKAM = '8d1b6e3f-2a4c-4b5d-8e9f-0a1b2c3d4e5f';
  const IDENTITY = '0c0ffee0-1111-4222-8333-444444444444';
  const APP = '6a1f0e2d-3c4b-4a59-8e7f-90a1b2c3d4e5';
  const saved = { ...process.env };
  beforeEach(() => {
    process.env.AZURE_CLIENT_ID = IDENTITY;
    process.env.MDE_TENANT_APP_CLIENT_ID = APP;
    process.env.MDE_TENANTS = JSON.stringify([
      { tenantId: CONTOSO, displayName: 'Contoso' },
      {
        tenantId: FABRIKAM,
        displayName: 'Fabrikam Ltd',
        cloud: 'gcc',
        policy: { protections: [{ name: 'secret-kiosks', hostnames: ['kiosk-*'] }] },
      },
    ]);
  });
  afterEach(async () => {
    process.env = { ...saved };
    jest.restoreAllMocks();
    await closeRuntime();
  });

  it("shows each tenant's name, cloud, API host, breaker and store; never its ids of identities or its policy", async () => {
    await getRuntime().tenant(FABRIKAM).store.breaker.trip('health test: a storm in Fabrikam');
    const response = await details();
    expect(response.status).toBe(200);
    expect(response.jsonBody).toMatchObject({
      status: 'ok',
      tenants: [
        {
          tenantId: CONTOSO,
          displayName: 'Contoso',
          cloud: 'commercial',
          apiHost: 'api.security.microsoft.com',
          breaker: 'closed',
          store: 'ok',
        },
        {
          tenantId: FABRIKAM,
          displayName: 'Fabrikam Ltd',
          cloud: 'gcc',
          apiHost: 'api-gcc.securitycenter.microsoft.us',
          breaker: 'open',
          store: 'ok',
        },
      ],
    });
    const text = JSON.stringify(response.jsonBody);
    for (const secret of [IDENTITY, APP, 'secret-kiosks', 'kiosk-', 'storm'])
      expect(text).not.toContain(secret);
    expectDocumented('/api/health/details', 200, response.jsonBody);
    // The anonymous answer says no more with a list than without one.
    const anonymousBody = (await anonymous()).jsonBody;
    expect(anonymousBody).toEqual({
      status: 'ok',
      components: { settings: 'ok', policy: 'ok', store: 'ok' },
    });
  });

  it("says each tenant's store is down, its breaker unknown, when the tables do not answer", async () => {
    jest.spyOn(console, 'error').mockImplementation(() => undefined);
    // Nothing listens there: no table answers.
    process.env.AzureWebJobsStorage = azuriteConnectionString(await freeLoopbackPort());
    const response = await details();
    expect(response.status).toBe(503);
    expect((response.jsonBody as { tenants: unknown }).tenants).toEqual([
      expect.objectContaining({ tenantId: CONTOSO, breaker: 'unknown', store: 'down' }),
      expect.objectContaining({ tenantId: FABRIKAM, breaker: 'unknown', store: 'down' }),
    ]);
    expectDocumented('/api/health/details', 503, response.jsonBody);
  }, 30_000);
});
