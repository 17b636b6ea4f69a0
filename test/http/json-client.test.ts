/**
 * The shared JSON client against the MDE simulator over loopback, with tokens from the real
 * @azure/identity managed identity code signing in at the simulator's identity endpoint. The
 * simulator checks each token's audience, so an answer other than 401 proves the scope was used.
 */
import { DEFAULT_RATE_LIMITS, loadConfig } from '../../shared/config';
import {
  JsonClient,
  type JsonClientCredential,
  NoAnswerError,
  parseRetryAfter,
  TOKEN_RENEWAL_MARGIN_MS,
  TokenUnavailableError,
} from '../../shared/http/json-client';
import { createCredential } from '../../shared/mde/credential';
import { type RunningSimulator, startSimulator } from '../../simulator/index';
import { failure } from '../mde/failure';
import { pointIdentityAt } from '../support/identity';

let sim: RunningSimulator;
let credential: JsonClientCredential;
let restoreIdentity: () => void;

beforeAll(async () => {
  sim = await startSimulator();
  restoreIdentity = pointIdentityAt(sim);
  credential = createCredential(loadConfig(sim.env()));
});
afterAll(async () => {
  await sim.close();
  restoreIdentity();
});
beforeEach(() => sim.resetCalls());
afterEach(() => {
  sim.setFaults({});
  sim.setRateLimits(DEFAULT_RATE_LIMITS);
});

const client = (options: { credential?: JsonClientCredential; timeoutMs?: number; baseUrl?: string } = {}) =>
  new JsonClient({
    baseUrl: options.baseUrl ?? `${sim.baseUrl}/`,
    scope: loadConfig(sim.env()).tokenScope,
    credential: options.credential ?? credential,
    timeoutMs: options.timeoutMs ?? 2_000,
  });
const machineId = () => sim.machines()[0].id;

describe('JsonClient', () => {
  it('sends a JSON body with a token for the scope and returns status, headers and the parsed body', async () => {
    const response = await client().exchange({
      method: 'POST',
      path: `/api/machines/${machineId()}/isolate`,
      body: { Comment: 'json-client test', IsolationType: 'Full' },
    });
    expect(response).toMatchObject({
      status: 201,
      data: { requestorComment: 'json-client test', machineId: machineId() },
      headers: expect.objectContaining({ 'content-type': expect.stringContaining('application/json') }),
      retryAfterMs: null,
    });
  });

  it('returns an error status as an answer, with its Retry-After in ms and query parameters sent', async () => {
    sim.setRateLimits('1/60s');
    const list = { method: 'GET', path: '/api/machineactions', params: { $top: '1' } } as const;
    expect((await client().exchange(list)).status).toBe(200);
    const throttled = await client().exchange(list);
    expect(throttled).toMatchObject({ status: 429, data: { error: expect.any(Object) } });
    expect(throttled.retryAfterMs).toBeGreaterThan(50_000);
    expect(throttled.retryAfterMs).toBeLessThanOrEqual(60_000);
    expect(
      sim
        .calls()
        .filter((c) => c.api === 'machineactions')
        .map((c) => c.path),
    ).toEqual(['/api/machineactions?$top=1', '/api/machineactions?$top=1']);
  });

  it('gives up at the deadline on a slow answer, without the token in the error', async () => {
    sim.setFaults({ latencyMs: 1_000, apis: ['machines'] });
    const error = await failure(
      client({ timeoutMs: 200 }).exchange({ method: 'GET', path: `/api/machines/${machineId()}` }),
    );
    expect(error).toBeInstanceOf(NoAnswerError);
    expect(error).toMatchObject({ noAnswerCause: 'timeout', message: expect.stringContaining('200 ms') });
    expect(`${(error as Error).message} ${JSON.stringify(error)}`).not.toMatch(/bearer|eyJ/i);
  });

  it('tells a refused connection apart', async () => {
    const gone = await startSimulator({ fleet: { curated: false } });
    await gone.close();
    const error = await failure(
      client({ baseUrl: gone.baseUrl }).exchange({ method: 'GET', path: '/api/machines' }),
    );
    expect(error).toMatchObject({ noAnswerCause: 'connection-refused' });
  });

  it('sends nothing when the credential has no token', async () => {
    const none: JsonClientCredential = { getToken: async () => null };
    const error = await failure(
      client({ credential: none }).exchange({ method: 'GET', path: '/api/machines' }),
    );
    expect(error).toBeInstanceOf(TokenUnavailableError);
    expect((error as Error).message).toMatch(/: the credential returned none$/);
    expect(sim.calls()).toEqual([]);
  });

  it('asks the identity endpoint itself for an identity-endpoint token, and the cache otherwise', async () => {
    const get = { method: 'GET', path: `/api/machines/${machineId()}` } as const;
    await client().exchange(get);
    sim.resetCalls();
    expect((await client().exchange(get)).status).toBe(200);
    expect(sim.calls().map((c) => c.api)).toEqual(['machines']);
    sim.resetCalls();
    expect((await client().exchange(get, 'identity-endpoint')).status).toBe(200);
    expect(sim.calls().map((c) => c.api)).toEqual(['token', 'machines']);
  });
});

