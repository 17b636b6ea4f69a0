import { ClaimKeeper, holdsOwnQueue, LeaseLapsedError } from '../../shared/dispatch/claim-keeper';
import { InMemoryStateStore } from '../../shared/state/memory';
import { StoreUnavailableError } from '../../shared/state/store';
import { recordingReporter } from '../support/reporter';

const LEASE = 60_000;

function keeperAt(start = Date.UTC(2026, 11, 7, 15, 0, 0)) {
  let now = start;
  const clock = { now: () => now };
  const store = new InMemoryStateStore({ clock });
  const recorded = recordingReporter();
  const keeper = new ClaimKeeper(store, clock, recorded.reporter, 'inline', LEASE);
  return { keeper, store, notes: recorded.notes, at: () => now, advance: (ms: number) => (now += ms) };
}

describe("a process's holder lease", () => {
  it('is renewed before use once half of it ran, so a claim taken with it holds at least half a lease', async () => {
    const { keeper, store, at, advance } = keeperAt();
    const first = await keeper.holding();
    expect(first).toEqual({ holder: keeper.id, heldUntil: at() + LEASE });
    advance(LEASE / 2 - 1);
    expect((await keeper.holding()).heldUntil).toBe(first.heldUntil);
    advance(1);
    expect((await keeper.holding()).heldUntil).toBe(at() + LEASE);
    expect(await store.holders.liveUntil(keeper.id)).toBe(at() + LEASE);
    expect(holdsOwnQueue(keeper.id)).toBe(true);
  });

  it('refuses a claim taken before the lease ran out, however briefly, even once it is renewed', async () => {
    const { keeper, advance } = keeperAt();
    await keeper.holding();
    const { term } = keeper;
    advance(LEASE / 2);
    await expect(keeper.holdingSince(term)).resolves.toMatchObject({ holder: keeper.id });
    advance(LEASE);
    await expect(keeper.holdingSince(term)).rejects.toThrow(LeaseLapsedError);
    await expect(keeper.holdingSince(keeper.term)).resolves.toMatchObject({ holder: keeper.id });
  });

  it('ends when the process stops: its claims hold nothing at once', async () => {
    const { keeper, store } = keeperAt();
    await keeper.start();
    await keeper.stop();
    expect(await store.holders.liveUntil(keeper.id)).toBe(0);
  });
});

describe('closes the store refused', () => {
  it('are owed and tried again before the process claims anything again, until they land', async () => {
    const { keeper, notes } = keeperAt();
    let refusals = 2;
    let closed = 0;
    const close = async () => {
      if (refusals > 0) {
        refusals -= 1;
        throw new StoreUnavailableError('state store did not answer in time (replace on open)');
      }
      closed += 1;
      return 'closed';
    };
    expect(await keeper.close('open:req-1', close)).toBeNull();
    expect(keeper.owed).toBe(1);
    expect(notes).toContainEqual(expect.objectContaining({ event: 'claim-not-closed', claim: 'open:req-1' }));
    await keeper.holding();
    expect(keeper.owed).toBe(1);
    await keeper.holding();
    expect([keeper.owed, closed]).toEqual([0, 1]);
  });

  it('let any other error through: a bug is not retried', async () => {
    const { keeper } = keeperAt();
    await expect(
      keeper.close('open:req-1', async () => {
        throw new Error('entity of 1000000 bytes is over the limit');
      }),
    ).rejects.toThrow(/over the limit/);
    expect(keeper.owed).toBe(0);
  });
});
