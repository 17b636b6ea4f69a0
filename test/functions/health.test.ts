import { HttpRequest, InvocationContext } from '@azure/functions';
import { health } from '../../functions/health';
import { PRODUCT_VERSION } from '../../shared/version';

function call() {
  return health(
    new HttpRequest({ url: 'http://localhost/api/health', method: 'GET' }),
    new InvocationContext(),
  );
}

describe('GET /api/health', () => {
  const saved = { ...process.env };
  afterEach(() => {
    process.env = { ...saved };
  });

  it('reports version, cloud, host and mode', async () => {
    process.env.MDE_CLOUD = 'gcc';
    process.env.AZURE_CLIENT_ID = '11111111-2222-3333-4444-555555555555';
    const response = await call();
    expect(response.status).toBe(200);
    expect(response.jsonBody).toMatchObject({
      status: 'ok',
      version: PRODUCT_VERSION,
      cloud: 'gcc',
      apiHost: 'api-gcc.securitycenter.microsoft.us',
      configValid: true,
    });
    expect(JSON.stringify(response.jsonBody)).not.toContain('11111111');
  });

  it('answers 503 naming the bad settings without their values', async () => {
    process.env.MDE_CLOUD = 'mars';
    process.env.MDE_RATE_LIMITS = 'secret-looking-value';
    const response = await call();
    expect(response.status).toBe(503);
    expect(response.jsonBody).toMatchObject({
      configValid: false,
      invalidSettings: ['MDE_CLOUD', 'MDE_RATE_LIMITS'],
    });
    expect(JSON.stringify(response.jsonBody)).not.toContain('secret-looking-value');
  });

  it('reports the effective mode: the policy mode unless ISOLATION_MODE overrides it', async () => {
    delete process.env.ISOLATION_POLICY;
    delete process.env.ISOLATION_MODE;
    expect((await call()).jsonBody).toMatchObject({ mode: 'dry-run', modeFrom: 'policy' });
    process.env.ISOLATION_MODE = 'enforce';
    expect((await call()).jsonBody).toMatchObject({ mode: 'enforce', modeFrom: 'ISOLATION_MODE' });
  });

  it('answers 503 naming ISOLATION_POLICY when the policy is invalid, without its content', async () => {
    process.env.ISOLATION_POLICY =
      '{"version": "secret-policy", "mode": "enforce", "rules": [{"name": "x"}]}';
    const response = await call();
    expect(response.status).toBe(503);
    expect(response.jsonBody).toMatchObject({ configValid: false, invalidSettings: ['ISOLATION_POLICY'] });
    expect(JSON.stringify(response.jsonBody)).not.toContain('secret-policy');
  });
});
