/**
 * An Entra authority on loopback for the real @azure/identity: the OpenID metadata of any tenant and a
 * token endpoint answering the OAuth2 client-credentials POST (with a secret, or with a client assertion
 * as a federated credential presents it, then with a token the simulator playing that tenant accepts),
 * recording who asked in which tenant. MSAL accepts only an https authority, so it serves TLS with a
 * self-signed certificate made for the run (openssl, `loopbackKeyPair`), which `trustLoopback`
 * (trust-loopback.ts) makes the process accept for 127.0.0.1 alone.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls, { type ConnectionOptions } from 'node:tls';
import { signToken } from '../../simulator/tokens';

export const AUTHORITY_TENANT = '72f988bf-86f1-41af-91ab-2d7cd011db47';
/** A client secret the loopback authority refuses, as Entra refuses an expired or wrong one. */
export const REFUSED_SECRET = 'Zq8~expired-secret';
/** The access token the loopback authority hands out for a client secret. */
export const AUTHORITY_TOKEN = 'token-from-the-app-registration';
/** Tenants whose token requests the authority refuses, as a tenant that never consented to the app. */
export const UNCONSENTED_TENANT = '0badc0de-0000-4000-8000-000000000000';

/** App roles a consented tenant grants the app on the Defender for Endpoint API. */
export const CONSENTED_ROLES = ['Machine.Isolate', 'Machine.Read.All'];

/** When this run's tenant tokens were issued: one instant, so a tenant's token is the same all run long. */
const ISSUED_AT_S = Math.floor(Date.now() / 1000);
/** A day: longer than any run, as the run's certificate. */
const TENANT_TOKEN_LIFETIME_S = 86_400;

/**
 * The access token the authority hands out for a client assertion in `tenant`: shaped like Entra's,
 * naming the tenant, the app and the audience of the scope, and signed like the simulator's own
 * (simulator/tokens.ts), so a simulator playing `tenant` accepts it and one playing another refuses it.
 */
export function tenantToken(tenant: string, clientId: string, scope: string): string {
  return signToken({
    aud: scope.replace(/\/\.default$/, ''),
    iss: `https://sts.windows.net/${tenant}/`,
    appid: clientId,
    oid: clientId,
    tid: tenant,
    roles: CONSENTED_ROLES,
    ver: '1.0',
    iat: ISSUED_AT_S,
    nbf: ISSUED_AT_S,
    exp: ISSUED_AT_S + TENANT_TOKEN_LIFETIME_S,
  });
}

/** One token request: the tenant of its path, the form's client id and assertion. */
export interface TokenRequest {
  tenant: string;
  clientId: string;
  clientAssertion: string | null;
  clientAssertionType: string | null;
}

/** An Entra authority on loopback: its OpenID metadata and a token endpoint that records who asked. */
export interface LoopbackAuthority {
  host: string;
  /** The client_id of every token request, in order. */
  clientIds: string[];
  /** Every token request, in order. */
  requests: TokenRequest[];
  /** Its self-signed certificate (PEM), made for this run. */
  certificate: Buffer;
  close(): Promise<void>;
}

/** A key pair and self-signed certificate for 127.0.0.1 (PEM), made by openssl for this run. */
export interface LoopbackKeyPair {
  key: Buffer;
  cert: Buffer;
}

let keyPairOfRun: LoopbackKeyPair | undefined;

/**
 * One certificate for every TLS server on loopback in a test file (the authority, the Logs query
 * stand-in), so `trustLoopback` trusts them all.
 */
export function loopbackKeyPair(): LoopbackKeyPair {
  if (keyPairOfRun) return keyPairOfRun;
  const dir = mkdtempSync(join(tmpdir(), 'authority-'));
  // An EC key: made in milliseconds even on a loaded machine.
  const args = '-x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 -subj /CN=127.0.0.1';
  execFileSync(
    'openssl',
    [
      'req',
      ...args.split(' '),
      '-addext',
      'subjectAltName=IP:127.0.0.1',
      '-keyout',
      join(dir, 'key.pem'),
      '-out',
      join(dir, 'cert.pem'),
    ],
    { stdio: 'ignore' },
  );
  keyPairOfRun = { key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) };
  rmSync(dir, { recursive: true });
  return keyPairOfRun;
}

