import type { TokenCredential } from '@azure/identity';
import { loadConfig } from '../../shared/config';
import { createMdeClient } from '../../shared/mde/client';
import { createCredential } from '../../shared/mde/credential';
import { UnauthorizedError } from '../../shared/mde/errors';
import { type RunningSimulator, startSimulator } from '../../simulator/index';
import { useSimulatorEnvironment } from './env';
import { failure } from './failure';

let sim: RunningSimulator;
let restoreEnv: () => void;

const config = () => loadConfig({ MDE_API_URL: sim.baseUrl });
const apiStatuses = () =>
  sim
    .calls()
    .filter((c) => c.api !== 'token')
    .map((c) => c.status);

/** A credential whose first token is stale, as after a key rollover; later ones come from the real one. */
function staleFirst(real: TokenCredential): TokenCredential {
  let served = false;
  return {
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
  sim = await startSimulator();
  restoreEnv = useSimulatorEnvironment(sim.env());
});
afterAll(async () => {
  restoreEnv();
  await sim.close();
});
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

it('raises UnauthorizedError when the refreshed token is refused too', async () => {
  const client = createMdeClient(config(), { credential: createCredential(config()) });
  await client.getMachine(machineId());
  sim.revokeTokens();
  sim.resetCalls();
  const error = await failure(client.getMachine(machineId()));
  expect(error).toBeInstanceOf(UnauthorizedError);
  expect(error).toMatchObject({ kind: 'unauthorized', status: 401, code: 'Unauthorized' });
  // Exactly one refresh: the library's cache still holds the revoked token, and the client stops there.
  expect(apiStatuses()).toEqual([401, 401]);
});
