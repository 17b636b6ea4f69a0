/**
 * The batched pre-POST history check against the simulator: the recent isolate and release actions
 * of many machines from one call, each machine answered with its own actions only, read after the ask.
 */
import { loadConfig, parseRateLimits } from '../../shared/config';
import { Reservation } from '../../shared/dispatch/quota/reservation';
import { MdeThrottle } from '../../shared/dispatch/quota/throttle';
import { DEFAULT_PLATFORM_LIFT_MS } from '../../shared/dispatch/steps/expiry';
import { judgePriorActions } from '../../shared/dispatch/steps/idempotency';
import { READ_ENOUGH, RecentActions } from '../../shared/dispatch/steps/recent-actions';
import { systemClock } from '../../shared/kernel/clock';
import type { MdeApi } from '../../shared/mde/api';
import { createMdeClient } from '../../shared/mde/client';
import { createCredential } from '../../shared/mde/credential';
import type { RunningSimulator } from '../../simulator';
import { handClock } from '../support/hand-clock';
import { startSimulatorWithIdentity } from '../support/simulator';
import { timerTurn, timerTurns } from '../support/timer-turns';

let sim: RunningSimulator;
let api: MdeApi;
let ids: string[];

beforeAll(async () => {
  sim = await startSimulatorWithIdentity({
    fleet: { curated: false, generate: 6, offlineShare: 0 },
    // Long enough that every action is still Pending when read.
    lifecycle: { pendingMs: 600_000, inProgressMs: 600_000 },
  });
  const config = loadConfig({ MDE_API_URL: sim.baseUrl, MDE_REQUEST_TIMEOUT_MS: '5000' });
  api = createMdeClient(config, { credential: createCredential(config) });
  ids = sim.machines().map((m) => m.id);
  // Machine 0 has an isolation under way, machine 1 a release; the others nothing.
  await api.isolate(ids[0], 'test isolation', 'Full');
  await api.release(ids[1], 'test release');
});
afterAll(() => sim.close());

/** Requests wait for the isolate quota: reads gather company. */
const waiting = () => true;

const historyCalls = (from: number) =>
  sim
    .calls()
    .slice(from)
    .filter((c) => c.api === 'machineactions');

