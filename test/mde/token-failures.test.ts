/**
 * The token path when the identity endpoint misbehaves: it never answers, or it answers an error
 * whose body quotes something secret-looking. A user-assigned identity keeps @azure/identity on the
 * managed identity alone (no developer-login fallbacks), as in Azure with AZURE_CLIENT_ID.
 */
import { loadConfig } from '../../shared/config';
import { createMdeClient } from '../../shared/mde/client';
import { createCredential } from '../../shared/mde/credential';
import { TransientError } from '../../shared/mde/errors';
import type { RunningSimulator } from '../../simulator/index';
import {
  LEAK_MARKERS,
  LEAKY_IDENTITY_BODY,
  USER_ASSIGNED_IDENTITY,
  USER_ASSIGNED_ROLES,
} from '../support/identity';
import { startSimulatorWithIdentity } from '../support/simulator';
import { failure } from './failure';

let sim: RunningSimulator;

const config = (timeoutMs: number) => ({
  ...loadConfig({ MDE_API_URL: sim.baseUrl, AZURE_CLIENT_ID: USER_ASSIGNED_IDENTITY }),
  requestTimeoutMs: timeoutMs,
});
const client = (timeoutMs = 5_000) =>
  createMdeClient(config(timeoutMs), { credential: createCredential(config(timeoutMs)) });
const machineId = () => sim.machines()[0].id;
const callLog = () => sim.calls().map((c) => `${c.api} ${c.status}`);

beforeAll(async () => {
  sim = await startSimulatorWithIdentity({
    userAssignedIdentities: USER_ASSIGNED_ROLES,
  });
});
afterAll(() => sim.close());
beforeEach(() => sim.resetCalls());
afterEach(() => sim.setIdentityFault(null));

// No token is cached in this file before the first two run: both reach the identity endpoint, and
// the one a lifted hang finally answers lands in the cache only after them.
it('keeps a fixed message and the error class, never the identity endpoint’s answer', async () => {
  sim.setIdentityFault({ kind: 'error', status: 400, body: LEAKY_IDENTITY_BODY });
  const error = await failure(client().isolate(machineId(), 'c', 'Full'));
  expect(error).toMatchObject({ kind: 'transient', transientCause: 'token-unavailable' });
  const said = `${(error as Error).message} ${JSON.stringify(error)}`;
  expect(said).toMatch(/\(CredentialUnavailableError;/);
  for (const marker of LEAK_MARKERS) expect(said).not.toContain(marker);
  expect(callLog()).toEqual(['token 400']);
});

it('fails as transient within the request deadline when the identity endpoint never answers', async () => {
  sim.setIdentityFault({ kind: 'hang' });
  const impatient = client(300);
  const errors = await Promise.all([1, 2, 3, 4].map(() => failure(impatient.getMachine(machineId()))));
  const [error] = errors;
  expect(error).toBeInstanceOf(TransientError);
  for (const other of errors) expect(other).toMatchObject({ transientCause: 'token-unavailable' });
  expect(error).toMatchObject({
    kind: 'transient',
    transientCause: 'token-unavailable',
    mayHaveExecuted: false,
    message: expect.stringContaining('did not answer within 300 ms'),
  });
  // The identity endpoint was asked once for the four requests (one held connection), MDE never.
  expect(callLog()).toEqual(['token null']);
});

it('bounds the fresh-token fetch after a 401 by the same deadline', async () => {
  await client().getMachine(machineId());
  sim.revokeTokens();
  sim.setIdentityFault({ kind: 'hang' });
  sim.resetCalls();
  const impatient = client(300);
  const errors = await Promise.all([1, 2, 3].map(() => failure(impatient.getMachine(machineId()))));
  for (const error of errors)
    expect(error).toMatchObject({ kind: 'transient', transientCause: 'token-unavailable' });
  // Each request's 401, and one fetch past the cache that all three waited for.
  expect(callLog().sort()).toEqual(['machines 401', 'machines 401', 'machines 401', 'token null']);
});
