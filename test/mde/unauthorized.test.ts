import { loadConfig } from '../../shared/config';
import { createMdeClient } from '../../shared/mde/client';
import { type AppCredential, createCredential } from '../../shared/mde/credential';
import { UnauthorizedError } from '../../shared/mde/errors';
import type { RunningSimulator } from '../../simulator/index';
import { startSimulatorWithIdentity } from '../support/simulator';
import { failure } from './failure';

let sim: RunningSimulator;

const config = () => loadConfig({ MDE_API_URL: sim.baseUrl });
const apiStatuses = () =>
  sim
    .calls()
    .filter((c) => c.api !== 'token')
    .map((c) => c.status);
/** Every call in order, the identity endpoint's included: `token 200`, `machines 401`, … */
const callLog = () => sim.calls().map((c) => `${c.api} ${c.status}`);

/** A credential whose first token is stale, as after a key rollover; later ones come from the real one. */
function staleFirst(real: AppCredential): AppCredential {
  let served = false;
  return {
    getFreshToken: (scope) => real.getFreshToken(scope),
    getToken: async (scopes, options) => {
      if (served) return real.getToken(scopes, options);
      served = true;
      return {
        token: 'eyJhbGciOiJIUzI1NiJ9.eyJzdGFsZSI6dHJ1ZX0.c3RhbGU',
        expiresOnTimestamp: Date.now() + 60_000,
      };
    },
  };
}

beforeAll(async () => {
  sim = await startSimulatorWithIdentity();
});
afterAll(() => sim.close());
beforeEach(() => sim.resetCalls());

const machineId = () => sim.machines()[0].id;

it('asks the credential again once after a 401 and succeeds, for a GET', async () => {
  const client = createMdeClient(config(), { credential: staleFirst(createCredential(config())) });
  expect((await client.getMachine(machineId())).id).toBe(machineId());
  expect(apiStatuses()).toEqual([401, 200]);
});

it('resends a POST after a 401, creating exactly one action', async () => {
  const client = createMdeClient(config(), { credential: staleFirst(createCredential(config())) });
  const action = await client.isolate(machineId(), 'after refresh', 'Full');
  expect(apiStatuses()).toEqual([401, 201]);
  expect(sim.actions().map((a) => a.id)).toEqual([action.id]);
});

describe('after MDE revoked the cached token', () => {
  afterEach(() => sim.refuseTokens(false));

  it('asks the identity endpoint past the cache, resends, and later calls use the new token', async () => {
    const client = createMdeClient(config(), { credential: createCredential(config()) });
    await client.getMachine(machineId());
    sim.revokeTokens();
    sim.resetCalls();
    expect((await client.getMachine(machineId())).id).toBe(machineId());
    expect(callLog()).toEqual(['machines 401', 'token 200', 'machines 200']);
    sim.resetCalls();
    await client.getMachine(machineId());
    expect(callLog()).toEqual(['machines 200']);
  });

  it('resends a POST with the new token, creating exactly one action', async () => {
    const client = createMdeClient(config(), { credential: createCredential(config()) });
    await client.getMachine(machineId());
    sim.revokeTokens();
    sim.resetCalls();
    const action = await client.isolate(sim.machines()[1].id, 'after revocation', 'Full');
    expect(callLog()).toEqual(['isolate 401', 'token 200', 'isolate 201']);
    expect(sim.actions().filter((a) => a.id === action.id)).toHaveLength(1);
  });

  it('raises UnauthorizedError when the new token is refused too, after one resend', async () => {
    const client = createMdeClient(config(), { credential: createCredential(config()) });
    await client.getMachine(machineId());
    sim.refuseTokens(true);
    sim.resetCalls();
    const error = await failure(client.getMachine(machineId()));
    expect(error).toBeInstanceOf(UnauthorizedError);
    expect(error).toMatchObject({ kind: 'unauthorized', status: 401, code: 'Unauthorized' });
    expect(callLog()).toEqual(['machines 401', 'token 200', 'machines 401']);
  });
});
