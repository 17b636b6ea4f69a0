/** The development host serves the registered HTTP functions on their routes, checking the function key. */
import { type RunningDevHost, startDevHost } from '../../simulator/dev-host';
import { useQueueOnlyRuntime } from '../setup/queue-only-runtime';
import { registeredHttpFunctions } from '../support/registration';

useQueueOnlyRuntime();

describe('the development host', () => {
  let host: RunningDevHost;
  const logged: string[] = [];
  beforeAll(async () => {
    host = await startDevHost({
      functions: registeredHttpFunctions(),
      port: 0,
      log: (l) => void logged.push(l),
    });
  });
  afterAll(() => host.close());

  const alert = JSON.stringify({ hostname: 'ws-finance-01', comment: 'trying the dev host' });
  const send = (path: string, init: RequestInit = {}) => fetch(`${host.baseUrl}${path}`, init);
  const post = (path: string, headers: Record<string, string>) =>
    send(path, { method: 'POST', body: alert, headers: { 'content-type': 'application/json', ...headers } });

  it('accepts an alert sent with the dev key, in the header or as ?code=', async () => {
    const response = await post('/api/alerts', { 'x-functions-key': host.key });
    expect(response.status).toBe(202);
    expect(await response.json()).toMatchObject({ accepted: 1, alerts: [{ source: 'relay-manual' }] });
    expect((await post(`/api/alerts?code=${host.key}`, {})).status).toBe(202);
  });

  it('refuses a keyed function without the key, or with another, in JSON', async () => {
    const attempts: Array<Record<string, string>> = [{}, { 'x-functions-key': `${host.key}x` }];
    for (const headers of attempts) {
      const response = await post('/api/alerts', headers);
      expect(response.status).toBe(401);
      expect(await response.json()).toMatchObject({ error: { code: 'unauthorized' } });
    }
    expect((await send('/api/health/details')).status).toBe(401);
  });

  it('answers health, the document and the reference anonymously', async () => {
    const health = await send('/api/health');
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ status: 'ok' });
    expect((await send('/api/openapi.json')).status).toBe(200);
    const page = await send('/api/docs');
    expect(page.headers.get('content-security-policy')).toContain("default-src 'none'");
  });

  it('fills route parameters; an unknown route or method is a JSON 404, a malformed path a JSON 400', async () => {
    const key = { 'x-functions-key': host.key };
    const record = await send('/api/isolations/716240a6127a2375ac877a23ed488ec786b9e4a4', { headers: key });
    expect(record.status).toBe(404);
    // The handler's own answer: it read the id from the route.
    expect(await record.json()).toMatchObject({
      error: {
        code: 'not-in-register',
        message: expect.stringContaining('716240a6127a2375ac877a23ed488ec786b9e4a4'),
      },
    });
    const unknown = await send('/api/nothing-here', { headers: key });
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toMatchObject({ error: { code: 'not-found' } });
    expect((await send('/api/health', { method: 'POST' })).status).toBe(404);
    const malformed = await send('/api/isolations/%E0%A4%A', { headers: key });
    expect(malformed.status).toBe(400);
    expect(await malformed.json()).toMatchObject({ error: { code: 'bad-path' } });
  });
});
