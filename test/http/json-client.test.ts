/**
 * The shared JSON client against a loopback server, with tokens from the real @azure/identity
 * managed identity code signing in at the MDE simulator's identity endpoint (which issues a token for
 * any audience).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadConfig } from '../../shared/config';
import {
  JsonClient,
  type JsonClientCredential,
  NoAnswerError,
  parseRetryAfter,
  TokenUnavailableError,
} from '../../shared/http/json-client';
import { createCredential } from '../../shared/mde/credential';
import { type RunningSimulator, startSimulator } from '../../simulator/index';
import { pointIdentityAt } from '../support/identity';

const SCOPE = 'https://api.example.test/.default';

interface Seen {
  method: string;
  url: string;
  contentType: string | undefined;
  audience: string | null;
  body: string;
}

type Reply = (response: ServerResponse) => void;

/** Answers each request with the next reply of a script, recording what it saw. */
class LoopbackApi {
  readonly seen: Seen[] = [];
  replies: Reply[] = [];
  private readonly server: Server = createServer((request, response) => this.handle(request, response));
  url = '';

  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }

  private handle(request: IncomingMessage, response: ServerResponse): void {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const token = /^Bearer (.+)$/.exec(request.headers.authorization ?? '')?.[1];
      const claims = token
        ? JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString('utf8'))
        : null;
      this.seen.push({
        method: request.method ?? '',
        url: request.url ?? '',
        contentType: request.headers['content-type'],
        audience: claims?.aud ?? null,
        body: Buffer.concat(chunks).toString('utf8'),
      });
      (this.replies.shift() ?? ((r) => r.writeHead(204).end()))(response);
    });
  }
}

let sim: RunningSimulator;
let api: LoopbackApi;
let credential: JsonClientCredential;
let restoreIdentity: () => void;

beforeAll(async () => {
  sim = await startSimulator();
  api = new LoopbackApi();
  await api.start();
  restoreIdentity = pointIdentityAt(sim);
  credential = createCredential(loadConfig(sim.env()));
});
afterAll(async () => {
  await api.close();
  await sim.close();
  restoreIdentity();
});
beforeEach(() => {
  api.seen.length = 0;
  api.replies = [];
  sim.resetCalls();
});

const client = (options: { credential?: JsonClientCredential; timeoutMs?: number; baseUrl?: string } = {}) =>
  new JsonClient({
    baseUrl: options.baseUrl ?? `${api.url}/`,
    scope: SCOPE,
    credential: options.credential ?? credential,
    timeoutMs: options.timeoutMs ?? 2_000,
  });

async function failure(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a failure');
}

describe('JsonClient', () => {
  it('sends JSON with a token for the scope and returns status, headers, parsed body and Retry-After', async () => {
    api.replies = [
      (r) =>
        r
          .writeHead(429, {
            'content-type': 'application/json',
            'retry-after': '7',
            'x-ms-request-id': 'r-1',
          })
          .end(JSON.stringify({ error: { code: 'TooManyRequests' } })),
    ];
    const response = await client().exchange({
      method: 'PUT',
      path: '/things/1',
      params: { 'api-version': '2023-02-01' },
      body: { properties: { message: 'hi' } },
    });
    expect(response).toMatchObject({
      status: 429,
      data: { error: { code: 'TooManyRequests' } },
      retryAfterMs: 7_000,
      headers: expect.objectContaining({ 'x-ms-request-id': 'r-1' }),
    });
    expect(api.seen).toEqual([
      {
        method: 'PUT',
        url: '/things/1?api-version=2023-02-01',
        contentType: expect.stringContaining('application/json'),
        audience: 'https://api.example.test',
        body: JSON.stringify({ properties: { message: 'hi' } }),
      },
    ]);
  });

  it('reads an answer without Retry-After as null, and a non-JSON body as its text', async () => {
    api.replies = [(r) => r.writeHead(502, { 'content-type': 'text/html' }).end('<html>bad gateway</html>')];
    expect(await client().exchange({ method: 'GET', path: '/x' })).toMatchObject({
      status: 502,
      data: '<html>bad gateway</html>',
      retryAfterMs: null,
    });
  });

  it('gives up at the deadline on an answer that never ends, without the token in the error', async () => {
    api.replies = [(r) => r.writeHead(200, { 'content-type': 'application/json' }).write('{"value":')];
    const error = await failure(client({ timeoutMs: 200 }).exchange({ method: 'GET', path: '/slow' }));
    expect(error).toBeInstanceOf(NoAnswerError);
    expect(error).toMatchObject({ noAnswerCause: 'timeout', message: expect.stringContaining('200 ms') });
    expect(`${error.message} ${JSON.stringify(error)} ${String(error.cause)}`).not.toMatch(/bearer|eyJ/i);
  });

  it('tells a refused connection apart', async () => {
    const gone = new LoopbackApi();
    await gone.start();
    await gone.close();
    const error = await failure(client({ baseUrl: gone.url }).exchange({ method: 'GET', path: '/x' }));
    expect(error).toMatchObject({ noAnswerCause: 'connection-refused' });
  });

  it('sends nothing when the credential has no token', async () => {
    const none: JsonClientCredential = { getToken: async () => null };
    const error = await failure(client({ credential: none }).exchange({ method: 'GET', path: '/x' }));
    expect(error).toBeInstanceOf(TokenUnavailableError);
    expect(error.message).toBe(`no token for ${SCOPE}: the credential returned none`);
    expect(api.seen).toEqual([]);
  });

  it('asks the identity endpoint itself for an identity-endpoint token, and the cache otherwise', async () => {
    await client().exchange({ method: 'GET', path: '/warm' });
    sim.resetCalls();
    await client().exchange({ method: 'GET', path: '/cached' });
    expect(sim.calls().filter((c) => c.api === 'token')).toEqual([]);
    await client().exchange({ method: 'GET', path: '/fresh' }, 'identity-endpoint');
    expect(sim.calls().filter((c) => c.api === 'token')).toHaveLength(1);
    expect(api.seen.map((s) => s.audience)).toEqual(Array(3).fill('https://api.example.test'));
  });
});

describe('Retry-After', () => {
  const now = Date.parse('2026-01-01T00:00:00Z');

  it.each([
    ['30', 30_000],
    ['0', 0],
    ['1.2', 1_200],
    ['Thu, 01 Jan 2026 00:00:45 GMT', 45_000],
    ['Wed, 31 Dec 2025 23:59:00 GMT', 0],
    ['soon', null],
    ['-5', null],
    [undefined, null],
  ])('reads %s as %s ms', (header, expected) => {
    expect(parseRetryAfter(header, now)).toBe(expected);
  });
});
