/**
 * A request fresh from intake, or deferred by the throttle before it reserved anything, has posted
 * nothing: its deliveries do not read the action ledger for its own action (steps/resume.ts), and a
 * copy of a request that did reserve still does.
 * Through intake, the in-process queue, the worker and the simulator, with the app's own quota far
 * tighter than MDE's so requests wait for budget.
 */
import type { MdeApi } from '../../shared/mde/api';
import { TransientError } from '../../shared/mde/errors';
import { InMemoryStateStore } from '../../shared/state/memory';
import type { StateStore } from '../../shared/state/store';
import { mdeAlert } from '../support/alert-payloads';
import { type Harness, queuedRequestIds, startHarness } from './harness';

const DOMAIN = 'contoso.local';
const NAMES = ['ws-finance-01', 'ws-hr-02', 'web1'].map((name) => `${name}.${DOMAIN}`);

/** `store` whose ledger counts `forRequest` reads by request id. */
function countingLedgerReads(store: StateStore, reads: Map<string, number>): StateStore {
  const forRequest = store.actions.forRequest.bind(store.actions);
  store.actions.forRequest = (requestId) => {
    reads.set(requestId, (reads.get(requestId) ?? 0) + 1);
    return forRequest(requestId);
  };
  return store;
}

/** `api` whose first isolate POST for `machineId` fails as a 5xx that never reached MDE's list. */
function firstPostFails(machineId: () => string): (api: MdeApi) => MdeApi {
  let failed = false;
  return (api) =>
    Object.assign(Object.create(api) as MdeApi, {
      isolate: (...args: Parameters<MdeApi['isolate']>) => {
        if (failed || args[0] !== machineId()) return api.isolate(...args);
        failed = true;
        const details = { operation: 'isolate', api: 'isolate', status: 503 } as const;
        return Promise.reject(new TransientError('isolate answered 503', details, 'server-error', false));
      },
    });
}

describe('deferred copies and the action ledger', () => {
  let h: Harness;
  const reads = new Map<string, number>();

  async function start(decorateApi?: (api: MdeApi) => MdeApi): Promise<void> {
    reads.clear();
    h = await startHarness({
      // Two calls a second: one isolation's check and POST; the others wait for budget.
      env: { MDE_RATE_LIMITS: '2/1s,300/1h' },
      store: countingLedgerReads(new InMemoryStateStore(), reads),
      decorateApi,
    });
  }

  afterEach(async () => {
    await h.close();
  });

  it('reads no ledger for a request that never reserved, however often the throttle deferred it', async () => {
    await start();
    const result = await h.submit(
      NAMES.map((dnsName) => mdeAlert({ machineId: h.machineId(dnsName), dnsName }, { severity: 'High' })),
    );
    const queued = queuedRequestIds(result);
    expect(queued).toHaveLength(NAMES.length);
    await h.settle();
    for (const requestId of queued) {
      const [outcome] = h.outcomes.filter((o) => o.requestId === requestId);
      expect(outcome).toMatchObject({ outcome: 'succeeded' });
    }
    const deferred = queued.filter((id) => (h.outcomes.find((o) => o.requestId === id)?.deferrals ?? 0) > 0);
    // The case under test happened: requests waited for budget, some more than once.
    expect(deferred.length).toBeGreaterThan(0);
    for (const requestId of queued) expect(reads.get(requestId)).toBeUndefined();
  });

  it('reads it once a deferred request reserved: its copy after a failed POST may follow its own action', async () => {
    // The last device's request waits for budget behind the others (its copies skip the ledger), then
    // reserves, and its POST fails: the copy queued after that must read the ledger.
    const last = () => h.machineId(NAMES[NAMES.length - 1]);
    await start(firstPostFails(last));
    const result = await h.submit(
      NAMES.map((dnsName) => mdeAlert({ machineId: h.machineId(dnsName), dnsName }, { severity: 'High' })),
    );
    const requestId = queuedRequestIds(result)[NAMES.length - 1];
    await h.settle();
    expect(h.outcomes.filter((o) => o.requestId === requestId)).toEqual([
      expect.objectContaining({ outcome: 'succeeded' }),
    ]);
    // The case under test happened: a copy deferred for budget, then a retry after the failed POST.
    const events = h.notes.filter((n) => n.requestId === requestId).map((n) => n.event);
    expect(events.indexOf('isolation-deferred')).toBeGreaterThanOrEqual(0);
    expect(events.indexOf('isolation-retry')).toBeGreaterThan(events.indexOf('isolation-deferred'));
    expect(reads.get(requestId)).toBe(1);
  });
});
