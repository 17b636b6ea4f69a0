/**
 * Answers the simulator never gives (it is faithful to the docs), but a real MDE, a proxy or a future
 * API version may: a scripted loopback server plays them to the real client.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { AccessToken } from '@azure/identity';
import { loadConfig } from '../../shared/config';
import { createMdeClient, type MdeClient } from '../../shared/mde/client';
import { ActionAlreadyInProgressError, RateLimitedError, TransientError } from '../../shared/mde/errors';
import { failure } from './failure';

const MACHINE_ID = 'a'.repeat(40);
const TOKEN: AccessToken = { token: 'scripted-server-token', expiresOnTimestamp: Date.now() + 3_600_000 };

type Script = (request: IncomingMessage, response: ServerResponse) => void;
let script: Script;
let requests: { method: string; url: string }[];
let server: Server;
let client: MdeClient;

function json(response: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  response.writeHead(status, { 'content-type': 'application/json', ...headers });
  response.end(JSON.stringify(body));
}

const action = (id: string, created: string) => ({
  id,
  type: 'Isolate',
  status: 'Succeeded',
  machineId: MACHINE_ID,
  creationDateTimeUtc: created,
});

beforeAll(async () => {
  server = createServer((request, response) => {
    requests.push({ method: request.method ?? '', url: request.url ?? '' });
    request.resume();
    request.on('end', () => script(request, response));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  client = createMdeClient(loadConfig({ MDE_API_URL: baseUrl, MDE_REQUEST_TIMEOUT_MS: '5000' }), {
    credential: { getToken: async () => TOKEN, getFreshToken: async () => TOKEN },
  });
});
beforeEach(() => {
  requests = [];
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

describe('Retry-After on a 429, as the client reads it from the wire', () => {
  const throttled = (headers: Record<string, string>) => {
    script = (_request, response) =>
      json(response, 429, { error: { code: 'TooManyRequests', message: 'quota', target: 't' } }, headers);
    return failure(client.getMachine(MACHINE_ID));
  };

  it('reads whole and fractional seconds', async () => {
    expect(await throttled({ 'retry-after': '12' })).toMatchObject({ retryAfterMs: 12_000 });
    expect(await throttled({ 'retry-after': '0.3' })).toMatchObject({ retryAfterMs: 300 });
  });

  it('reads an HTTP date', async () => {
    const at = new Date(Date.now() + 90_000).toUTCString();
    const error = (await throttled({ 'retry-after': at })) as RateLimitedError;
    expect(error).toBeInstanceOf(RateLimitedError);
    expect(error.retryAfterMs).toBeGreaterThan(85_000);
    expect(error.retryAfterMs).toBeLessThanOrEqual(90_000);
  });

  it('gives null for a missing or unreadable header, so the caller falls back to its default', async () => {
    expect(await throttled({})).toMatchObject({ kind: 'rate-limited', retryAfterMs: null });
    expect(await throttled({ 'retry-after': '-5' })).toMatchObject({ retryAfterMs: null });
    expect(await throttled({ 'retry-after': 'later' })).toMatchObject({ retryAfterMs: null });
    expect(requests).toHaveLength(3);
  });
});

describe('duplicate action answers', () => {
  it('treats the documented 400 message under a generic code as already in progress', async () => {
    script = (_request, response) =>
      json(response, 400, { error: { code: 'BadRequest', message: 'Action is already in progress' } });
    const error = await failure(client.release(MACHINE_ID, 'c'));
    expect(error).toBeInstanceOf(ActionAlreadyInProgressError);
    expect(error).toMatchObject({
      status: 400,
      code: 'BadRequest',
      apiMessage: 'Action is already in progress',
    });
  });
});

describe('answers without the expected entity', () => {
  it('raises a server-error TransientError for a 200 HTML page on a GET', async () => {
    script = (_request, response) => {
      response.writeHead(200, { 'content-type': 'text/html' });
      response.end('<html>proxy login</html>');
    };
    const error = await failure(client.getMachine(MACHINE_ID));
    expect(error).toBeInstanceOf(TransientError);
    expect(error).toMatchObject({ transientCause: 'server-error', mayHaveExecuted: false });
  });

  it('marks an empty 201 to a POST as possibly executed, and does not resend it', async () => {
    script = (_request, response) => {
      response.writeHead(201);
      response.end();
    };
    const error = await failure(client.isolate(MACHINE_ID, 'c', 'Full'));
    expect(error).toMatchObject({ kind: 'transient', transientCause: 'server-error', mayHaveExecuted: true });
    expect(requests.map((r) => r.method)).toEqual(['POST']);
  });
});

describe('machine action lists', () => {
  it('returns actions newest first whatever order MDE sends them in', async () => {
    script = (_request, response) =>
      json(response, 200, {
        value: [
          action('00000000-0000-4000-8000-000000000001', '2026-01-01T10:00:00.0000000Z'),
          action('00000000-0000-4000-8000-000000000003', '2026-01-03T10:00:00.0000000Z'),
          action('00000000-0000-4000-8000-000000000002', '2026-01-02T10:00:00.1234567Z'),
        ],
      });
    const listed = await client.listMachineActions({ machineId: MACHINE_ID });
    expect(listed.map((a) => a.id.slice(-1))).toEqual(['3', '2', '1']);
  });
});

describe('paged lists', () => {
  it('follows a nextLink below the base URL and never one elsewhere (the token would go with it)', async () => {
    const { port } = server.address() as AddressInfo;
    script = (request, response) => {
      const skip = new URL(request.url ?? '/', 'http://x').searchParams.get('$skip');
      if (skip === null)
        return json(response, 200, {
          value: [action('00000000-0000-4000-8000-000000000001', '2026-01-01T10:00:00Z')],
          '@odata.nextLink': `http://127.0.0.1:${port}/api/machineactions?$skip=1`,
        });
      return json(response, 200, {
        value: [action('00000000-0000-4000-8000-000000000002', '2026-01-02T10:00:00Z')],
        '@odata.nextLink': 'https://elsewhere.example/api/machineactions?$skip=2',
      });
    };
    const error = await failure(client.listMachineActions({ machineId: MACHINE_ID }));
    expect(error).toBeInstanceOf(TransientError);
    expect(String(error)).toContain('nextLink outside');
    expect(requests.map((r) => r.url)).toEqual([
      expect.stringContaining('/api/machineactions?$filter='),
      '/api/machineactions?$skip=1',
    ]);
  });
});