describe('the recent actions of many machines from one call', () => {
  it('answers every machine asked for at once with one call, each with its own actions', async () => {
    const recent = new RecentActions(api, systemClock, 0, waiting);
    const from = sim.calls().length;
    const histories = await Promise.all(ids.map((id) => recent.of(id.toUpperCase())));
    const calls = historyCalls(from);
    expect(calls).toHaveLength(1);
    const filter = new URL(calls[0].path, 'http://x').searchParams.get('$filter') ?? '';
    for (const id of ids) expect(filter).toContain(`machineId eq '${id}'`);
    expect(filter).toContain("(type eq 'Isolate' or type eq 'Unisolate') and creationDateTimeUtc ge ");

    // Today's per-machine rules on the batched answer: adopt the own kind, refuse the opposite one,
    // post where nothing is under way, and never borrow another machine's actions.
    const judged = histories.map(
      (h) =>
        judgePriorActions('isolate', h ?? [], { now: Date.now(), platformLiftMs: DEFAULT_PLATFORM_LIFT_MS })
          .kind,
    );
    expect(judged).toEqual(['adopt', 'conflict', 'post', 'post', 'post', 'post']);
    expect(histories[0]?.every((a) => a.machineId === ids[0])).toBe(true);
    expect(
      judgePriorActions('release', histories[1] ?? [], {
        now: Date.now(),
        platformLiftMs: DEFAULT_PLATFORM_LIFT_MS,
      }).kind,
    ).toBe('adopt');
  });

  it('never answers from a read sent before the ask', async () => {
    const recent = new RecentActions(api, systemClock, 0, waiting);
    await recent.of(ids[2]);
    const from = sim.calls().length;
    await recent.of(ids[2]);
    expect(historyCalls(from)).toHaveLength(1);
  });

  it('asks while a read is under way: waits for the next read, which carries all who waited', async () => {
    const recent = new RecentActions(api, systemClock, 0, waiting);
    const from = sim.calls().length;
    const first = recent.of(ids[0]);
    // Sent one event-loop turn later (no gathering time): these ask while it is under way.
    await new Promise((resolve) => setImmediate(resolve));
    const later = Promise.all([recent.of(ids[3]), recent.of(ids[4])]);
    await Promise.all([first, later]);
    const calls = historyCalls(from).map(
      (c) => new URL(c.path, 'http://x').searchParams.get('$filter') ?? '',
    );
    expect(calls).toHaveLength(2);
    expect(calls[0]).not.toContain(ids[3]);
    expect(calls[1]).toContain(ids[3]);
    expect(calls[1]).toContain(ids[4]);
  });

  it('sends the first read at once, and the next no sooner than its gathering time after it', async () => {
    const recent = new RecentActions(api, systemClock, 50, waiting);
    await recent.of(ids[2]);
    const from = sim.calls().length;
    const first = recent.of(ids[0]);
    // Asked after the next read began to gather: it joins, since the read waits out its time.
    await new Promise((resolve) => setImmediate(resolve));
    await Promise.all([first, recent.of(ids[3])]);
    const calls = historyCalls(from);
    expect(calls).toHaveLength(1);
    expect(calls[0].path).toContain(ids[3]);
  });

  it('sends a read at once when enough machines wait, without waiting out its gathering time', async () => {
    // A gathering time no test waits for: only a full read is sent in time.
    const recent = new RecentActions(api, systemClock, 3_600_000, waiting);
    await recent.of(ids[5]);
    const from = sim.calls().length;
    // Machines MDE does not know answer with no actions, like any without history.
    const machines = Array.from({ length: READ_ENOUGH }, (_, i) => i.toString(16).padStart(40, 'a'));
    await Promise.all(machines.map((id) => recent.of(id)));
    expect(historyCalls(from)).toHaveLength(1);
  });

  describe('waiting for company only while requests wait for an isolate slot that frees soon', () => {
    /**
     * A throttle on a hand clock that never moves: a read sent at all was sent without waiting. The
     * previous read was sent just now: the next one would wait its gathering time, five hours unless
     * given; the quota's window is two.
     */
    function throttleOnHold(gatherMs = 18_000_000) {
      const clock = handClock();
      const throttle = new MdeThrottle({ rateLimits: parseRateLimits('1/2h'), headroom: 0, clock });
      const recent = new RecentActions(api, clock, gatherMs, () =>
        throttle.contendedFreeingWithin('isolate', gatherMs),
      );
      return { clock, throttle, recent };
    }

    it("sends a lone request's read at once, with nobody waiting for the isolate quota", async () => {
      const { clock, throttle, recent } = throttleOnHold();
      const start = clock.now();
      await recent.of(ids[2]);
      const from = sim.calls().length;
      let answered = false;
      const lone = recent.of(ids[3]).then((history) => {
        answered = true;
        return history;
      });
      for (let turn = 0; turn < 2_000 && !answered; turn += 1) await timerTurn();
      expect(answered).toBe(true);
      expect(await lone).toEqual([]);
      expect(historyCalls(from)).toHaveLength(1);
      expect(clock.now()).toBe(start);
      await throttle.stop();
    });

    it('holds the read for company while a request waits for an isolate slot', async () => {
      const { throttle, recent } = throttleOnHold();
      expect(throttle.reserve({ isolate: 1 }, 1, 'posting')).toBeInstanceOf(Reservation);
      expect(throttle.reserve({ isolate: 1 }, 1, 'waiting')).toEqual({ retryAt: expect.any(Number) });
      await recent.of(ids[2]);
      const from = sim.calls().length;
      const held = recent.of(ids[3]);
      await timerTurns(50);
      expect(historyCalls(from)).toHaveLength(0);
      // Company comes: a full read is sent at once, the held machine in it.
      const machines = Array.from({ length: READ_ENOUGH - 1 }, (_, i) => i.toString(16).padStart(40, 'b'));
      await Promise.all([held, ...machines.map((id) => recent.of(id))]);
      expect(historyCalls(from)).toHaveLength(1);
      expect(historyCalls(from)[0].path).toContain(ids[3]);
      await throttle.stop();
    });

    it('sends the read at once when the isolate window stays full longer than its gathering time', async () => {
      // The window's last slot is taken and the next frees in two hours: nobody can join a read
      // gathering for an hour, so the requests holding a slot post now, not an hour late.
      const { throttle, recent } = throttleOnHold(3_600_000);
      expect(throttle.reserve({ isolate: 1 }, 1, 'posting')).toBeInstanceOf(Reservation);
      expect(throttle.reserve({ isolate: 1 }, 1, 'waiting')).toEqual({ retryAt: expect.any(Number) });
      await recent.of(ids[2]);
      const from = sim.calls().length;
      let answered = false;
      const read = recent.of(ids[3]).then((history) => {
        answered = true;
        return history;
      });
      for (let turn = 0; turn < 2_000 && !answered; turn += 1) await timerTurn();
      expect(answered).toBe(true);
      expect(await read).toEqual([]);
      expect(historyCalls(from)).toHaveLength(1);
      await throttle.stop();
    });
  });

  it('refuses to answer for a machine with too many actions to see them all', async () => {
    const recent = new RecentActions(api, systemClock, 0, waiting, 1);
    expect(await Promise.all([recent.of(ids[0]), recent.of(ids[2])])).toEqual([null, []]);
  });
});
