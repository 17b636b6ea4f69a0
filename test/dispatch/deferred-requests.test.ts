/**
 * Deferred requests brought forward: the real throttle's waiting lines, the in-process queue and a
 * hand clock that never moves unless the test says so, so a message delivered before its scheduled
 * time can only have been brought forward.
 */
import { parseRateLimits } from '../../shared/config';
import { DeferredRequests } from '../../shared/dispatch/deferred-requests';
import { Reservation } from '../../shared/dispatch/quota/reservation';
import { MdeThrottle } from '../../shared/dispatch/quota/throttle';
import type { IsolationRequest } from '../../shared/dispatch/request';
import { InProcessQueue } from '../../shared/dispatch/transport/in-process-queue';
import type { QueueMessage } from '../../shared/dispatch/transport/queue';
import { type HandClock, handClock } from '../support/hand-clock';
import { recordingReporter } from '../support/reporter';
import { timerTurns } from '../support/timer-turns';

const WINDOW_MS = 60_000;

function message(messageId: string): QueueMessage {
  return { messageId, body: {} as IsolationRequest, applicationProperties: {} };
}

describe('deferred requests come forward when budget frees before their time', () => {
  let clock: HandClock;
  let throttle: MdeThrottle;
  let queue: InProcessQueue;
  let deferred: DeferredRequests;
  let delivered: string[];

  beforeEach(() => {
    clock = handClock();
    // One lookup a minute: a second request waits a window, a third two.
    throttle = new MdeThrottle({ rateLimits: parseRateLimits(`1/${WINDOW_MS}ms`), headroom: 0, clock });
    queue = new InProcessQueue({ clock });
    deferred = new DeferredRequests(queue, throttle, clock, recordingReporter().reporter);
    delivered = [];
    queue.start(async (m) => {
      delivered.push(m.messageId);
    });
  });
  afterEach(async () => {
    deferred.close();
    await queue.close();
    await throttle.stop();
  });

  /** Asks the throttle for one lookup as `requestId`; refused, its message waits until then. */
  async function deferIfShort(requestId: string): Promise<Reservation | number> {
    const answer = throttle.reserve({ machines: 1 }, 1, requestId);
    if (answer instanceof Reservation) return answer;
    await queue.schedule(message(requestId), new Date(answer.retryAt));
    deferred.hold(requestId, requestId, answer.retryAt);
    return answer.retryAt;
  }

  it('delivers a deferred request at once when a reservation ahead gives its call back unused', async () => {
    const start = clock.now();
    const first = await deferIfShort('first');
    expect(first).toBeInstanceOf(Reservation);
    expect(await deferIfShort('second')).toBeGreaterThan(start + WINDOW_MS);
    await timerTurns(20);
    expect(delivered).toEqual([]);
    // The first request ended without its lookup (a cached machine, a skip).
    (first as Reservation).close();
    await timerTurns(20);
    expect(delivered).toEqual(['second']);
    expect(clock.now()).toBe(start);
  });

  it('delivers the request behind when one ahead leaves the line without being served', async () => {
    const start = clock.now();
    const first = (await deferIfShort('first')) as Reservation;
    await first.call('machines', async () => 'looked up');
    first.close();
    const secondAt = (await deferIfShort('second')) as number;
    const thirdAt = (await deferIfShort('third')) as number;
    expect(thirdAt).toBeGreaterThan(secondAt + WINDOW_MS - 1);
    // The first window ends: the second request's time comes and it is delivered.
    clock.advance(secondAt - start);
    queue.wake();
    await timerTurns(20);
    expect(delivered).toEqual(['second']);
    // It ends without calling (absorbed by another request): the third may have its slot now.
    throttle.forget('second');
    await timerTurns(20);
    expect(delivered).toEqual(['second', 'third']);
    expect(clock.now()).toBeLessThan(thirdAt);
  });

  it('leaves a request whose slot is still taken at its time', async () => {
    expect(await deferIfShort('first')).toBeInstanceOf(Reservation);
    await deferIfShort('second');
    await deferIfShort('third');
    // The second leaves the line, but the first still holds the window's one call.
    throttle.forget('second');
    await timerTurns(20);
    expect(delivered).toEqual([]);
  });
});
