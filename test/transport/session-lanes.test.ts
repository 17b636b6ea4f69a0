/**
 * SessionLanes, the in-process queue's ready messages by session, under a long run of pushes and
 * shifts in a fixed pseudo-random order: nothing lost or repeated, first-in first-out inside a
 * session, and a session's first item never waits for another session twice.
 */
import { SessionLanes } from '../../shared/dispatch/transport/session-lanes';

interface Item {
  session: string;
  index: number;
}

/** The same sequence on every run (a linear congruential generator). */
function numbers(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
    return state / 2 ** 31;
  };
}

it('hands out every item once, in order inside its session, taking the sessions in turn', () => {
  const lanes = new SessionLanes<Item>((item) => item.session);
  const next = numbers(23);
  const sessions = ['storm', 'a', 'b', 'c', 'deployment'];
  const pushed = new Map(sessions.map((s) => [s, 0]));
  const taken = new Map(sessions.map((s) => [s, [] as number[]]));
  const readyIn = (session: string) => (pushed.get(session) ?? 0) - (taken.get(session)?.length ?? 0);
  // For a session that had nothing ready when its item came: the sessions served since.
  const waitedFor = new Map<string, Set<string>>();
  const problems: string[] = [];
  let outstanding = 0;

  for (let step = 0; step < 20_000; step += 1) {
    if (next() < 0.55) {
      // The storm has most of the items, and piles up: more are pushed than shifted.
      const session = next() < 0.7 ? 'storm' : sessions[1 + Math.floor(next() * 4)];
      const index = pushed.get(session) ?? 0;
      if (readyIn(session) === 0) waitedFor.set(session, new Set());
      lanes.push({ session, index });
      pushed.set(session, index + 1);
      outstanding += 1;
    } else {
      const item = lanes.shift();
      if (!item) {
        if (outstanding > 0) problems.push(`step ${step}: nothing handed out of ${outstanding}`);
        continue;
      }
      outstanding -= 1;
      taken.get(item.session)?.push(item.index);
      waitedFor.delete(item.session);
      for (const [session, served] of waitedFor) {
        if (served.has(item.session))
          problems.push(`step ${step}: ${session} waited twice for ${item.session}`);
        served.add(item.session);
      }
    }
    if (lanes.size !== outstanding) problems.push(`step ${step}: size ${lanes.size}, ${outstanding} held`);
  }
  for (let item = lanes.shift(); item; item = lanes.shift()) taken.get(item.session)?.push(item.index);

  expect(problems).toEqual([]);
  expect(pushed.get('storm')).toBeGreaterThan(5_000);
  for (const session of sessions)
    expect(taken.get(session)).toEqual(Array.from({ length: pushed.get(session) ?? 0 }, (_, i) => i));
  expect(lanes.size).toBe(0);
});
