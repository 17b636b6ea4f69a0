/**
 * The statuses of every action tracking follows, read for all of them at once: one paged
 * `GET /api/machineactions` per poll cycle (the isolate and release actions created since the oldest
 * one followed, docs/mde-api.md §7.3) instead of one GET per action and poll. A poll takes its action's
 * status from the latest list when that list was read after the action was created and is at most
 * one cycle old (`trackListMaxAgeMs`). An action created after the latest list began, while that list
 * is still fresh, is answered `later`: its poll comes again when the list goes stale and the next is
 * read, so the lists stay one per cycle however often new actions come (in a storm every first poll
 * would otherwise read a list of its own). With no fresh list, a poll waits for the one under way or
 * reads one. An action the list leaves out (MDE's list lags behind a new action; a page can shift
 * while the list is paged) is answered `unlisted`: the tracker reads it by id.
 *
 * Which actions are this app's is known from the ledger, not from MDE: `requestor` is the app's
 * client id only by observation, and an adopted action was requested by someone else. So the list is
 * filtered on type and creation time, both documented as filterable, and matched on the action id.
 */
import type { Clock } from '../../kernel/clock';
import type { MdeApi } from '../../mde/api';
import type { MachineAction } from '../../mde/types';
import { withReservation } from '../quota/current-reservation';
import { BudgetShortError, Reservation } from '../quota/reservation';
import type { MdeThrottle } from '../quota/throttle';
import { PRIORITY } from '../request';
import type { DispatchTiming } from '../timing';

export type ListedStatus =
  | { kind: 'listed'; action: MachineAction }
  | { kind: 'unlisted' }
  /** Not read this cycle: ask again at `at` (epoch ms), when the next list is due. */
  | { kind: 'later'; at: number };

/**
 * How much earlier than this app's record of an action MDE may have stamped its creation: the POST's
 * time on the way and clock skew. A list from that much earlier costs only a few rows more.
 */
const CREATION_MARGIN_MS = 5 * 60_000;
/** The list reads' place in the throttle's waiting line: one, whoever asks. */
const LIST_CLAIMANT = 'tracking-status-list';

interface StatusList {
  /** When the read began: it shows every action created before. */
  startedAt: number;
  /** It shows the actions created since. */
  since: number;
  byId: Promise<Map<string, MachineAction>>;
}

interface Followed {
  createdAt: number;
  askedAt: number;
}

export interface ActionStatusesDeps {
  api: MdeApi;
  throttle: MdeThrottle;
  timing: DispatchTiming;
  clock: Clock;
}

export class ActionStatuses {
  private readonly followed = new Map<string, Followed>();
  private latest: StatusList | null = null;
  private reading: StatusList | null = null;

  constructor(private readonly deps: ActionStatusesDeps) {}

  /**
   * The status of `actionId` (created at `createdAt`, epoch ms) from a list of all followed actions.
   * Throws what the list read threw: BudgetShortError when the machineactions budget has no slot for
   * tracking, the MDE client's errors otherwise.
   */
  async status(actionId: string, createdAt: number): Promise<ListedStatus> {
    const { clock, timing } = this.deps;
    this.prune(clock.now());
    this.followed.set(actionId, { createdAt, askedAt: clock.now() });
    for (;;) {
      const fresh = this.latest && clock.now() - this.latest.startedAt <= timing.trackListMaxAgeMs;
      if (fresh && this.latest && covers(this.latest, createdAt)) return lookUp(this.latest, actionId);
      if (fresh && this.latest && !this.reading)
        return { kind: 'later', at: this.latest.startedAt + timing.trackListMaxAgeMs + 1 };
      if (this.reading) {
        const list = this.reading;
        if (covers(list, createdAt)) return lookUp(list, actionId);
        // A list begun before this action existed cannot show it: the next one will.
        await list.byId.catch(() => undefined);
        continue;
      }
      return lookUp(this.read(), actionId);
    }
  }

  /** Tracking of `actionId` ended: later lists need not reach back to it. */
  forget(actionId: string): void {
    this.followed.delete(actionId);
  }

  private read(): StatusList {
    const { api, throttle, clock } = this.deps;
    const startedAt = clock.now();
    const oldest = Math.min(...[...this.followed.values()].map((f) => f.createdAt));
    const since = oldest - CREATION_MARGIN_MS;
    const byId = (async () => {
      const reservation = throttle.reserve({ machineactions: 1 }, PRIORITY.tracking, LIST_CLAIMANT);
      if (!(reservation instanceof Reservation))
        throw new BudgetShortError('machineactions', reservation.retryAt);
      try {
        // Further pages take a free slot each, or the read fails with BudgetShortError.
        const actions = await withReservation(reservation, () =>
          api.listMachineActions({ type: ['Isolate', 'Unisolate'], createdSince: new Date(since) }),
        );
        return new Map(actions.map((action) => [action.id, action]));
      } finally {
        reservation.close();
      }
    })();
    const list: StatusList = { startedAt, since, byId };
    this.reading = list;
    const done = () => {
      if (this.reading === list) this.reading = null;
    };
    byId.then(() => {
      this.latest = list;
      done();
    }, done);
    return list;
  }

  /**
   * Forgets actions nobody asked about for longer than the longest poll interval twice over (their
   * tracking ended elsewhere: dead-lettered, or another process took it), so lists stop reaching back.
   */
  private prune(now: number): void {
    const stale = 2 * this.deps.timing.trackMaxPendingMs;
    for (const [id, followed] of this.followed) if (now - followed.askedAt > stale) this.followed.delete(id);
  }
}

function covers(list: StatusList, createdAt: number): boolean {
  return list.since <= createdAt && createdAt < list.startedAt;
}

async function lookUp(list: StatusList, actionId: string): Promise<ListedStatus> {
  const action = (await list.byId).get(actionId);
  return action ? { kind: 'listed', action } : { kind: 'unlisted' };
}
