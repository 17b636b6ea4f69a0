/**
 * A queue message whose ids no step can use (a tracking request naming no machine action, a request
 * naming no device, a request id no storage key can hold) is decided once: one dead-letter record with
 * its reason, no outcome, no retry, however many times the queue would deliver it.
 */
import type { IsolationRequest, TrackedAction } from '../../shared/dispatch/request';
import { type Harness, isolateRequest, startHarness } from './harness';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(() => h.close());

const tracking = (machineId: string, changes: Partial<TrackedAction>): TrackedAction => ({
  actionId: '00000000-0000-4000-8000-000000000001',
  action: 'isolate',
  machineId,
  computerDnsName: null,
  postedAt: new Date().toISOString(),
  adopted: false,
  polls: 0,
  ...changes,
});

type Malformed = (request: IsolationRequest, machineId: string) => Record<string, unknown>;

const CASES: [string, Malformed, RegExp][] = [
  [
    'a tracking request naming no MDE machine',
    (r, id) => ({ ...r, action: 'track', tracking: tracking(id, { machineId: 'ws1.contoso.local' }) }),
    /tracking\.machineId is not an MDE machine id/,
  ],
  [
    'a tracking request naming no machine action',
    (r, id) => ({ ...r, action: 'track', tracking: tracking(id, { actionId: '../actions' }) }),
    /tracking\.actionId is not a machine action id/,
  ],
  [
    'a tracking request without a posting time',
    (r, id) => ({ ...r, action: 'track', tracking: tracking(id, { postedAt: 'yesterday' }) }),
    /tracking\.postedAt is not a time/,
  ],
  ['an isolate request naming no device', (r) => ({ ...r, device: {} }), /device names no identifier/],
  ['a request id with a slash', (r) => ({ ...r, requestId: 'req/1' }), /requestId is not 1 to 40 characters/],
  [
    'a request id too long',
    (r) => ({ ...r, requestId: 'r'.repeat(41) }),
    /requestId is not 1 to 40 characters/,
  ],
];

it.each(CASES)(
  '%s is dead-lettered once with its reason, and ends no request',
  async (name, malformed, why) => {
    const queue = h.runtime.inline;
    if (!queue) throw new Error('the harness runs inline');
    const machineId = h.sim.machines()[0].id;
    const body = malformed(isolateRequest(h, { mdeDeviceId: machineId }), machineId);
    const outcomes = h.outcomes.length;
    const deadLetters = queue.deadLetters.length;
    const delivered = queue.stats.delivered;
    await queue.send({
      messageId: `malformed-${CASES.findIndex(([n]) => n === name)}`,
      body: body as unknown as IsolationRequest,
      applicationProperties: {},
    });
    await h.settle();
    expect(queue.deadLetters.slice(deadLetters)).toEqual([
      expect.objectContaining({
        reason: 'InvalidMessage',
        description: expect.stringMatching(why),
        request: body,
      }),
    ]);
    expect(queue.stats.delivered - delivered).toBe(1);
    expect(h.outcomes.slice(outcomes)).toEqual([]);
  },
);
