/**
 * What intake costs the open-request table, counted by a proxy in front of a real Azurite
 * (test/support/table-transaction-tables.counter.ts): a late alert (its device's request ended) is queued
 * on the copy of the key's entry this process holds, without reading it first; the key's opening
 * after the send is the conditional write that meets another process's entry. The dispatcher's
 * queue records what is sent and runs no worker, and its MDE client throws: intake calls no API.
 */

import { parseRateLimits } from '../../shared/config';
import { Dispatcher } from '../../shared/dispatch/dispatcher';
import { MdeThrottle } from '../../shared/dispatch/quota/throttle';
import type { ActionRequest } from '../../shared/dispatch/request';
import type { SubmittedRequest } from '../../shared/dispatch/sink';
import { closeStep, openAfterQueueingStep } from '../../shared/dispatch/steps/coalesce';
import type { QueueMessage, RequestQueue } from '../../shared/dispatch/transport/queue';
import { receiveAlerts } from '../../shared/intake/receive-alerts';
import type { MdeApi } from '../../shared/mde/api';
import { loadPolicy } from '../../shared/policy/load';
import { mdeAlert } from '../support/alert-payloads';
import { useCountedAzurite } from '../support/counted-azurite';
import { handClock } from '../support/hand-clock';

const MACHINE = 'a'.repeat(40);
const POLICY = loadPolicy(
  {
    kind: 'inline',
    text: JSON.stringify({
      version: 'intake-transactions-1',
      mode: 'enforce',
      rules: [{ name: 'isolate-all', minSeverity: 'low', action: 'isolate', isolationType: 'Full' }],
      defaultAction: 'skip',
      blastRadius: { maxDevicesPerAlert: 10, maxIsolations: 100, windowMinutes: 60 },
    }),
  },
  null,
);

const tables = useCountedAzurite('i');

/** Intake over a Table store of its own tables, sending into `sent`. */
async function intake() {
  const prefix = tables.freshPrefix();
  const clock = handClock();
  const store = tables.storeOn(prefix, { clock });
  const sibling = tables.storeOn(prefix, { clock });
  const sent: QueueMessage[] = [];
  const queue: RequestQueue = {
    send: async (message) => {
      sent.push(message);
      return { duplicate: false };
    },
    schedule: async () => null,
    cancelScheduled: async () => false,
    bringForward: async () => false,
    deadLetter: async () => undefined,
    close: async () => undefined,
  };
  const api = new Proxy({} as MdeApi, {
    get: (_target, name) => {
      throw new Error(`intake called MDE (${String(name)})`);
    },
  });
  const throttle = new MdeThrottle({ rateLimits: parseRateLimits('100/60s'), headroom: 0, clock });
  const dispatcher = new Dispatcher({
    api,
    policy: POLICY,
    queue,
    throttle,
    store,
    reporter: { outcome: () => undefined, note: () => undefined },
  });
  const receive = async () => {
    const result = await receiveAlerts([mdeAlert({ machineId: MACHINE })], {
      policy: POLICY,
      sink: dispatcher,
      log: () => undefined,
    });
    const [request] = result.alerts[0]?.status === 'accepted' ? result.alerts[0].requests : [];
    if (!request) throw new Error(`the alert was not accepted: ${JSON.stringify(result.alerts[0])}`);
    return request;
  };
  /** The request's key closed, as its ending closes it, by the process that holds it. */
  const end = ({ deviceKey, requestId }: SubmittedRequest) =>
    store.openRequests.update(deviceKey, closeStep(requestId, clock.now()));
  const openTable = () => tables.on(prefix, 'Open');
  const close = async () => {
    dispatcher.close();
    await throttle.stop();
  };
  return { store, sibling, clock, sent, receive, end, openTable, close };
}

describe("intake's open-request transactions", () => {
  it('queues a late alert and opens its key with one conditional write, reading nothing', async () => {
    const { store, sent, receive, end, openTable, close } = await intake();
    try {
      const first = await receive();
      await end(first);
      tables.counter.reset();
      const late = await receive();
      expect(late.duplicate).toBe(false);
      expect(sent.map((m) => m.body.requestId)).toEqual([first.requestId, late.requestId]);
      // Before: a read of the closed entry this process had just written, then the write.
      expect(openTable()).toEqual({ PUT: 1 });
      expect(await store.openRequests.get(first.deviceKey)).toMatchObject({
        requestId: late.requestId,
        closedAt: null,
      });
    } finally {
      await close();
    }
  });

  it("a copy gone stale under another process's opening still queues the alert, and never overwrites that entry", async () => {
    const { sibling, clock, sent, receive, end, close } = await intake();
    try {
      const first = await receive();
      await end(first);
      // Another process opens the key for its own request, held by its live lease.
      const holding = { holder: 'sibling-process', heldUntil: clock.now() + 60_000 };
      await sibling.holders.renew(holding.holder, holding.heldUntil);
      const theirs = { ...(sent[0].body as ActionRequest), requestId: 'req-sibling' };
      await sibling.openRequests.update(first.deviceKey, openAfterQueueingStep(theirs, clock.now(), holding));
      const late = await receive();
      // Queued (the worker's claim decides it: absorbed or behind), not absorbed on a stale copy.
      expect(late.duplicate).toBe(false);
      expect(sent.map((m) => m.body.requestId)).toEqual([first.requestId, late.requestId]);
      expect(await sibling.openRequests.get(first.deviceKey)).toMatchObject({
        requestId: 'req-sibling',
        holder: 'sibling-process',
        closedAt: null,
      });
    } finally {
      await close();
    }
  });
});