describe('the token of an exchange', () => {
  const scope = () => loadConfig(sim.env()).tokenScope;
  const get = () => ({ method: 'GET', path: `/api/machines/${machineId()}` }) as const;
  const clientAt = (clock: { now: () => number }, counted: JsonClientCredential) =>
    new JsonClient({ baseUrl: sim.baseUrl, scope: scope(), credential: counted, timeoutMs: 2_000, clock });

  /** The real credential's tokens, asked count noted, with the expiry and refresh time `times` gives. */
  function counting(times: () => { expiresOnTimestamp: number; refreshAfterTimestamp?: number }) {
    const counted = { asked: 0 };
    const stub: JsonClientCredential = {
      getToken: async (scopes) => {
        counted.asked += 1;
        const token = await credential.getToken(scopes);
        return token && { token: token.token, ...times() };
      },
    };
    return { counted, stub };
  }

  it('is asked of the credential once until its refresh time, and again from then', async () => {
    let now = Date.parse('2026-01-01T00:00:00Z');
    const { counted, stub } = counting(() => ({
      expiresOnTimestamp: now + 60 * 60_000,
      refreshAfterTimestamp: now + 30 * 60_000,
    }));
    const client = clientAt({ now: () => now }, stub);
    expect((await client.exchange(get())).status).toBe(200);
    now += 30 * 60_000 - 1;
    expect((await client.exchange(get())).status).toBe(200);
    expect(counted.asked).toBe(1);
    now += 1;
    expect((await client.exchange(get())).status).toBe(200);
    expect(counted.asked).toBe(2);
  });

  it('is asked of the credential again from the renewal margin before its expiry, when it names no refresh time', async () => {
    let now = Date.parse('2026-01-01T00:00:00Z');
    const { counted, stub } = counting(() => ({ expiresOnTimestamp: now + TOKEN_RENEWAL_MARGIN_MS + 1_000 }));
    const client = clientAt({ now: () => now }, stub);
    await client.exchange(get());
    now += 999;
    await client.exchange(get());
    expect(counted.asked).toBe(1);
    now += 1;
    await client.exchange(get());
    expect(counted.asked).toBe(2);
  });

  it('is asked of the credential again after a token past every cache was fetched, and then held', async () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    const { counted, stub } = counting(() => ({ expiresOnTimestamp: now + 60 * 60_000 }));
    const client = clientAt({ now: () => now }, stub);
    await client.exchange(get());
    // Without getFreshToken, the fetch past every cache is a getToken too.
    await client.exchange(get(), 'identity-endpoint');
    expect(counted.asked).toBe(2);
    await client.exchange(get());
    await client.exchange(get());
    expect(counted.asked).toBe(3);
  });

  it('is never held from a cache fetch under way when a fetch past every cache began', async () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    let answer: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (answer = resolve));
    const { counted, stub } = counting(() => ({ expiresOnTimestamp: now + 60 * 60_000 }));
    const slowFirst: JsonClientCredential = {
      getToken: async (scopes) => {
        if (counted.asked === 0) await gate;
        return stub.getToken(scopes);
      },
      getFreshToken: async () => credential.getToken(scope()),
    };
    const client = clientAt({ now: () => now }, slowFirst);
    const before = client.exchange(get());
    const fresh = client.exchange(get(), 'identity-endpoint');
    await fresh;
    answer();
    await before;
    expect(counted.asked).toBe(1);
    // The token handed out while the fresh one was fetched may be the one MDE refused: asked again.
    await client.exchange(get());
    expect(counted.asked).toBe(2);
    await client.exchange(get());
    expect(counted.asked).toBe(2);
  });
  it('is never held from a cache fetch begun while a fetch past every cache was under way', async () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    let answerFresh: () => void = () => undefined;
    const freshGate = new Promise<void>((resolve) => (answerFresh = resolve));
    const { counted, stub } = counting(() => ({ expiresOnTimestamp: now + 60 * 60_000 }));
    const slowFresh: JsonClientCredential = {
      getToken: stub.getToken,
      getFreshToken: async () => {
        await freshGate;
        return credential.getToken(scope());
      },
    };
    const client = clientAt({ now: () => now }, slowFresh);
    const fresh = client.exchange(get(), 'identity-endpoint');
    // The credential's cache may still hand out the refused token while the new one is fetched.
    await client.exchange(get());
    answerFresh();
    await fresh;
    await client.exchange(get());
    expect(counted.asked).toBe(2);
    await client.exchange(get());
    expect(counted.asked).toBe(2);
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
