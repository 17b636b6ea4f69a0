/**
 * The worker when the app's identity fails: MDE keeps refusing its token (401), or the identity
 * endpoint answers errors quoting its own body. A user-assigned identity keeps @azure/identity on the
 * managed identity alone, as in Azure with AZURE_CLIENT_ID.
 */
import { DEFAULT_TIMING } from '../../shared/dispatch/timing';
import { commentMessage } from '../../shared/report/sentinel-comments';
import { mdeAlert } from '../support/alert-payloads';
import {
  LEAK_MARKERS,
  LEAKY_IDENTITY_BODY,
  USER_ASSIGNED_IDENTITY,
  USER_ASSIGNED_ROLES,
} from '../support/identity';
import { type Harness, startHarness } from './harness';

let h: Harness;
beforeAll(async () => {
  h = await startHarness({
    simulator: { userAssignedIdentities: USER_ASSIGNED_ROLES },
    env: { AZURE_CLIENT_ID: USER_ASSIGNED_IDENTITY },
  });
});
afterAll(() => h.close());
afterEach(() => {
  h.sim.refuseTokens(false);
  h.sim.setIdentityFault(null);
});

const tokenCalls = () => h.sim.calls().filter((c) => c.api === 'token').length;

/** Submits an MDE alert about the machine and returns the outcome its request ended with. */
async function outcomeOfAlertOn(machineId: string) {
  const before = h.outcomes.length;
  await h.submit(mdeAlert({ machineId }));
  await h.settle();
  return h.outcomes.slice(before)[0];
}

it('backs off on a 401 that persists, asking for a new token each time, then dead-letters it as Unauthorized', async () => {
  const machineId = h.machineId('ws-finance-01.contoso.local');
  h.sim.refuseTokens(true);
  h.sim.resetCalls();
  const outcome = await outcomeOfAlertOn(machineId);
  expect(outcome).toMatchObject({
    outcome: 'dead-lettered',
    reason: expect.stringMatching(/^Unauthorized: /),
  });
  expect(h.runtime.inline?.deadLetters.at(-1)).toMatchObject({
    reason: 'Unauthorized',
    description: expect.stringContaining('MDE_CLOUD'),
    request: expect.objectContaining({ requestId: outcome.requestId }),
  });
  const retries = h.notes.filter((n) => n.event === 'isolation-retry' && n.requestId === outcome.requestId);
  expect(retries).toHaveLength(DEFAULT_TIMING.transientMaxAttempts - 1);
  // Every attempt's resend asked the identity endpoint, not the cache.
  expect(tokenCalls()).toBeGreaterThanOrEqual(6);
  expect(h.actionsOn(machineId, 'Isolate')).toHaveLength(0);
});

it('never lets the identity endpoint’s answer into outcomes, dead-letter records or incident comments', async () => {
  const machineId = h.machineId('web1.contoso.local');
  // The cached token is revoked, so every attempt asks the identity endpoint, which answers garbage.
  h.sim.revokeTokens();
  h.sim.setIdentityFault({ kind: 'error', status: 400, body: LEAKY_IDENTITY_BODY });
  const outcome = await outcomeOfAlertOn(machineId);
  expect(outcome).toMatchObject({
    outcome: 'dead-lettered',
    // MSAL's class on the fresh-token path; @azure/identity's on the cached one.
    reason: expect.stringMatching(
      /the identity endpoint refused or failed \((ClientAuthError|CredentialUnavailableError);/,
    ),
  });
  const record = h.runtime.inline?.deadLetters.at(-1);
  expect(record).toMatchObject({ reason: 'RetriesExhausted' });
  const texts = [JSON.stringify(outcome), JSON.stringify(record), commentMessage(outcome)];
  for (const text of texts) for (const marker of LEAK_MARKERS) expect(text).not.toContain(marker);
});
