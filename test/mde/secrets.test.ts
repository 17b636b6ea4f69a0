import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { inspect } from 'node:util';
import type { AccessToken } from '@azure/identity';
import { DEFAULT_RATE_LIMITS, loadConfig } from '../../shared/config';
import { createMdeClient } from '../../shared/mde/client';
import { type AppCredential, createCredential } from '../../shared/mde/credential';
import { isMdeApiError } from '../../shared/mde/errors';
import { type RunningSimulator, startSimulator } from '../../simulator/index';
import { startSimulatorWithIdentity } from '../support/simulator';
import { failure } from './failure';

let sim: RunningSimulator;
/** Every access token handed to the client in this file: none may appear in an error it throws. */
const servedTokens = new Set<string>();

const config = (overrides: Partial<ReturnType<typeof loadConfig>> = {}) => ({
  ...loadConfig({ MDE_API_URL: sim.baseUrl, MDE_REQUEST_TIMEOUT_MS: '5000' }),
  ...overrides,
});

/** The real managed identity credential, noting the tokens it hands out. */
function recording(real: AppCredential): AppCredential {
  const noted = (token: AccessToken | null) => {
    if (token) servedTokens.add(token.token);
    return token;
  };
  return {
    getToken: async (scopes, options) => noted(await real.getToken(scopes, options)),
    getFreshToken: async (scope) => noted(await real.getFreshToken(scope)),
  };
}

/** Every string reachable from the error: own properties (enumerable or not), `cause` chain, JSON, inspect. */
function everythingSaidBy(error: unknown): string {
  const seen = new Set<unknown>();
  const texts: string[] = [];
  const walk = (value: unknown, depth: number) => {
    if (depth > 12 || value === null || value === undefined) return;
    if (typeof value === 'string') {
      texts.push(value);
      return;
    }
    if (typeof value !== 'object' && typeof value !== 'function') return;
    if (seen.has(value)) return;
    seen.add(value);
    for (const key of Reflect.ownKeys(value)) {
      const descriptor = Object.getOwnPropertyDescriptor(value, key);
      if (descriptor && 'value' in descriptor) walk(descriptor.value, depth + 1);
    }
  };
  walk(error, 0);
  texts.push(JSON.stringify(error) ?? '');
  texts.push(inspect(error, { depth: 12, showHidden: true }));
  texts.push(String(error));
  return texts.join('\n');
}

function expectNoSecrets(error: unknown): void {
  expect(isMdeApiError(error)).toBe(true);
  const said = everythingSaidBy(error);
  for (const token of servedTokens) expect(said).not.toContain(token);
  expect(said).not.toContain(sim.identityHeader);
  expect(said).not.toMatch(/Bearer\s+\S/);
}

beforeAll(async () => {
  sim = await startSimulatorWithIdentity({ lifecycle: { pendingMs: 60_000 } });
  // Every test then has at least the token of this file's identity to look for.
  await recording(createCredential(config())).getToken(config().tokenScope);
  expect(servedTokens.size).toBe(1);
});
afterAll(() => sim.close());
afterEach(() => {
  sim.setFaults({});
  sim.setRateLimits(DEFAULT_RATE_LIMITS);
});

const client = (overrides: Partial<ReturnType<typeof loadConfig>> = {}) =>
  createMdeClient(config(overrides), { credential: recording(createCredential(config())) });
const machineId = () => sim.machines()[0].id;

describe('errors never carry the bearer token or the identity secret', () => {
  it('on a timeout', async () => {
    sim.setFaults({ latencyMs: 1_000, apis: ['machines'] });
    const error = await failure(client({ requestTimeoutMs: 100 }).getMachine(machineId()));
    expect(error).toMatchObject({ kind: 'transient', transientCause: 'timeout' });
    expectNoSecrets(error);
  });

  it('on a dropped connection, for a POST', async () => {
    sim.setFaults({ dropRate: 1 });
    const error = await failure(client().isolate(machineId(), 'c', 'Full'));
    expect(error).toMatchObject({ kind: 'transient', transientCause: 'connection-reset' });
    expectNoSecrets(error);
  });

  it('on a refused connection', async () => {
    const gone = await startSimulator({ fleet: { curated: false } });
    await gone.close();
    const error = await failure(client({ apiBaseUrl: gone.baseUrl }).getMachine(machineId()));
    expect(error).toMatchObject({ transientCause: 'connection-refused' });
    expectNoSecrets(error);
  });

  it('on HTTP error answers (5xx, 429, 404, 403, 401)', async () => {
    sim.setFaults({ serverErrorRate: 1 });
    expectNoSecrets(await failure(client().getMachine(machineId())));
    sim.setFaults({});
    sim.setRateLimits('1/60s');
    await client().listMachineActions({ top: 1 });
    expectNoSecrets(await failure(client().listMachineActions({ top: 1 })));
    expectNoSecrets(await failure(client().getMachine('f'.repeat(40))));
    expectNoSecrets(
      await failure(client({ tokenScope: 'https://graph.microsoft.com/.default' }).getMachine(machineId())),
    );
    sim.refuseTokens(true);
    try {
      expectNoSecrets(await failure(client().getMachine(machineId())));
    } finally {
      sim.refuseTokens(false);
    }
  });

  it('when the identity endpoint refuses to issue a token', async () => {
    const unknownIdentity = createMdeClient(config(), {
      credential: createCredential(
        config({ managedIdentityClientId: '99999999-9999-4999-8999-999999999999' }),
      ),
    });
    const error = await failure(unknownIdentity.getMachine(machineId()));
    expect(error).toMatchObject({ kind: 'transient', transientCause: 'token-unavailable' });
    expectNoSecrets(error);
  });
});

describe('per-request deadline', () => {
  let drip: Server;
  let dripUrl: string;
  const staticToken: AccessToken = {
    token: 'drip-test-token-value',
    expiresOnTimestamp: Date.now() + 3_600_000,
  };

  beforeAll(async () => {
    // Answers at once, then sends its body one byte every 50 ms for 3 s: never idle long enough for
    // a socket inactivity timer, always longer than the request deadline.
    drip = createServer((_request, response) => {
      response.writeHead(200, { 'content-type': 'application/json' });
      let sent = 0;
      const timer = setInterval(() => {
        if (response.destroyed || ++sent > 60) {
          clearInterval(timer);
          response.end('{"value":[]}');
          return;
        }
        response.write(' ');
      }, 50);
      response.on('close', () => clearInterval(timer));
    });
    await new Promise<void>((resolve) => drip.listen(0, '127.0.0.1', resolve));
    dripUrl = `http://127.0.0.1:${(drip.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    drip.closeAllConnections();
    await new Promise<void>((resolve) => drip.close(() => resolve()));
  });

  it('bounds the whole exchange, not only socket idleness', async () => {
    servedTokens.add(staticToken.token);
    const slow = createMdeClient(config({ apiBaseUrl: dripUrl, requestTimeoutMs: 300 }), {
      credential: { getToken: async () => staticToken, getFreshToken: async () => staticToken },
    });
    const error = await failure(slow.listMachineActions({ top: 1 }));
    expect(error).toMatchObject({ kind: 'transient', transientCause: 'timeout', mayHaveExecuted: false });
    expectNoSecrets(error);
  });
});