export async function startAuthority(): Promise<LoopbackAuthority> {
  const keyPair = loopbackKeyPair();
  const clientIds: string[] = [];
  const requests: TokenRequest[] = [];
  let host = '';
  const server: Server = createServer(keyPair, (request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => {
      body += chunk.toString();
    });
    request.on('end', () => {
      const path = new URL(request.url ?? '/', host).pathname;
      response.setHeader('content-type', 'application/json');
      const tenant = /^\/([0-9a-f-]{36})\//.exec(path)?.[1] ?? '';
      if (request.method === 'GET' && path === `/${tenant}/v2.0/.well-known/openid-configuration`) {
        response.end(
          JSON.stringify({
            issuer: `${host}/${tenant}/v2.0`,
            authorization_endpoint: `${host}/${tenant}/oauth2/v2.0/authorize`,
            token_endpoint: `${host}/${tenant}/oauth2/v2.0/token`,
            end_session_endpoint: `${host}/${tenant}/oauth2/v2.0/logout`,
            jwks_uri: `${host}/${tenant}/discovery/v2.0/keys`,
          }),
        );
        return;
      }
      if (request.method === 'POST' && path === `/${tenant}/oauth2/v2.0/token`) {
        const form = new URLSearchParams(body);
        clientIds.push(form.get('client_id') ?? '');
        const clientAssertion = form.get('client_assertion');
        requests.push({
          tenant,
          clientId: form.get('client_id') ?? '',
          clientAssertion,
          clientAssertionType: form.get('client_assertion_type'),
        });
        if (tenant === UNCONSENTED_TENANT) {
          response.statusCode = 400;
          response.end(
            JSON.stringify({
              error: 'invalid_client',
              error_description: `AADSTS700016: Application not found in the directory '${tenant}'.`,
            }),
          );
          return;
        }
        if (clientAssertion !== null) {
          response.end(
            JSON.stringify({
              token_type: 'Bearer',
              expires_in: 3600,
              ext_expires_in: 3600,
              access_token: tenantToken(tenant, form.get('client_id') ?? '', form.get('scope') ?? ''),
            }),
          );
          return;
        }
        if (tenant !== AUTHORITY_TENANT || form.get('client_secret') === REFUSED_SECRET) {
          response.statusCode = 401;
          response.end(
            JSON.stringify({
              error: 'invalid_client',
              error_description: 'AADSTS7000215: Invalid client secret provided.',
            }),
          );
          return;
        }
        response.end(
          JSON.stringify({
            token_type: 'Bearer',
            expires_in: 3600,
            ext_expires_in: 3600,
            access_token: AUTHORITY_TOKEN,
          }),
        );
        return;
      }
      response.statusCode = 404;
      response.end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  host = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    host,
    clientIds,
    requests,
    certificate: keyPair.cert,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** `connect` trusting `certificate` for connections to 127.0.0.1 alone; the certificate is still verified. */
export function trustingLoopback(connect: typeof tls.connect, certificate: Buffer): typeof tls.connect {
  return ((options: ConnectionOptions) =>
    connect(options.host === '127.0.0.1' ? { ...options, ca: certificate } : options)) as typeof tls.connect;
}

/**
 * Trusts `certificate` for 127.0.0.1 in this whole process until the answered function is called: a
 * bench's (a test's trust, undone with its mocks, is trust-loopback.ts).
 */
export function trustLoopbackInProcess(certificate: Buffer): () => void {
  const connect = tls.connect;
  tls.connect = trustingLoopback(connect, certificate);
  return () => {
    tls.connect = connect;
  };
}
