import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { forgedPrincipalCheck } from '../../cli/deployed-checks';
import { identifyCaller } from '../../shared/manual/caller';

/**
 * `doctor`'s forged-principal check against a loopback server playing the deployed app: the Functions host
 * (a host key on keyed routes), App Service authentication in front of it as a deployment may set it up, and
 * the manual function reading the caller with the app's real identifyCaller.
 */
const HOST_KEY = 'host-key-Zq8~never-printed';
/** infra/main.bicep routesWithoutSignIn: Easy Auth lets these through without a token. */
const WITHOUT_SIGN_IN = ['/api/alerts', '/api/health', '/api/health/details', '/api/openapi.json'];

type Setup =
  /** Easy Auth on, Return401; the app trusts the header (MANUAL_EASY_AUTH=on). */
  | 'signed-in'
  /** Easy Auth on but letting anonymous requests through: the platform still strips the header. */
  | 'anonymous-allowed'
  /** MANUAL_EASY_AUTH=on with App Service authentication off: the header comes from the caller. */
  | 'trusts-forged'
  /** Sign-in off everywhere: the app ignores the header. */
  | 'keys-only'
  /** Something answering the probe with a megabyte: not the app's answer, whatever it says. */
  | 'large-answers';

function problem(response: ServerResponse, status: number, code: string, message: string) {
  response.writeHead(status, { 'content-type': 'application/json' });
  response.end(JSON.stringify({ error: { code, message } }));
}

function headersOf(request: IncomingMessage) {
  return { get: (name: string) => (request.headers[name.toLowerCase()] as string | undefined) ?? null };
}

function app(setup: Setup) {
  return (request: IncomingMessage, response: ServerResponse) => {
    const path = new URL(request.url ?? '/', 'http://x').pathname;
    const easyAuth = setup === 'signed-in' || setup === 'anonymous-allowed';
    if (easyAuth) {
      delete request.headers['x-ms-client-principal'];
      const bearer = /^Bearer /.test(request.headers.authorization ?? '');
      if (setup === 'signed-in' && !bearer && !WITHOUT_SIGN_IN.includes(path)) {
        response.writeHead(401, { 'www-authenticate': 'Bearer realm="app"' });
        return void response.end();
      }
    }
    if (request.headers['x-functions-key'] !== HOST_KEY) {
      response.writeHead(401);
      return void response.end();
    }
    if (path === '/api/health/details') {
      response.writeHead(200, { 'content-type': 'application/json' });
      return void response.end('{"status":"ok","configValid":true}');
    }
    if (path === '/api/alerts') return problem(response, 405, 'method-not-allowed', 'POST an alert');
    if (path === '/api/isolations' && setup === 'large-answers') {
      response.writeHead(403, { 'content-type': 'application/json' });
      return void response.end(
        JSON.stringify({ error: { code: 'forbidden', padding: 'x'.repeat(1 << 20) } }),
      );
    }
    if (path === '/api/isolations') {
      const check = identifyCaller(headersOf(request), setup !== 'keys-only');
      if (!check.ok) return problem(response, check.status, check.code, check.message);
      response.writeHead(200, { 'content-type': 'application/json' });
      return void response.end('{"isolations":[]}');
    }
    problem(response, 404, 'not-found', 'no such route');
  };
}

async function serve(setup: Setup): Promise<{ url: string; close: () => Promise<void> }> {
  const server: Server = createServer(app(setup));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

async function checkAgainst(setup: Setup, key = HOST_KEY) {
  const app = await serve(setup);
  try {
    return await forgedPrincipalCheck({ MDE_ISOLATOR_APP_URL: app.url, MDE_ISOLATOR_FUNCTION_KEY: key });
  } finally {
    await app.close();
  }
}

describe("doctor's deployed-app check: a forged x-ms-client-principal with a valid function key", () => {
  it('passes when the platform refuses it before the function runs (sign-in on, 401)', async () => {
    const check = await checkAgainst('signed-in');
    expect(check).toEqual({
      pass: true,
      line: expect.stringContaining('refuses a forged x-ms-client-principal'),
    });
  });

  it('passes when the platform strips it and the app then asks for sign-in', async () => {
    const check = await checkAgainst('anonymous-allowed');
    expect(check).toEqual({
      pass: true,
      line: expect.stringContaining('strips a forged x-ms-client-principal'),
    });
  });

  it('fails, naming the fix, when the app trusts a header the platform let through', async () => {
    const check = await checkAgainst('trusts-forged');
    expect(check).toEqual({
      pass: false,
      line: expect.stringContaining('trusts a forged x-ms-client-principal: MANUAL_EASY_AUTH is on'),
    });
    expect('line' in check && check.line).toContain('redeploy with manualAuthClientId');
  });

  it('is skipped when sign-in is off (the header is ignored, the key alone guards)', async () => {
    expect(await checkAgainst('keys-only')).toEqual({
      skip: expect.stringContaining('Entra sign-in is off'),
    });
  });

  it('fails on a key that is not a host key, instead of reading its 401 as sign-in', async () => {
    const check = await checkAgainst('signed-in', 'alerts-function-key');
    expect(check).toEqual({
      pass: false,
      line: expect.stringContaining('refuses the key; give the host key'),
    });
  });

  it("reads at most 64 KB of an answer, so a large one cannot pass for the app's", async () => {
    const check = await checkAgainst('large-answers');
    expect(check).toEqual({
      pass: false,
      line: expect.stringContaining('answered 403 to the forged-principal probe'),
    });
  });

  it('never prints the key', async () => {
    for (const setup of ['signed-in', 'trusts-forged', 'keys-only'] as const)
      expect(JSON.stringify(await checkAgainst(setup))).not.toContain(HOST_KEY);
  });

  it('is skipped without MDE_ISOLATOR_APP_URL, and sends no key over plain http beyond loopback', async () => {
    expect(await forgedPrincipalCheck({})).toEqual({ skip: expect.stringContaining('MDE_ISOLATOR_APP_URL') });
    expect(
      await forgedPrincipalCheck({
        MDE_ISOLATOR_APP_URL: 'http://func-mdeiso-soc.azurewebsites.net',
        MDE_ISOLATOR_FUNCTION_KEY: HOST_KEY,
      }),
    ).toEqual({ pass: false, line: expect.stringContaining('must be an https URL') });
    expect(await forgedPrincipalCheck({ MDE_ISOLATOR_APP_URL: 'https://x.example' })).toEqual({
      pass: false,
      line: expect.stringContaining('MDE_ISOLATOR_FUNCTION_KEY is not set'),
    });
  });
});
