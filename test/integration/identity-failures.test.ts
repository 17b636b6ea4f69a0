/**
 * The worker when the app's identity fails: MDE keeps refusing its token (401), or the identity
 * endpoint answers errors quoting its own body. A user-assigned identity keeps @azure/identity on the
 * managed identity alone, as in Azure with AZURE_CLIENT_ID.
 */
import { DEFAULT_TIMING } from '../../shared/dispatch/timing';
import { commentMessage } from '../../shared/report/sentinel-comments';
import { mdeAlert } from '../support/alert-payloads';
import { type Harness, startHarness } from './harness';

const IDENTITY = '0c0ffee0-1111-4222-8333-444444444444';
const LEAKY_BODY =
  '<html><body><h1>Bad Request</h1><script>alert(1)</script>client_secret=Zq8~s3cr3t-LOOKING.value_42</body></html>';
const LEAK_MARKERS = ['s3cr3t', '<html', '<script', 'Bad Request'];

let h: Harness;
beforeAll(async () => {
  h = await startHarness({
    simulator: { userAssignedIdentities: { [IDENTITY]: ['Machine.Isolate', 'Machine.Read.All'] } },
    env: { AZURE_CLIENT_ID: IDENTITY },
  });
});
afterAll(() => h.close());
afterEach(() => {
  h.sim.refuseTokens(false);
  h.sim.setIdentityFault(null);
});

const tokenCalls = () => h.sim.calls().filter((c) => c.api === 'token').length;

it('backs off on a 401 that persists, asking for a new token each time, then dead-letters it as Unauthorized', async () => {
  const machineId = h.machineId('ws-finance-01.contoso.local');
  h.sim.refuseTokens(true);
  h.sim.resetCalls();
  const before = h.outcomes.length;
  await h.submit(mdeAlert({ machineId }));
  await h.settle();

  const [outcome] = h.outcomes.slice(before);
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
  h.sim.setIdentityFault({ kind: 'error', status: 400, body: LEAKY_BODY });
  const before = h.outcomes.length;
  await h.submit(mdeAlert({ machineId }));
  await h.settle();

  const [outcome] = h.outcomes.slice(before);
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
